#include "base/secret.hpp"

#include <cstring>

#include <algorithm>

namespace hailer {

SessionSecrets SecretSource::session_secrets() {
  std::array<uint8_t, 24> raw{};
  fill(raw);
  SessionSecrets s;
  std::memcpy(s.media_key.bytes.data(), raw.data(), s.media_key.bytes.size());
  std::memcpy(&s.media_id, raw.data() + s.media_key.bytes.size(), sizeof s.media_id);
  return s;
}

void SeededSecrets::fill(std::span<uint8_t> out) {
  for (std::size_t i = 0; i < out.size(); i += 8) {
    const uint64_t word = rng_.next();
    std::memcpy(out.data() + i, &word, std::min<std::size_t>(8, out.size() - i));
  }
}

SessionSecrets stand_in_secrets(uint64_t session) {
  SeededSecrets source(derive_seed(session, "journal stand-in secrets"));
  return source.session_secrets();
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xF];
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool from_hex(std::string_view text, std::span<uint8_t> out) {
  if (text.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // Every byte is looked at whatever the earlier ones were; `volatile` keeps the compiler from
  // turning the loop back into an early exit.
  volatile uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<uint8_t>(diff | (static_cast<uint8_t>(a[i]) ^ static_cast<uint8_t>(b[i])));
  }
  return diff == 0;
}

}  // namespace hailer
