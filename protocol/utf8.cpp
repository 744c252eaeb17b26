#include "protocol/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace hailer {

namespace {
bool continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Length of the sequence starting at `b0` given the second byte, or 0 when invalid.
// The second-byte ranges exclude overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
std::size_t sequence_length(uint8_t b0, uint8_t b1) {
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(b1) ? 2 : 0;
  if (b0 == 0xE0) return (b1 >= 0xA0 && b1 <= 0xBF) ? 3 : 0;
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) return continuation(b1) ? 3 : 0;
  if (b0 == 0xED) return (b1 >= 0x80 && b1 <= 0x9F) ? 3 : 0;
  if (b0 == 0xF0) return (b1 >= 0x90 && b1 <= 0xBF) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3) return continuation(b1) ? 4 : 0;
  if (b0 == 0xF4) return (b1 >= 0x80 && b1 <= 0x8F) ? 4 : 0;
  return 0;
}
}  // namespace

bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Eight ASCII bytes at a time: protocol text is nearly all ASCII.
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t b1 = (i + 1 < n) ? p[i + 1] : 0;
    const std::size_t len = sequence_length(p[i], b1);
    if (len == 0 || i + len > n) return false;
    for (std::size_t k = 2; k < len; ++k) {
      if (!continuation(p[i + k])) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace hailer
