// RTP (RFC 3550) fixed header with Opus payload (RFC 7587): 48 kHz clock, one frame per packet.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace hailer {

/// Bytes of the RTP fixed header (no CSRCs, no extension).
inline constexpr std::size_t rtp_header_bytes = 12;
/// The RTP clock of Opus is always 48 kHz (RFC 7587), whatever the coded bandwidth.
inline constexpr uint32_t rtp_opus_clock_hz = 48'000;
/// Dynamic payload type hailer uses for Opus.
inline constexpr uint8_t rtp_opus_payload_type = 111;
/// Largest datagram hailer sends or accepts (well below a 1500-byte MTU).
inline constexpr std::size_t rtp_max_datagram_bytes = 1200;

/// The fields of an RTP header that hailer uses.
struct RtpHeader {
  bool marker = false;  ///< first packet of a talk spurt
  uint8_t payload_type = rtp_opus_payload_type;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  bool operator==(const RtpHeader&) const = default;
};

/// A parsed packet: header plus a view of the payload inside the datagram.
struct RtpPacket {
  RtpHeader header;
  std::span<const uint8_t> payload;
};

/// Serializes header + payload into one datagram.
std::vector<uint8_t> rtp_encode(const RtpHeader& header, std::span<const uint8_t> payload);

/// Parses a datagram: version 2, CSRCs, extension and padding honoured; nothing when malformed.
std::optional<RtpPacket> rtp_parse(std::span<const uint8_t> datagram);

/// Signed distance from sequence `a` to `b` modulo 2^16 (positive when b is after a).
int32_t sequence_delta(uint16_t a, uint16_t b);

/// Signed distance from timestamp `a` to `b` modulo 2^32.
int64_t timestamp_delta(uint32_t a, uint32_t b);

/// Numbers outgoing packets: sequence +1 and timestamp +frame per packet, marker on spurt start.
class RtpSender {
 public:
  /// A sender with the given SSRC and random-looking initial sequence and timestamp (RFC 3550 5.1).
  RtpSender(uint32_t ssrc, uint16_t first_sequence, uint32_t first_timestamp, uint32_t frame_samples);
  /// The header for the next frame; `spurt_start` sets the marker bit.
  RtpHeader next(bool spurt_start);
  /// Skips one frame of timestamps without sending (silence between spurts).
  void skip_frame();

 private:
  RtpHeader header_;
  uint32_t frame_samples_;
};

}  // namespace hailer
