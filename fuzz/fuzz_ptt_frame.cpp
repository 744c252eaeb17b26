// The WebSocket audio-frame parser on any bytes and any declared format: never crashes, an
// accepted frame's payload lies inside the message and within the format's limit, and the
// frame re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "protocol/ptt_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const uint32_t rates[] = {8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000};
  hailer::AudioFormat format{data[0] & 1 ? hailer::AudioCodec::opus : hailer::AudioCodec::pcm16,
                             rates[(data[0] >> 1) % 8]};
  if (format.codec == hailer::AudioCodec::opus) format.sample_rate_hz = 48000;
  const std::span<const uint8_t> message(data + 1, size - 1);
  const auto r = hailer::parse_ptt_frame(message, format);
  if (const auto* f = std::get_if<hailer::PttFrame>(&r)) {
    if (f->payload.data() < message.data() || f->payload.data() + f->payload.size() > message.data() + message.size())
      std::abort();
    if (f->payload.size() > hailer::max_ptt_payload_bytes(format)) std::abort();
    const auto again = hailer::encode_ptt_frame(f->sequence, f->last, f->payload);
    if (!std::equal(again.begin(), again.end(), message.begin(), message.end())) std::abort();
  }
  return 0;
}
