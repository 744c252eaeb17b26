#include "protocol/json.hpp"

#include "base/assert.hpp"

#include <array>
#include <bit>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hailer::json {

namespace {

// The bytes a JSON string cannot hold raw: the quote, the backslash and the control characters.
// The parser's scan stops at them; the writer escapes them.
constexpr std::array<bool, 256> special_bytes = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
  t['"'] = true;
  t['\\'] = true;
  return t;
}();

// The index of the first special byte of `text`, or its size: one table lookup per byte. (Eight
// bytes a step with word arithmetic was measured slower for the short names events carry.)
std::size_t first_special(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && !special_bytes[static_cast<unsigned char>(text[i])]) ++i;
  return i;
}

// first_special for the parser, which may look past the string up to the end of the whole
// text: 16 bytes per step (SSE2, part of every x86-64) while 16 remain there, so a short key
// ends at its closing quote in one step; the table loop for the rest and for other machines.
std::size_t first_special_in(std::string_view text, std::size_t from) {
  std::size_t i = from;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i top_control = _mm_set1_epi8(0x1F);
  while (i + 16 <= text.size()) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, top_control), bytes);  // bytes <= 0x1F
    const __m128i special =
        _mm_or_si128(control, _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)));
    if (const int mask = _mm_movemask_epi8(special); mask != 0)
      return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  return i + first_special(text.substr(i));
}

}  // namespace

// ====================================================================== reading

class Parser {
 public:
  Parser(std::string_view text, Document& doc, const Limits& limits) : s_(text), doc_(doc), limits_(limits) {}

  std::optional<ParseError> run() {
    doc_.values_.clear();
    doc_.unescaped_.clear();
    doc_.unescaped_.reserve(s_.size());  // never outgrown: unescaping only shortens
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") return ParseError{"a byte-order mark is not JSON"};
    skip_space();
    uint32_t root = 0;
    if (!value(0, root)) return ParseError{std::move(error_)};
    skip_space();
    if (pos_ != s_.size()) return ParseError{"unexpected " + describe_here() + " after the value"};
    return std::nullopt;
  }

 private:
  bool fail(std::string what) {
    if (error_.empty()) error_ = std::move(what) + " at byte " + std::to_string(pos_);
    return false;
  }

  std::string describe_here() const {
    if (pos_ >= s_.size()) return "end of text";
    const auto c = static_cast<unsigned char>(s_[pos_]);
    if (c < 0x20 || c == 0x7F) return "control character " + std::to_string(c);
    // A byte of a multi-byte character is named by value: quoting it alone would put a broken
    // UTF-8 sequence into the error message the client has to decode (found by fuzzing).
    if (c >= 0x80) {
      static const char hex[] = "0123456789abcdef";
      return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
    }
    return std::string("'") + s_[pos_] + "'";
  }

  void skip_space() {
    // Compact JSON has no space at all: one test for the usual case.
    if (pos_ < s_.size() && static_cast<unsigned char>(s_[pos_]) > ' ') return;
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool new_value(uint32_t& index) {
    if (doc_.values_.size() >= limits_.max_values) return fail("too many values");
    index = static_cast<uint32_t>(doc_.values_.size());
    doc_.values_.emplace_back();
    return true;
  }

  bool value(uint32_t depth, uint32_t& index) {
    if (pos_ >= s_.size()) return fail("unexpected end of text");
    switch (s_[pos_]) {
      case '{':
        return object(depth, index);
      case '[':
        return array(depth, index);
      case '"': {
        std::string_view text;
        if (!string(text) || !new_value(index)) return false;
        doc_.values_[index].type = Type::string;
        doc_.values_[index].text = text;
        return true;
      }
      case 't':
        return literal("true", Type::boolean, true, index);
      case 'f':
        return literal("false", Type::boolean, false, index);
      case 'n':
        return literal("null", Type::null, false, index);
      default:
        return number(index);
    }
  }

  bool literal(std::string_view word, Type type, bool boolean, uint32_t& index) {
    if (s_.substr(pos_, word.size()) != word) return fail("unexpected " + describe_here());
    pos_ += word.size();
    if (!new_value(index)) return false;
    doc_.values_[index].type = type;
    doc_.values_[index].boolean = boolean;
    return true;
  }

  bool digits() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool number(uint32_t& index) {
    const bool negative = pos_ < s_.size() && s_[pos_] == '-';
    if (negative) ++pos_;
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return fail("unexpected " + describe_here());
    const std::size_t int_start = pos_;
    if (s_[pos_] == '0')
      ++pos_;
    else
      digits();
    const std::size_t int_end = pos_;
    bool integer = true;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return fail("a fraction needs digits");
      integer = false;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("an exponent needs digits");
      integer = false;
    }
    if (!new_value(index)) return false;
    Value& v = doc_.values_[index];
    if (!integer) {
      v.type = Type::number;
      return true;
    }
    v.type = Type::integer;
    // Up to 19 digits cannot overflow 64 bits: no check (a division) per digit on that path.
    // The sum is kept in locals: through `v`, a reference into the vector, every digit would
    // store and reload it.
    uint64_t magnitude = 0;
    bool overflow = false;
    if (int_end - int_start <= 19) {
      for (std::size_t i = int_start; i < int_end; ++i) magnitude = magnitude * 10 + static_cast<uint64_t>(s_[i] - '0');
    } else {
      for (std::size_t i = int_start; i < int_end && !overflow; ++i) {
        const auto d = static_cast<uint64_t>(s_[i] - '0');
        overflow = magnitude > (UINT64_MAX - d) / 10;
        if (!overflow) magnitude = magnitude * 10 + d;
      }
    }
    v.magnitude = magnitude;
    v.overflow = overflow;
    v.negative = negative && magnitude != 0;  // -0 is 0
    return true;
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool hex4(uint32_t& out) {
    if (pos_ + 4 > s_.size()) return fail("a \\u escape needs four hex digits");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_digit(s_[pos_ + static_cast<std::size_t>(i)]);
      if (d < 0) return fail("a \\u escape needs four hex digits");
      out = out * 16 + static_cast<uint32_t>(d);
    }
    pos_ += 4;
    return true;
  }

