#include "protocol/ptt_frame.hpp"

#include "base/assert.hpp"

namespace hailer {

std::string_view to_string(PttFrameError error) {
  switch (error) {
    case PttFrameError::too_short:
      return "shorter than the 4-byte header";
    case PttFrameError::bad_version:
      return "unknown frame version (this server speaks 1)";
    case PttFrameError::bad_flags:
      return "unknown flag bits set";
    case PttFrameError::empty_payload:
      return "no audio in the frame";
    case PttFrameError::too_large:
      return "payload larger than one 20 ms frame of the declared format";
    case PttFrameError::odd_pcm_length:
      return "16-bit PCM payload with an odd number of bytes";
  }
  HAILER_ASSERT(false && "unknown frame error");
  return "";
}

uint32_t pcm_frame_samples(uint32_t sample_rate_hz) {
  HAILER_ASSERT(sample_rate_hz > 0);
  return (sample_rate_hz + 49) / 50;
}

std::size_t max_ptt_payload_bytes(const AudioFormat& format) {
  if (format.codec == AudioCodec::opus) return max_opus_packet_bytes;
  return 2 * std::size_t{pcm_frame_samples(format.sample_rate_hz)};
}

std::variant<PttFrame, PttFrameError> parse_ptt_frame(std::span<const uint8_t> m, const AudioFormat& format) {
  if (m.size() < ptt_frame_header_bytes) return PttFrameError::too_short;
  if (m[0] != ptt_frame_version) return PttFrameError::bad_version;
  if ((m[1] & ~ptt_flag_last) != 0) return PttFrameError::bad_flags;
  PttFrame f;
  f.last = (m[1] & ptt_flag_last) != 0;
  f.sequence = static_cast<uint16_t>((m[2] << 8) | m[3]);
  f.payload = m.subspan(ptt_frame_header_bytes);
  if (f.payload.empty()) return PttFrameError::empty_payload;
  if (f.payload.size() > max_ptt_payload_bytes(format)) return PttFrameError::too_large;
  if (format.codec == AudioCodec::pcm16 && f.payload.size() % 2 != 0) return PttFrameError::odd_pcm_length;
  return f;
}

std::vector<uint8_t> encode_ptt_frame(uint16_t sequence, bool last, std::span<const uint8_t> payload) {
  std::vector<uint8_t> out(ptt_frame_header_bytes + payload.size());
  out[0] = ptt_frame_version;
  out[1] = last ? ptt_flag_last : 0;
  out[2] = static_cast<uint8_t>(sequence >> 8);
  out[3] = static_cast<uint8_t>(sequence);
  std::copy(payload.begin(), payload.end(), out.begin() + ptt_frame_header_bytes);
  return out;
}

}  // namespace hailer
