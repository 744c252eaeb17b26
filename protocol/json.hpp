// A small, strict JSON reader and a direct-to-buffer writer for the wire codec.
//
// Strict where the protocol needs it and RFC 8259 allows a choice: a leading byte-order mark,
// duplicate keys in an object, a raw or escaped NUL, lone surrogates and nesting deeper than a
// limit are all refused. Numbers are kept exactly when they are integers (sign + 64-bit
// magnitude); any other number is recognized but carries no value, so a field that wants an
// integer refuses 1.5 and 1e2 instead of truncating them. The writer appends to a string with
// the same escaping as nlohmann::json's dump(), so the wire bytes did not change when it came.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailer::json {

/// The kind of a parsed value; `number` is a non-integer (fraction or exponent) number.
enum class Type : uint8_t { null, boolean, integer, number, string, array, object };

/// The first eight bytes of a key, zero past its end: keys of one size and head differ only
/// after their eighth byte, so most lookups compare one word instead of the bytes.
constexpr uint64_t key_head(std::string_view key) {
  uint64_t head = 0;
  for (std::size_t i = 0; i < key.size() && i < 8; ++i) head |= uint64_t{static_cast<unsigned char>(key[i])} << (8 * i);
  return head;
}

/// One parsed value. Containers list their children through first_child / next_sibling.
struct Value {
  Type type = Type::null;
  bool boolean = false;
  bool negative = false;      ///< integer: the sign
  bool overflow = false;      ///< integer: the magnitude does not fit 64 bits
  uint32_t first_child = 0;   ///< container: index of the first child, 0 when empty
  uint64_t magnitude = 0;     ///< integer: absolute value
  std::string_view text;      ///< string: the unescaped text (valid UTF-8, never holds NUL)
  std::string_view key;       ///< member of an object: its key (unescaped)
  uint64_t head = 0;          ///< member of an object: key_head(key)
  uint32_t next_sibling = 0;  ///< index of the next child of the same parent, 0 at the end
  uint32_t size = 0;          ///< container: number of children
};

/// Limits of one parse: depth, members per object (duplicate checks are quadratic) and values.
struct Limits {
  uint32_t max_depth = 16;
  uint32_t max_members = 64;
  uint32_t max_values = 1u << 20;
};

/// A parsed document: values in pre-order, the root at index 0. Strings point into the
/// document's own buffer or into the parsed text, so the text must outlive the document.
class Document {
 public:
  /// The root value; only valid after a successful parse.
  const Value& root() const { return values_[0]; }
  /// The value at `index`.
  const Value& at(uint32_t index) const { return values_[index]; }
  /// The member `key` of object `object`, or null when absent.
  const Value* find(const Value& object, std::string_view key) const;
  /// The member `key` of `object`, searched from member `cursor` (0: the first) round to it;
  /// a hit moves `cursor` past it, so members read in the order they were sent cost one look each.
  const Value* find(const Value& object, std::string_view key, uint32_t& cursor) const;
  /// The same, with the key's head computed beforehand (at compile time for the protocol's names).
  const Value* find(const Value& object, std::string_view key, uint64_t head, uint32_t& cursor) const;
  /// The children of a container, in order.
  std::vector<const Value*> children(const Value& container) const;

 private:
  friend class Parser;
  std::vector<Value> values_;
  std::string unescaped_;  // reserved to the text's size before parsing: views into it stay valid
};

/// Why a text is not acceptable JSON, for the human-readable part of an error.
struct ParseError {
  std::string what;
};

/// Parses `text` (already checked to be valid UTF-8) into `doc`; nothing on success.
std::optional<ParseError> parse(std::string_view text, Document& doc, const Limits& limits = {});

/// Appends JSON to a string: objects, arrays and scalars, with nlohmann-compatible escaping.
/// The caller opens and closes containers in order; commas are placed automatically.
class Writer {
 public:
  /// A writer appending to `out`.
  explicit Writer(std::string& out) : out_(out) {}

  /// Starts an object (as a value, or as the member `key` when inside an object).
  void begin_object();
  /// Starts an object whose first members are already written in `opening` (`{"type":"ok"`,
  /// built when the program is compiled): one append for the brace and every constant member.
  void begin_object_with(std::string_view opening);
  /// Ends the innermost object.
  void end_object();
  /// Starts an array.
  void begin_array();
  /// Ends the innermost array.
  void end_array();
  /// Writes the key of the next member of the current object.
  void key(std::string_view k);
  /// Writes a key given as `,"name":`, already quoted and free of escapes (the caller's
  /// promise); the comma is dropped for a container's first member.
  void quoted_key(std::string_view comma_quoted);
  /// Writes a string value.
  void string(std::string_view v);
  /// Writes a member: the key as for quoted_key, then the string value `v` (one append when
  /// key and value are at most 32 bytes each and `v` needs no escape: an event's fields are
  /// mostly short names).
  void string_member(std::string_view comma_quoted, std::string_view v);
  /// Writes a member like string_member, for a value the caller knows needs no escape (names
  /// from a table checked with needs_no_escape when the program is compiled): no scan of `v`.
  void plain_member(std::string_view comma_quoted, std::string_view v);
  /// Writes a member: the key as for quoted_key, then the unsigned integer `v`.
  void uinteger_member(std::string_view comma_quoted, uint64_t v);
  /// Writes an unsigned integer value.
  void uinteger(uint64_t v);
  /// Writes a signed integer value.
  void integer(int64_t v);
  /// Writes true or false.
  void boolean(bool v);
  /// Writes null.
  void null();

 private:
  char separator();
  void append_member(std::string_view comma_quoted, std::string_view v);
  void separate();
  void open(char bracket);
  void close(char bracket);
  /// Deepest nesting a writer produces (hailer's messages use 3).
  static constexpr int max_depth = 32;
  std::string& out_;
  uint32_t first_ = 0;  // bit d: nothing written yet in the container at depth d (no allocation)
  int depth_ = 0;
  bool after_key_ = false;
};

/// Key equality: length first, then the bytes in line (keys are short: a call to memcmp cost
/// more than the comparison).
inline bool same_key(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

/// True when `text` can be written between quotes as it is (no quote, backslash or control byte).
constexpr bool needs_no_escape(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') return false;
  }
  return true;
}

/// Appends `text` as a JSON string literal (quotes included) with nlohmann's escaping.
void append_quoted(std::string& out, std::string_view text);

}  // namespace hailer::json
