// The relay's framing (docs/protocol.md, "The relay"): an 18-byte header before a call's packet,
// naming the leg. Shared by the server's relay (host/relay.hpp) and the clients (client/media_path.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocol/media_probe.hpp"  // RelayLegId, relay_leg_id()

namespace hailer {

/// The header's first byte: no RTP packet, consent datagram or media proof starts with it.
inline constexpr uint8_t relay_marker = 0xFE;
/// The relay header's version.
inline constexpr uint8_t relay_version = 1;
/// Bytes of the relay header: marker, version, leg id.
inline constexpr std::size_t relay_header_bytes = 2 + 16;
/// The largest relayed datagram: the header and the largest SRTP packet we send (1,200 + 16).
inline constexpr std::size_t relay_max_datagram_bytes = relay_header_bytes + 1216;

/// `packet` behind the relay header for leg `leg` (what a client sends to the relay port).
std::vector<uint8_t> relay_wrap(const RelayLegId& leg, std::span<const uint8_t> packet);
/// The packet inside a datagram the relay sent to leg `own`, or nothing when it is not one (not
/// the relay's header, or another leg's: compared in constant time).
std::optional<std::span<const uint8_t>> relay_unwrap(const RelayLegId& own, std::span<const uint8_t> datagram);

}  // namespace hailer
