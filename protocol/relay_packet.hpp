// The relay's framing (docs/protocol.md, "The relay" and "The tunnel"): an 18-byte header before a
// call's packet, naming the leg; on the UDP port as a datagram (path b), on the calls connection
// as a tunnel frame (path c). A header with nothing behind it is a binding packet: the relay
// answers it to its sender, which is how a client learns that the relay's UDP path works.
// Shared by the server's relay (host/relay.hpp) and the clients (client/media_path.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
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

/// The first byte of a tunnel frame on the calls connection: no line starts with it (it is never
/// UTF-8), so a frame is told from a line by its first byte.
inline constexpr uint8_t tunnel_lead = 0xFE;
/// Bytes before a tunnel frame's relay datagram: the lead and the datagram's length (big endian).
inline constexpr std::size_t tunnel_prefix_bytes = 3;

/// `packet` behind the relay header for leg `leg` (what a client sends to the relay port).
std::vector<uint8_t> relay_wrap(const RelayLegId& leg, std::span<const uint8_t> packet);
/// The packet inside a datagram the relay sent to leg `own`, or nothing when it is not one (not
/// the relay's header, or another leg's: compared in constant time).
std::optional<std::span<const uint8_t>> relay_unwrap(const RelayLegId& own, std::span<const uint8_t> datagram);
/// A binding packet for leg `leg`: the header alone (the relay answers it to where it came from).
std::vector<uint8_t> relay_binding(const RelayLegId& leg);
/// True when `datagram` is a binding packet: a relay header with nothing behind it.
bool is_relay_binding(std::span<const uint8_t> datagram);
/// `datagram` (a relay datagram, at most 65,535 bytes) as a tunnel frame: lead, length, bytes.
std::string tunnel_frame(std::span<const uint8_t> datagram);

}  // namespace hailer
