// protocol/json against nlohmann::json on the same text. They may disagree only where
// docs/protocol.md "Strict JSON" says hailer refuses what JSON allows: a duplicate key, a raw NUL,
// a leading byte-order mark, an escaped NUL, nesting deeper than 16, more than 64 members; and
// the other way round, a number beyond a double's range, which hailer reads and no field takes. Where
// both accept, the values are the same (integers exactly; other numbers by kind, since hailer
// gives them no value), and the writer escapes every string as nlohmann's dump() does.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/json.hpp"
#include "protocol/utf8.hpp"

namespace {

using nlohmann::json;

// What nlohmann saw that the strict reader refuses by name.
struct Lenient {
  bool duplicate_key = false;
  bool nul_in_string = false;
  uint32_t depth = 0;
  uint32_t most_members = 0;
};

void measure(const json& v, uint32_t depth, Lenient& l) {
  if (v.is_string() && v.get_ref<const std::string&>().find('\0') != std::string::npos) l.nul_in_string = true;
  if (!v.is_structured()) return;
  l.depth = std::max(l.depth, depth + 1);
  if (v.is_object()) l.most_members = std::max<uint32_t>(l.most_members, static_cast<uint32_t>(v.size()));
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (v.is_object() && it.key().find('\0') != std::string::npos) l.nul_in_string = true;
    measure(*it, depth + 1, l);
  }
}

// nlohmann keeps the last of duplicate keys; a callback sees every key as it is read.
std::optional<json> lenient_parse(const std::string& text, Lenient& l) {
  std::vector<std::set<std::string>> open;
  auto seen = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open.emplace_back();
    if (event == json::parse_event_t::object_end && !open.empty()) open.pop_back();
    if (event == json::parse_event_t::key && !open.empty() && !open.back().insert(parsed.get<std::string>()).second)
      l.duplicate_key = true;
    return true;
  };
  json v = json::parse(text, seen, false);
  if (v.is_discarded()) return std::nullopt;
  measure(v, 0, l);
  return v;
}

bool same(const hailer::json::Document& doc, const hailer::json::Value& a, const json& b) {
  using hailer::json::Type;
  switch (a.type) {
    case Type::null:
      return b.is_null();
    case Type::boolean:
      return b.is_boolean() && b.get<bool>() == a.boolean;
    case Type::integer:
      // nlohmann holds integers beyond int64/uint64 as floating point; hailer keeps the magnitude
      // and lets each field refuse what it cannot hold. -0 is 0 either way.
      if (a.overflow) return b.is_number_float();
      if (a.magnitude == 0) return b.is_number_integer() && b.get<int64_t>() == 0;
      if (a.negative) {
        if (a.magnitude > uint64_t{1} << 63) return b.is_number_float();
        return b.is_number_integer() && !b.is_number_unsigned() && b.get<int64_t>() < 0 &&
               static_cast<uint64_t>(-(b.get<int64_t>() + 1)) + 1 == a.magnitude;
      }
      return b.is_number_unsigned() && b.get<uint64_t>() == a.magnitude;
    case Type::number:
      return b.is_number_float();
    case Type::string: {
      if (!b.is_string() || b.get_ref<const std::string&>() != a.text) return false;
      std::string written;
      hailer::json::Writer w(written);
      w.begin_array();
      w.string(a.text);
      w.end_array();
      return written == json::array({b}).dump();
    }
    case Type::array: {
      if (!b.is_array() || b.size() != a.size) return false;
      std::size_t i = 0;
      for (const auto* child : doc.children(a)) {
        if (!same(doc, *child, b[i++])) return false;
      }
      return true;
    }
    case Type::object: {
      if (!b.is_object() || b.size() != a.size) return false;
      for (const auto* child : doc.children(a)) {
        const auto it = b.find(std::string(child->key));
        if (it == b.end() || !same(doc, *child, *it)) return false;
      }
      return true;
    }
  }
  return false;
}

// Whether a number outside every string is beyond a double's range (1e400): nlohmann refuses the
// text, hailer reads a number that no field takes (docs/protocol.md, "Strict JSON").
bool has_number_beyond_double(const std::string& text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    std::size_t end = i;
    while (end < text.size() && std::strchr("+-.eE0123456789", text[end]) != nullptr && text[end] != '\0') ++end;
    if (std::isinf(std::strtod(text.substr(i, end - i).c_str(), nullptr))) return true;
    i = end - 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The codec checks UTF-8 before it parses; the parser's contract starts there.
  if (!hailer::valid_utf8(text)) return 0;
  hailer::json::Document doc;
  const bool strict_ok = !hailer::json::parse(text, doc).has_value();
  Lenient l;
  const auto lenient = lenient_parse(text, l);
  if (strict_ok) {
    // Whatever the strict reader takes, JSON takes, with the same value.
    if (!lenient && has_number_beyond_double(text)) return 0;
    if (!lenient || !same(doc, doc.root(), *lenient)) std::abort();
    return 0;
  }
  if (!lenient) return 0;
  // Refused by hailer, accepted by nlohmann: only for a reason the docs name.
  const bool raw_nul = text.find('\0') != std::string::npos;
  const bool bom = text.rfind("\xEF\xBB\xBF", 0) == 0;
  const bool named = l.duplicate_key || l.nul_in_string || raw_nul || bom || l.depth > 16 || l.most_members > 64;
  if (!named) std::abort();
  return 0;
}
