#include "protocol/media_probe.hpp"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "base/assert.hpp"

namespace hailer {

namespace {
constexpr std::string_view prefix = "hailer-probe ";
constexpr std::size_t max_probe_bytes = 128;

// What the MAC covers: everything before it, "hailer-probe <id> <counter>".
std::string signed_part(uint64_t media_id, uint64_t counter) {
  std::string text(prefix);
  text += media_id_text(media_id);
  text += ' ';
  text += std::to_string(counter);
  return text;
}

std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}
}  // namespace

std::string media_id_text(uint64_t media_id) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(media_id));
  return text;
}

std::array<uint8_t, 16> media_probe_mac(const SecretKey& key, uint64_t media_id, uint64_t counter) {
  const std::string text = signed_part(media_id, counter);
  crypto_auth_hmacsha256_state state;
  std::array<uint8_t, crypto_auth_hmacsha256_BYTES> full{};
  crypto_auth_hmacsha256_init(&state, key.bytes.data(), key.bytes.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  crypto_auth_hmacsha256_final(&state, full.data());
  std::array<uint8_t, 16> mac{};
  std::copy_n(full.begin(), mac.size(), mac.begin());
  sodium_memzero(&state, sizeof state);
  return mac;
}

RelayLegId relay_leg_id(const SecretKey& key, uint64_t call_id) {
  const std::string text = "hailer-relay-leg " + std::to_string(call_id);
  crypto_auth_hmacsha256_state state;
  std::array<uint8_t, crypto_auth_hmacsha256_BYTES> full{};
  crypto_auth_hmacsha256_init(&state, key.bytes.data(), key.bytes.size());  // a 16-byte key, as the proofs
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  crypto_auth_hmacsha256_final(&state, full.data());
  sodium_memzero(&state, sizeof state);
  RelayLegId leg{};
  std::copy_n(full.begin(), leg.size(), leg.begin());
  return leg;
}

std::string encode_media_probe(const SecretKey& key, uint64_t media_id, uint64_t counter) {
  std::string text = signed_part(media_id, counter);
  text += ' ';
  text += to_hex(media_probe_mac(key, media_id, counter));
  return text;
}

std::optional<MediaProbeDatagram> parse_media_probe(std::string_view datagram) {
  if (datagram.size() > max_probe_bytes || !datagram.starts_with(prefix)) return std::nullopt;
  std::string_view rest = datagram.substr(prefix.size());
  const auto space1 = rest.find(' ');
  if (space1 == std::string_view::npos) return std::nullopt;
  const auto space2 = rest.find(' ', space1 + 1);
  if (space2 == std::string_view::npos) return std::nullopt;
  MediaProbeDatagram p;
  std::array<uint8_t, 8> id{};
  if (!from_hex(rest.substr(0, space1), id)) return std::nullopt;
  for (uint8_t b : id) p.media_id = (p.media_id << 8) | b;
  const auto counter = parse_decimal(rest.substr(space1 + 1, space2 - space1 - 1));
  if (!counter) return std::nullopt;
  p.counter = *counter;
  if (!from_hex(rest.substr(space2 + 1), p.mac)) return std::nullopt;
  return p;
}

bool verify_media_probe(const SecretKey& key, const MediaProbeDatagram& probe) {
  const std::array<uint8_t, 16> expected = media_probe_mac(key, probe.media_id, probe.counter);
  return sodium_memcmp(expected.data(), probe.mac.data(), expected.size()) == 0;
}

}  // namespace hailer
