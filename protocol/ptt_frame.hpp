// The binary PTT audio frame (a WebSocket binary message), docs/protocol.md "Audio frames":
//
//   byte 0     version, 1
//   byte 1     flags: bit 0 = last frame of the turn (the button was released); others 0
//   bytes 2-3  sequence number, big-endian, +1 per 20 ms frame, wrapping at 65536
//   bytes 4..  payload: one Opus packet (codec "opus"), or 20 ms of 16-bit little-endian mono
//              PCM at the sample rate declared at join (codec "pcm16")
//
// The sequence number is all a jitter buffer needs (frames are 20 ms each); the recording is
// what the speaker played, so it needs nothing more.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/messages.hpp"

namespace hailer {

/// The frame version this server speaks.
inline constexpr uint8_t ptt_frame_version = 1;
/// Bytes before the payload.
inline constexpr std::size_t ptt_frame_header_bytes = 4;
/// Flag bit: the last frame of a turn.
inline constexpr uint8_t ptt_flag_last = 0x01;
/// Largest Opus packet for one frame (RFC 6716, 3.4: 1275 bytes).
inline constexpr std::size_t max_opus_packet_bytes = 1275;

/// A parsed frame; `payload` views the message it came from.
struct PttFrame {
  uint16_t sequence = 0;
  bool last = false;
  std::span<const uint8_t> payload;
};

/// Why a binary message is not an audio frame of the declared format.
enum class PttFrameError : uint8_t { too_short, bad_version, bad_flags, empty_payload, too_large, odd_pcm_length };

/// A description of the error for the client, e.g. "payload larger than 20 ms of audio".
std::string_view to_string(PttFrameError error);

/// Samples of 20 ms of PCM at `sample_rate_hz`, rounded up (11,025 Hz carries 221).
uint32_t pcm_frame_samples(uint32_t sample_rate_hz);

/// Largest frame payload accepted for `format`, in bytes.
std::size_t max_ptt_payload_bytes(const AudioFormat& format);

/// Parses a binary message as an audio frame of `format`.
std::variant<PttFrame, PttFrameError> parse_ptt_frame(std::span<const uint8_t> message, const AudioFormat& format);

/// Builds a frame (clients, the simulator and tests).
std::vector<uint8_t> encode_ptt_frame(uint16_t sequence, bool last, std::span<const uint8_t> payload);

}  // namespace hailer
