// The wire codec's machinery, apart from the message table (protocol/wire.hpp) and the dispatch
// (codec.cpp): enum names, field keys, the strict Reader, the Writer and the schema collector.
// Internal to codec.cpp, which includes it once; nothing else may.
#pragma once

#include <array>
#include <limits>
#include <tuple>
#include <utility>

#include "base/assert.hpp"
#include "protocol/codec.hpp"
#include "protocol/json.hpp"
#include "protocol/utf8.hpp"

namespace hailer::codec_detail {

// ====================================================================== enum names

template <typename E>
struct EnumNames;
template <>
struct EnumNames<PresenceState> {
  static constexpr std::array<std::string_view, 3> names{"available", "ringing", "in_call"};
};
template <>
struct EnumNames<Role> {
  static constexpr std::array<std::string_view, 2> names{"student", "instructor"};
};
template <>
struct EnumNames<AudioCodec> {
  static constexpr std::array<std::string_view, 2> names{"opus", "pcm16"};
};
template <>
struct EnumNames<FloorPolicy> {
  static constexpr std::array<std::string_view, 2> names{"deny", "queue"};
};
template <>
struct EnumNames<CallRole> {
  static constexpr std::array<std::string_view, 2> names{"caller", "callee"};
};
template <>
struct EnumNames<EndReason> {
  static constexpr std::array<std::string_view, 5> names{"hangup", "rejected", "no_answer", "cancelled",
                                                         "peer_disconnected"};
};
template <>
struct EnumNames<WaitStatus> {
  static constexpr std::array<std::string_view, 2> names{"queued", "suspended"};
};
template <>
struct EnumNames<WaitEndReason> {
  static constexpr std::array<std::string_view, 5> names{"completed", "cancelled", "expired", "window_expired",
                                                         "callee_offline"};
};
template <>
struct EnumNames<DenyReason> {
  static constexpr std::array<std::string_view, 3> names{"floor_taken", "queue_full", "receive_only"};
};
template <>
struct EnumNames<RevokeReason> {
  static constexpr std::array<std::string_view, 3> names{"max_talk_time", "silence", "instructor"};
};
template <>
struct EnumNames<DequeueReason> {
  static constexpr std::array<std::string_view, 3> names{"released", "policy_changed", "skipped"};
};
template <>
struct EnumNames<RelayDropReason> {
  static constexpr std::array<std::string_view, 2> names{"oversized", "too_fast"};
};
template <>
struct EnumNames<RecordingStopReason> {
  static constexpr std::array<std::string_view, 5> names{"disk_full", "quota", "student_budget", "address_budget",
                                                         "error"};
};

// Every name in `names` is written between quotes as it is (Writer::plain_member skips the scan).
template <std::size_t N>
consteval bool all_plain(const std::array<std::string_view, N>& names) {
  for (const auto name : names) {
    if (!json::needs_no_escape(name) || name.size() > 32) return false;
  }
  return true;
}

template <typename E>
std::string_view enum_name(E value) {
  static_assert(all_plain(EnumNames<E>::names), "an enum's wire name must need no JSON escape");
  const auto index = static_cast<std::size_t>(value);
  HAILER_ASSERT(index < EnumNames<E>::names.size());
  return EnumNames<E>::names[index];
}

template <typename E>
std::optional<E> enum_parse(std::string_view text) {
  for (std::size_t i = 0; i < EnumNames<E>::names.size(); ++i) {
    if (EnumNames<E>::names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

std::optional<ErrorCode> error_code_parse(std::string_view text) {
  for (int c = 0; c < error_code_count; ++c) {
    if (to_string(static_cast<ErrorCode>(c)) == text) return static_cast<ErrorCode>(c);
  }
  return std::nullopt;
}

// ====================================================================== field names

// A field name of the wire protocol, checked when the program is compiled to need no JSON escape
// and kept with its quoted form: writing a key is one append, reading one knows its length.
class FieldKey {
 public:
  consteval FieldKey(const char* name) {  // NOLINT(google-explicit-constructor): written as literals
    std::size_t n = 0;
    while (name[n] != 0) ++n;
    if (n == 0 || n + 4 > sizeof quoted_) throw "a field name is empty or too long";
    quoted_[0] = ',';
    quoted_[1] = '"';
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(name[i]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) throw "a field name must be plain ASCII";
      quoted_[2 + i] = name[i];
    }
    quoted_[2 + n] = '"';
    quoted_[3 + n] = ':';
    size_ = static_cast<uint8_t>(n);
    head_ = json::key_head(std::string_view(quoted_ + 2, n));
  }

  /// The name itself.
  constexpr std::string_view name() const { return {quoted_ + 2, size_}; }
  /// json::key_head(name()), for lookups.
  constexpr uint64_t head() const { return head_; }
  /// `,"name":`, ready for json::Writer::quoted_key.
  constexpr std::string_view comma_quoted() const { return {quoted_, size_ + 4u}; }
  /// Reads as its name where a text is wanted (errors, lookups).
  constexpr operator std::string_view() const { return name(); }  // NOLINT(google-explicit-constructor)

 private:
  char quoted_[32]{};
  uint64_t head_ = 0;
  uint8_t size_ = 0;
};

/// Every message's first member.
constexpr FieldKey type_key{"type"};

// ====================================================================== field reading

// Reads the fields of one JSON object into a message and keeps the first error. A JSON null
// counts as absent. Every number is checked for being an integer in the field's range.
class Reader {
 public:
  Reader(const json::Document& doc, const json::Value& object, DecodeError& error, std::size_t max_string_bytes)
      : doc_(doc), object_(object), error_(error), max_string_bytes_(max_string_bytes) {}

  bool failed() const { return failed_; }

  void text(const FieldKey& key, std::string& out) {
    if (const json::Value* v = find(key, true)) read_text(key, *v, out);
  }

  /// A required text viewed in place (valid while the document is): for names looked up, not kept.
  void text_view(const FieldKey& key, std::string_view& out) {
    if (const json::Value* v = find(key, true)) {
      if (auto t = read_view(key, *v)) out = *t;
    }
  }

  // Optional text: absent or null reads as empty (the writer decides between omit and null).
  template <typename Absent>
  void text_opt(const FieldKey& key, std::string& out, Absent) {
    out.clear();
    if (const json::Value* v = find(key, false)) read_text(key, *v, out);
  }

  template <typename T>
  void number(const FieldKey& key, T& out, int64_t lo, uint64_t hi) {
    if (const json::Value* v = find(key, true)) read_number(key, *v, out, lo, hi);
  }

  template <typename T>
  void number_or(const FieldKey& key, T& out, int64_t lo, uint64_t hi, T fallback, bool /*omit*/) {
    out = fallback;
    if (const json::Value* v = find(key, false)) read_number(key, *v, out, lo, hi);
  }

  template <typename T>
  void number_opt(const FieldKey& key, std::optional<T>& out, int64_t lo, uint64_t hi) {
    out.reset();
    if (const json::Value* v = find(key, false)) {
      T n{};
      if (read_number(key, *v, n, lo, hi)) out = n;
    }
  }

  void flag(const FieldKey& key, bool& out) {
    if (const json::Value* v = find(key, true)) read_flag(key, *v, out);
  }

  void flag_opt(const FieldKey& key, std::optional<bool>& out) {
    out.reset();
    bool b = false;
    if (const json::Value* v = find(key, false); v != nullptr && read_flag(key, *v, b)) out = b;
  }

  template <typename E>
  void choice(const FieldKey& key, E& out) {
    if (const json::Value* v = find(key, true)) read_choice(key, *v, out);
  }

  template <typename E>
  void choice_or(const FieldKey& key, E& out, E fallback) {
    out = fallback;
    if (const json::Value* v = find(key, false)) read_choice(key, *v, out);
  }

  template <typename T>
  void object(const FieldKey& key, T& out);

  template <typename T>
  void list(const FieldKey& key, std::vector<T>& out);

  /// Fails the read for a reason outside the field rules (the first failure wins).
  void fail_with(ErrorCode code, std::string detail) { fail(code, std::move(detail)); }

  void error_code(const FieldKey& key, ErrorCode& out) {
    std::string name;
    text(key, name);
    if (failed_) return;
    if (auto c = error_code_parse(name))
      out = *c;
    else
      fail_field(key, "has an unknown value");
  }

 private:
  const json::Value* find(const FieldKey& key, bool required) {
    if (failed_) return nullptr;
    const json::Value* v = doc_.find(object_, key.name(), key.head(), cursor_);
    if (v == nullptr || v->type == json::Type::null) {
      if (required) fail(ErrorCode::missing_field, "field '" + std::string(key) + "' is required");
      return nullptr;
    }
    return v;
  }

  std::optional<std::string_view> read_view(const FieldKey& key, const json::Value& v) {
    if (v.type != json::Type::string) return fail_field(key, "must be a string"), std::nullopt;
    if (v.text.size() > max_string_bytes_) return fail_field(key, "is too long"), std::nullopt;
    return v.text;
  }

  bool read_text(const FieldKey& key, const json::Value& v, std::string& out) {
    const auto t = read_view(key, v);
    if (t) out.assign(*t);
    return t.has_value();
  }

  template <typename T>
  bool read_number(const FieldKey& key, const json::Value& v, T& out, int64_t lo, uint64_t hi) {
    static_assert(std::is_integral_v<T>);
    HAILER_ASSERT(static_cast<uint64_t>(std::numeric_limits<T>::max()) >= hi);
    if (v.type != json::Type::integer) return fail_field(key, "must be an integer");
    if (v.overflow) return fail_field(key, "is out of range");
    if (v.negative) {
      // -magnitude >= lo, with lo <= 0 when negatives are allowed at all
      if (lo >= 0 || v.magnitude > static_cast<uint64_t>(-(lo + 1)) + 1) return fail_field(key, "is out of range");
      out = static_cast<T>(-static_cast<int64_t>(v.magnitude - 1) - 1);
      return true;
    }
    if (v.magnitude > hi || (lo > 0 && v.magnitude < static_cast<uint64_t>(lo)))
      return fail_field(key, "is out of range");
    out = static_cast<T>(v.magnitude);
    return true;
  }

  bool read_flag(const FieldKey& key, const json::Value& v, bool& out) {
    if (v.type != json::Type::boolean) return fail_field(key, "must be true or false");
    out = v.boolean;
    return true;
  }

  template <typename E>
  bool read_choice(const FieldKey& key, const json::Value& v, E& out) {
    const auto name = read_view(key, v);
    if (!name) return false;
    const auto e = enum_parse<E>(*name);
    if (!e) return fail_field(key, "has an unknown value");
    out = *e;
    return true;
  }

  bool fail_field(const FieldKey& key, const char* what) {
    return fail(ErrorCode::bad_field, "field '" + std::string(key) + "' " + what);
  }

  bool fail(ErrorCode code, std::string detail) {
    if (failed_) return false;
    failed_ = true;
    error_.code = code;
    error_.detail = std::move(detail);
    return false;
  }

  const json::Document& doc_;
  const json::Value& object_;
  DecodeError& error_;
  std::size_t max_string_bytes_;
  uint32_t cursor_ = 0;  // where the next field is looked for first: the member after the last found
  bool failed_ = false;
};

// ====================================================================== field writing

/// How an empty optional text is written: left out, or as null.
struct OmitEmpty {};
struct NullEmpty {};

class Writer {
 public:
  explicit Writer(json::Writer& w) : w_(w) {}

  void text(const FieldKey& key, const std::string& v) { w_.string_member(key.comma_quoted(), std::string_view(v)); }
  void text_opt(const FieldKey& key, const std::string& v, OmitEmpty) {
    if (!v.empty()) text(key, v);
  }
  void text_opt(const FieldKey& key, const std::string& v, NullEmpty) {
    if (!v.empty()) return text(key, v);
    w_.quoted_key(key.comma_quoted());
    w_.null();
  }
  template <typename T>
  void number(const FieldKey& key, const T& v, int64_t lo, uint64_t hi) {
    check_range(v, lo, hi);
    if constexpr (std::is_signed_v<T>) {
      w_.quoted_key(key.comma_quoted());
      w_.integer(v);
    } else {
      w_.uinteger_member(key.comma_quoted(), static_cast<uint64_t>(v));
    }
  }
  template <typename T>
  void number_or(const FieldKey& key, const T& v, int64_t lo, uint64_t hi, T fallback, bool omit) {
    if (omit && v == fallback) return;
    number(key, v, lo, hi);
  }
  template <typename T>
  void number_opt(const FieldKey& key, const std::optional<T>& v, int64_t lo, uint64_t hi) {
    if (v) number(key, *v, lo, hi);
  }
  void flag(const FieldKey& key, bool v) {
    w_.quoted_key(key.comma_quoted());
    w_.boolean(v);
  }
  void flag_opt(const FieldKey& key, const std::optional<bool>& v) {
    if (v) flag(key, *v);
  }
  template <typename E>
  void choice(const FieldKey& key, E v) {
    w_.plain_member(key.comma_quoted(), std::string_view(enum_name(v)));
  }
  template <typename E>
  void choice_or(const FieldKey& key, E v, E /*fallback*/) {
    choice(key, v);
  }
  template <typename T>
  void object(const FieldKey& key, const T& v);
  template <typename T>
  void list(const FieldKey& key, const std::vector<T>& v);
  void error_code(const FieldKey& key, ErrorCode c) {
    w_.string_member(key.comma_quoted(), std::string_view(to_string(c)));
  }

  json::Writer& raw() { return w_; }

 private:
  // The server never sends what its own decoder would refuse: a range slip is a bug.
  template <typename T>
  static void check_range(const T& v, int64_t lo, uint64_t hi) {
    if constexpr (std::is_signed_v<T>) {
      HAILER_ASSERT(static_cast<int64_t>(v) >= lo && (v < 0 || static_cast<uint64_t>(v) <= hi));
    } else {
      HAILER_ASSERT(static_cast<uint64_t>(v) <= hi &&
                    (lo <= 0 || static_cast<uint64_t>(v) >= static_cast<uint64_t>(lo)));
    }
  }
  json::Writer& w_;
};

// ====================================================================== field schema

// A third IO for the table: records each field's name and shape instead of reading or writing.
class SchemaCollector {
 public:
  std::vector<FieldSchema> fields;

  template <typename T>
  void text(const FieldKey& key, const T&) {
    add(key, FieldSchema::Kind::string);
  }
  template <typename T>
  void text_opt(const FieldKey& key, const T&, NullEmpty) {
    add(key, FieldSchema::Kind::nullable_string);
  }
  template <typename T>
  void text_opt(const FieldKey& key, const T&, OmitEmpty) {
    add(key, FieldSchema::Kind::string);
  }
  template <typename T>
  void number(const FieldKey& key, const T&, int64_t, uint64_t) {
    add(key, FieldSchema::Kind::integer);
  }
  template <typename T, typename F>
  void number_or(const FieldKey& key, const T&, int64_t, uint64_t, F, bool) {
    add(key, FieldSchema::Kind::integer);
  }
  template <typename T>
  void number_opt(const FieldKey& key, const T&, int64_t, uint64_t) {
    add(key, FieldSchema::Kind::integer);
  }
  template <typename T>
  void flag(const FieldKey& key, const T&) {
    add(key, FieldSchema::Kind::boolean);
  }
  template <typename T>
  void flag_opt(const FieldKey& key, const T&) {
    add(key, FieldSchema::Kind::boolean);
  }
  template <typename E>
  void choice(const FieldKey& key, const E&) {
    add(key, FieldSchema::Kind::string);
    for (auto n : EnumNames<E>::names) fields.back().values.emplace_back(n);
  }
  template <typename E>
  void choice_or(const FieldKey& key, const E& v, E) {
    choice(key, v);
  }
  template <typename T>
  void object(const FieldKey& key, const T& v);
  template <typename T>
  void list(const FieldKey& key, const T&) {
    add(key, FieldSchema::Kind::array);
  }

  void add(const FieldKey& key, FieldSchema::Kind kind) {
    for (const auto& f : fields) {
      if (f.name == key.name()) return;  // the same name in two reply kinds (e.g. "name")
    }
    fields.push_back(FieldSchema{std::string(key), kind, {}, {}});
  }
};

// ====================================================================== the message table
//

/// The message table (protocol/wire.hpp): each message's name and fields, listed once.
template <typename T>
struct Wire;

// ---------------------------------------------------------------- nested parts, now that Wire exists

template <typename T>
void Reader::object(const FieldKey& key, T& out) {
  const json::Value* v = find(key, true);
  if (v == nullptr) return;
  if (v->type != json::Type::object) return static_cast<void>(fail_field(key, "must be an object"));
  Reader inner(doc_, *v, error_, max_string_bytes_);
  Wire<T>::fields(inner, out);
  failed_ = inner.failed();
}

template <typename T>
void Reader::list(const FieldKey& key, std::vector<T>& out) {
  out.clear();
  const json::Value* v = find(key, true);
  if (v == nullptr) return;
  if (v->type != json::Type::array) return static_cast<void>(fail_field(key, "must be an array"));
  out.reserve(v->size);
  for (uint32_t k = v->first_child; k != 0; k = doc_.at(k).next_sibling) {
    const json::Value& item = doc_.at(k);
    if (item.type != json::Type::object) return static_cast<void>(fail_field(key, "must hold objects"));
    Reader inner(doc_, item, error_, max_string_bytes_);
    Wire<T>::fields(inner, out.emplace_back());
    if ((failed_ = inner.failed())) return;
  }
}

template <typename T>
void Writer::object(const FieldKey& key, const T& v) {
  w_.quoted_key(key.comma_quoted());
  w_.begin_object();
  Wire<T>::fields(*this, v);
  w_.end_object();
}

template <typename T>
void SchemaCollector::object(const FieldKey& key, const T& v) {
  add(key, FieldSchema::Kind::object);
  SchemaCollector inner;
  Wire<T>::fields(inner, v);
  fields.back().fields = std::move(inner.fields);
}

template <typename T>
void Writer::list(const FieldKey& key, const std::vector<T>& v) {
  w_.quoted_key(key.comma_quoted());
  w_.begin_array();
  for (const T& item : v) {
    w_.begin_object();
    Wire<T>::fields(*this, item);
    w_.end_object();
  }
  w_.end_array();
}

}  // namespace hailer::codec_detail
