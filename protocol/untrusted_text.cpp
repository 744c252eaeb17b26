#include "protocol/untrusted_text.hpp"

#include <cstdint>
#include <cstdio>

namespace hailer {

bool is_unsafe_code_point(char32_t c) {
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) return true;  // C0, DEL, C1
  switch (c) {
    case 0x00AD:  // soft hyphen
    case 0x034F:  // combining grapheme joiner
    case 0x061C:  // Arabic letter mark
    case 0x180E:  // Mongolian vowel separator
    case 0xFEFF:  // zero-width no-break space (BOM)
      return true;
    default:
      break;
  }
  return (c >= 0x200B && c <= 0x200F)      // zero-width space, joiners, LRM, RLM
         || (c >= 0x2028 && c <= 0x202E)   // line/paragraph separators, LRE RLE PDF LRO RLO
         || (c >= 0x2060 && c <= 0x206F)   // word joiner, invisible operators, LRI RLI FSI PDI, deprecated
         || (c >= 0xFFF9 && c <= 0xFFFB);  // interlinear annotation
}

namespace {
// The code point at text[i] and its length, or length 0 for bytes that are not UTF-8.
std::pair<char32_t, std::size_t> decode(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<uint8_t>(text[i + k]); };
  const std::size_t left = text.size() - i;
  const uint8_t lead = b(0);
  auto cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (lead < 0x80) return {lead, 1};
  if (lead >= 0xC2 && lead <= 0xDF && cont(1)) return {char32_t((lead & 0x1F) << 6 | (b(1) & 0x3F)), 2};
  if (lead >= 0xE0 && lead <= 0xEF && cont(1) && cont(2)) {
    const char32_t c = char32_t((lead & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F));
    if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) return {0, 0};  // overlong or a surrogate
    return {c, 3};
  }
  if (lead >= 0xF0 && lead <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    const char32_t c = char32_t((lead & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F));
    if (c < 0x10000 || c > 0x10FFFF) return {0, 0};
    return {c, 4};
  }
  return {0, 0};
}
}  // namespace

std::string escape_untrusted(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto [c, n] = decode(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (is_unsafe_code_point(c)) {
      char escaped[12];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace hailer