  void append_utf8(uint32_t cp) {
    std::string& o = doc_.unescaped_;
    if (cp < 0x80) {
      o.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      o.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      o.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      o.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      o.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      o.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      o.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool unicode_escape() {
    uint32_t cp = 0;
    if (!hex4(cp)) return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("a lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t low = 0;
      if (s_.substr(pos_, 2) != "\\u" || (pos_ += 2, !hex4(low)) || low < 0xDC00 || low > 0xDFFF) {
        return fail("a high surrogate without its low surrogate");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (cp == 0) return fail("U+0000 in a string");
    append_utf8(cp);
    return true;
  }

  bool escape() {
    const char c = s_[pos_++];
    switch (c) {
      case '"':
        doc_.unescaped_.push_back('"');
        return true;
      case '\\':
        doc_.unescaped_.push_back('\\');
        return true;
      case '/':
        doc_.unescaped_.push_back('/');
        return true;
      case 'b':
        doc_.unescaped_.push_back('\b');
        return true;
      case 'f':
        doc_.unescaped_.push_back('\f');
        return true;
      case 'n':
        doc_.unescaped_.push_back('\n');
        return true;
      case 'r':
        doc_.unescaped_.push_back('\r');
        return true;
      case 't':
        doc_.unescaped_.push_back('\t');
        return true;
      case 'u':
        return unicode_escape();
      default:
        --pos_;
        return fail("unknown escape");
    }
  }

  // The position of the first special byte at or after `from`, or the end of the text.
  std::size_t scan_plain(std::size_t from) const { return first_special_in(s_, from); }

  // Reads a string literal at pos_; `out` views the input when it holds no escape.
  // The plain case (no escape, closed) is inline; the rest is string_rest's.
  [[gnu::always_inline]] bool string(std::string_view& out) {
    const std::size_t start = pos_ + 1;  // after the opening quote
    pos_ = scan_plain(start);
    if (pos_ < s_.size() && s_[pos_] == '"') {
      out = std::string_view(s_.data() + start, pos_ - start);
      ++pos_;
      return true;
    }
    return string_rest(start, out);
  }

  // A string literal from `start` whose scan stopped at the end, a control byte or an escape.
  [[gnu::noinline]] bool string_rest(std::size_t start, std::string_view& out) {
    if (pos_ >= s_.size()) return fail("an unterminated string");
    if (static_cast<unsigned char>(s_[pos_]) < 0x20) return fail("a raw " + describe_here() + " in a string");
    const std::size_t from = doc_.unescaped_.size();
    doc_.unescaped_.append(s_.substr(start, pos_ - start));
    while (pos_ < s_.size() && s_[pos_] != '"') {
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c < 0x20) return fail("a raw " + describe_here() + " in a string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) return fail("an unterminated string");
        if (!escape()) return false;
      } else {
        doc_.unescaped_.push_back(s_[pos_++]);
      }
    }
    if (pos_ >= s_.size()) return fail("an unterminated string");
    ++pos_;
    HAILER_ASSERT(doc_.unescaped_.size() <= doc_.unescaped_.capacity());
    out = std::string_view(doc_.unescaped_).substr(from);
    return true;
  }

  // The ':' after a key and the space around it; compact JSON ("key":value) takes one test.
  bool colon() {
    if (pos_ + 1 < s_.size() && s_[pos_] == ':' && static_cast<unsigned char>(s_[pos_ + 1]) > ' ') {
      ++pos_;
      return true;
    }
    skip_space();
    if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':', found " + describe_here());
    ++pos_;
    skip_space();
    return true;
  }

  // key_head(key), with one load when the key lies in the text with 8 bytes after its start.
  uint64_t head_of(std::string_view key) const {
    const char* text = s_.data();
    if (key.data() < text || key.data() + 8 > text + s_.size()) return key_head(key);
    uint64_t word = 0;
    std::memcpy(&word, key.data(), 8);
    if constexpr (std::endian::native != std::endian::little) return key_head(key);
    return key.size() >= 8 ? word : word & ((uint64_t{1} << (8 * key.size())) - 1);
  }

  // The filter bit of a key: equal keys always share it; different keys rarely do.
  static uint64_t key_bit(std::string_view key) {
    if (key.empty()) return 1;
    const auto first = static_cast<unsigned char>(key.front());
    const auto last = static_cast<unsigned char>(key.back());
    return uint64_t{1} << ((key.size() * 7 + std::size_t{first} * 3 + last) & 63);
  }

  bool has_member(uint32_t object, std::string_view key) const {
    for (uint32_t k = doc_.values_[object].first_child; k != 0; k = doc_.values_[k].next_sibling) {
      if (same_key(doc_.values_[k].key, key)) return true;
    }
    return false;
  }

  // Links `child` after `previous` (or as the first child) of container `parent`.
  void link(uint32_t parent, uint32_t& previous, uint32_t child) {
    if (previous == 0)
      doc_.values_[parent].first_child = child;
    else
      doc_.values_[previous].next_sibling = child;
    previous = child;
    ++doc_.values_[parent].size;
  }

  bool object(uint32_t depth, uint32_t& index) {
    if (depth + 1 > limits_.max_depth) return fail("nesting deeper than " + std::to_string(limits_.max_depth));
    if (!new_value(index)) return false;
    doc_.values_[index].type = Type::object;
    ++pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    uint32_t previous = 0;
    uint64_t seen_keys = 0;  // a one-word filter: the member list is searched only when a bit repeats
    while (true) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a key, found " + describe_here());
      std::string_view key;
      if (!string(key)) return false;
      if (doc_.values_[index].size >= limits_.max_members)
        return fail("more than " + std::to_string(limits_.max_members) + " members");
      const uint64_t bit = key_bit(key);
      if ((seen_keys & bit) != 0 && has_member(index, key)) return fail("duplicate key '" + std::string(key) + "'");
      seen_keys |= bit;
      if (!colon()) return false;
      uint32_t child = 0;
      if (!value(depth + 1, child)) return false;
      doc_.values_[child].key = key;
      doc_.values_[child].head = head_of(key);
      link(index, previous, child);
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}', found " + describe_here());
    }
  }

  bool array(uint32_t depth, uint32_t& index) {
    if (depth + 1 > limits_.max_depth) return fail("nesting deeper than " + std::to_string(limits_.max_depth));
    if (!new_value(index)) return false;
    doc_.values_[index].type = Type::array;
    ++pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    uint32_t previous = 0;
    while (true) {
      skip_space();
      uint32_t child = 0;
      if (!value(depth + 1, child)) return false;
      link(index, previous, child);
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']', found " + describe_here());
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  Document& doc_;
  Limits limits_;
  std::string error_;
};

std::optional<ParseError> parse(std::string_view text, Document& doc, const Limits& limits) {
  HAILER_ASSERT(limits.max_depth > 0 && limits.max_values > 0);
  return Parser(text, doc, limits).run();
}

const Value* Document::find(const Value& object, std::string_view key) const {
  HAILER_ASSERT(object.type == Type::object);
  for (uint32_t k = object.first_child; k != 0; k = values_[k].next_sibling) {
    if (same_key(values_[k].key, key)) return &values_[k];
  }
  return nullptr;
}

const Value* Document::find(const Value& object, std::string_view key, uint32_t& cursor) const {
  return find(object, key, key_head(key), cursor);
}

const Value* Document::find(const Value& object, std::string_view key, uint64_t head, uint32_t& cursor) const {
  HAILER_ASSERT(object.type == Type::object);
  // Equal size and head settle keys of up to 8 bytes; longer ones compare the rest.
  const auto same = [&](const Value& v) {
    return v.head == head && v.key.size() == key.size() &&
           (key.size() <= 8 || same_key(v.key.substr(8), key.substr(8)));
  };
  const uint32_t start = cursor != 0 ? cursor : object.first_child;
  for (uint32_t k = start; k != 0; k = values_[k].next_sibling) {
    if (same(values_[k])) return cursor = values_[k].next_sibling, &values_[k];
  }
  for (uint32_t k = object.first_child; k != start; k = values_[k].next_sibling) {
    if (same(values_[k])) return cursor = values_[k].next_sibling, &values_[k];
  }
  return nullptr;
}

std::vector<const Value*> Document::children(const Value& container) const {
  HAILER_ASSERT(container.type == Type::array || container.type == Type::object);
  std::vector<const Value*> out;
  out.reserve(container.size);
  for (uint32_t k = container.first_child; k != 0; k = values_[k].next_sibling) out.push_back(&values_[k]);
  return out;
}

// ====================================================================== writing

namespace {

// Digits of the largest uint64_t.
constexpr std::size_t max_digits = 20;

// "00" to "99": two digits per division halve the work of an id's digits.
constexpr std::array<char, 200> digit_pairs = [] {
  std::array<char, 200> t{};
  for (std::size_t i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// `v` in decimal, written at the end of `digits` (which the view points into).
std::string_view decimal(uint64_t v, char (&digits)[max_digits]) {
  char* const end = digits + max_digits;
  char* p = end;
  while (v >= 100) {
    const auto pair = static_cast<std::size_t>(v % 100) * 2;
    v /= 100;
    *--p = digit_pairs[pair + 1];
    *--p = digit_pairs[pair];
  }
  if (v >= 10) {
    const auto pair = static_cast<std::size_t>(v) * 2;
    *--p = digit_pairs[pair + 1];
    *--p = digit_pairs[pair];
  } else {
    *--p = static_cast<char>('0' + v);
  }
  return {p, static_cast<std::size_t>(end - p)};
}

// Appends `before`, `text` quoted, then `after` (each a byte, or 0 for none) with one append for
// short texts: most of an event's strings are keys and names of a few bytes, where three appends
// and their capacity checks cost more than the copy. `text` needs no escape.
void append_plain_quoted(std::string& out, char before, std::string_view text, char after) {
  char buf[64];
  if (text.size() + 4 > sizeof buf) {
    if (before != 0) out.push_back(before);
    out.push_back('"');
    out.append(text);
    out.push_back('"');
    if (after != 0) out.push_back(after);
    return;
  }
  std::size_t n = 0;
  if (before != 0) buf[n++] = before;
  buf[n++] = '"';
  std::memcpy(buf + n, text.data(), text.size());
  n += text.size();
  buf[n++] = '"';
  if (after != 0) buf[n++] = after;
  out.append(buf, n);
}

// The quoted text with nlohmann's escaping, from its first special byte `first` on.
void append_escaped(std::string& out, std::string_view text, std::size_t first) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = first; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!special_bytes[c]) continue;
    out.append(text.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.append("\\u00");
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
  }
  out.append(text.substr(run));
  out.push_back('"');
}

// `before` (a byte, or 0 for none), `text` quoted with nlohmann's escaping, then `after`.
void append_quoted_between(std::string& out, char before, std::string_view text, char after) {
  const std::size_t first = first_special(text);
  if (first == text.size()) return append_plain_quoted(out, before, text, after);
  if (before != 0) out.push_back(before);
  append_escaped(out, text, first);
  if (after != 0) out.push_back(after);
}

}  // namespace

void append_quoted(std::string& out, std::string_view text) { append_quoted_between(out, 0, text, 0); }

void Writer::separate() {
  if (const char comma = separator(); comma != 0) out_.push_back(comma);
}

void Writer::open(char bracket) {
  HAILER_ASSERT(depth_ < max_depth);
  separate();
  out_.push_back(bracket);
  first_ |= 1u << depth_;
  ++depth_;
}

void Writer::close(char bracket) {
  HAILER_ASSERT(depth_ > 0 && !after_key_);
  --depth_;
  first_ &= ~(1u << depth_);
  out_.push_back(bracket);
}

void Writer::begin_object() { open('{'); }

void Writer::begin_object_with(std::string_view opening) {
  HAILER_ASSERT(depth_ < max_depth);
  HAILER_ASSERT(opening.size() >= 6 && opening.front() == '{' && opening[1] == '"' && opening.back() != ',');
  separate();
  out_.append(opening);
  ++depth_;  // its first-member bit stays clear: the next member needs its comma
}

void Writer::end_object() { close('}'); }

void Writer::begin_array() { open('['); }

void Writer::end_array() { close(']'); }

// The comma a value at this point needs (0 for none), and the bookkeeping of having written one.
char Writer::separator() {
  if (after_key_) {
    after_key_ = false;
    return 0;
  }
  if (depth_ == 0) return 0;
  const uint32_t bit = 1u << (depth_ - 1);
  const bool first = (first_ & bit) != 0;
  first_ &= ~bit;
  return first ? 0 : ',';
}

void Writer::key(std::string_view k) {
  HAILER_ASSERT(depth_ > 0 && !after_key_);
  append_quoted_between(out_, separator(), k, ':');
  after_key_ = true;
}

void Writer::quoted_key(std::string_view comma_quoted) {
  HAILER_ASSERT(depth_ > 0 && !after_key_);
  HAILER_ASSERT(comma_quoted.size() >= 4 && comma_quoted[0] == ',' && comma_quoted[1] == '"' &&
                comma_quoted.back() == ':');
  const std::size_t skip = separator() == 0 ? 1 : 0;
  out_.append(comma_quoted.data() + skip, comma_quoted.size() - skip);
  after_key_ = true;
}

void Writer::string(std::string_view v) { append_quoted_between(out_, separator(), v, 0); }

// The key's comma (dropped for a container's first member), key, quotes and value are built in
// a buffer on the stack and appended once; a value that needs escaping, or a long one, takes
// the two-step path.
void Writer::string_member(std::string_view comma_quoted, std::string_view v) {
  if (v.size() <= 32 && first_special(v) == v.size()) return plain_member(comma_quoted, v);
  quoted_key(comma_quoted);
  string(v);  // escaped, or long: scanned once, here
}

void Writer::plain_member(std::string_view comma_quoted, std::string_view v) {
  if (v.size() > 32 || comma_quoted.size() > 32) {
    quoted_key(comma_quoted);
    string(v);
    return;
  }
  append_member(comma_quoted, v);
}

// Key and value of up to 32 bytes each, the value free of special bytes.
void Writer::append_member(std::string_view comma_quoted, std::string_view v) {
  HAILER_ASSERT(depth_ > 0 && !after_key_);
  HAILER_ASSERT(comma_quoted.size() >= 4 && comma_quoted[0] == ',' && comma_quoted[1] == '"' &&
                comma_quoted.back() == ':');
  HAILER_ASSERT(comma_quoted.size() <= 32 && v.size() <= 32);
  char buf[32 + 32 + 2];
  std::memcpy(buf, comma_quoted.data(), comma_quoted.size());
  std::size_t n = comma_quoted.size();
  buf[n++] = '"';
  std::memcpy(buf + n, v.data(), v.size());
  n += v.size();
  buf[n++] = '"';
  const std::size_t skip = separator() == 0 ? 1 : 0;
  out_.append(buf + skip, n - skip);
  HAILER_ASSERT(!after_key_);
}

void Writer::uinteger_member(std::string_view comma_quoted, uint64_t v) {
  if (comma_quoted.size() > 32) {
    quoted_key(comma_quoted);
    uinteger(v);
    return;
  }
  HAILER_ASSERT(depth_ > 0 && !after_key_);
  HAILER_ASSERT(comma_quoted.size() >= 4 && comma_quoted[0] == ',' && comma_quoted[1] == '"' &&
                comma_quoted.back() == ':');
  char buf[32 + max_digits];
  std::memcpy(buf, comma_quoted.data(), comma_quoted.size());
  char digits[max_digits];
  const std::string_view text = decimal(v, digits);
  std::memcpy(buf + comma_quoted.size(), text.data(), text.size());
  const std::size_t skip = separator() == 0 ? 1 : 0;
  out_.append(buf + skip, comma_quoted.size() + text.size() - skip);
  HAILER_ASSERT(!after_key_);
}

void Writer::uinteger(uint64_t v) {
  separate();
  char digits[max_digits];
  out_.append(decimal(v, digits));
}

void Writer::integer(int64_t v) {
  if (v >= 0) return uinteger(static_cast<uint64_t>(v));
  separate();
  out_.push_back('-');
  // Magnitude without overflow for INT64_MIN: -(v + 1) + 1.
  const uint64_t magnitude = static_cast<uint64_t>(-(v + 1)) + 1;
  after_key_ = true;  // the sign was the separator's business; the digits follow it directly
  uinteger(magnitude);
}

void Writer::boolean(bool v) {
  separate();
  out_.append(v ? "true" : "false");
}

void Writer::null() {
  separate();
  out_.append("null");
}

}  // namespace hailer::json
