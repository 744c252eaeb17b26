#include "media/io/playout.hpp"

#include "base/assert.hpp"

namespace hailer {

Playout::Playout(JitterBufferConfig config, std::unique_ptr<FrameDecoder> decoder)
    : buffer_(config), decoder_(std::move(decoder)) {
  HAILER_ASSERT(decoder_ != nullptr);
}

void Playout::insert(Time arrival, const RtpHeader& header, std::span<const uint8_t> payload) {
  buffer_.insert(arrival, header, payload);
}

PlayedFrame Playout::pull(Time now) {
  const PlayoutDecision p = buffer_.pull(now);
  PlayedFrame f;
  for (const auto& payload : p.dropped) f.skipped.push_back(decoder_->decode(payload));
  f.kind = p.kind;
  f.timestamp = p.timestamp;
  switch (p.kind) {
    case PlayoutKind::silence:
      break;
    case PlayoutKind::normal:
      f.pcm = decoder_->decode(p.payload);
      break;
    case PlayoutKind::fec:
      f.pcm = decoder_->decode_fec(p.payload);
      break;
    case PlayoutKind::concealed:
      f.pcm = decoder_->conceal();
      break;
  }
  return f;
}

}  // namespace hailer
