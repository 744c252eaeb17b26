#include "protocol/relay_packet.hpp"

#include <algorithm>
#include <string_view>

#include "base/assert.hpp"
#include "base/secret.hpp"

namespace hailer {

std::vector<uint8_t> relay_wrap(const RelayLegId& leg, std::span<const uint8_t> packet) {
  std::vector<uint8_t> out(relay_header_bytes + packet.size());
  out[0] = relay_marker;
  out[1] = relay_version;
  std::copy(leg.begin(), leg.end(), out.begin() + 2);
  std::copy(packet.begin(), packet.end(), out.begin() + relay_header_bytes);
  HAILER_ASSERT(out.size() == relay_header_bytes + packet.size());
  return out;
}

std::optional<std::span<const uint8_t>> relay_unwrap(const RelayLegId& own, std::span<const uint8_t> datagram) {
  if (datagram.size() < relay_header_bytes || datagram[0] != relay_marker || datagram[1] != relay_version)
    return std::nullopt;
  const std::string_view theirs(reinterpret_cast<const char*>(datagram.data() + 2), own.size());
  const std::string_view ours(reinterpret_cast<const char*>(own.data()), own.size());
  if (!constant_time_equal(theirs, ours)) return std::nullopt;
  return datagram.subspan(relay_header_bytes);
}

std::vector<uint8_t> relay_binding(const RelayLegId& leg) { return relay_wrap(leg, {}); }

bool is_relay_binding(std::span<const uint8_t> datagram) {
  return datagram.size() == relay_header_bytes && datagram[0] == relay_marker && datagram[1] == relay_version;
}

std::string tunnel_frame(std::span<const uint8_t> datagram) {
  HAILER_ASSERT(datagram.size() <= 0xFFFF);
  std::string out(tunnel_prefix_bytes + datagram.size(), '\0');
  out[0] = static_cast<char>(tunnel_lead);
  out[1] = static_cast<char>(datagram.size() >> 8);
  out[2] = static_cast<char>(datagram.size() & 0xFF);
  std::copy(datagram.begin(), datagram.end(), out.begin() + tunnel_prefix_bytes);
  HAILER_ASSERT(out.size() == tunnel_prefix_bytes + datagram.size());
  return out;
}

}  // namespace hailer
