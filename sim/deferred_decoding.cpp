#include "deferred_decoding.hpp"

#include <algorithm>

#include "adapters/opus_codec.hpp"
#include "core/assert.hpp"

namespace hailer::sim {

void DecodeLog::add(PlayoutKind kind, std::span<const uint8_t> payload) {
  HAILER_ASSERT(kind == PlayoutKind::normal || kind == PlayoutKind::fec || kind == PlayoutKind::concealed);
  calls_.push_back(DecodeCall{kind, std::vector<uint8_t>(payload.begin(), payload.end()), -1});
}

void DecodeLog::place_last(std::size_t offset) {
  HAILER_ASSERT(!calls_.empty());
  HAILER_ASSERT(calls_.back().played_at == -1);
  HAILER_ASSERT(offset % opus_frame_samples == 0);
  calls_.back().played_at = static_cast<int64_t>(offset);
}

void DecodeLog::replay(const AudioFormat& format, std::vector<int16_t>& track) const {
  auto decoder = make_frame_decoder(format);
  for (const DecodeCall& c : calls_) {
    std::vector<int16_t> pcm;
    switch (c.kind) {
      case PlayoutKind::normal: pcm = decoder->decode(c.payload); break;
      case PlayoutKind::fec: pcm = decoder->decode_fec(c.payload); break;
      case PlayoutKind::concealed: pcm = decoder->conceal(); break;
      case PlayoutKind::silence: HAILER_ASSERT(false && "silence is never decoded");
    }
    HAILER_ASSERT(pcm.size() == opus_frame_samples);
    if (c.played_at < 0) continue;
    const auto at = static_cast<std::size_t>(c.played_at);
    HAILER_ASSERT(at + opus_frame_samples <= track.size());
    std::copy(pcm.begin(), pcm.end(), track.begin() + static_cast<std::ptrdiff_t>(at));
  }
}

DeferredDecoder::DeferredDecoder(std::shared_ptr<DecodeLog> log) : log_(std::move(log)) { HAILER_ASSERT(log_ != nullptr); }

std::vector<int16_t> DeferredDecoder::decode(std::span<const uint8_t> payload) {
  log_->add(PlayoutKind::normal, payload);
  return std::vector<int16_t>(opus_frame_samples, 0);
}

std::vector<int16_t> DeferredDecoder::decode_fec(std::span<const uint8_t> next_payload) {
  log_->add(PlayoutKind::fec, next_payload);
  return std::vector<int16_t>(opus_frame_samples, 0);
}

std::vector<int16_t> DeferredDecoder::conceal() {
  log_->add(PlayoutKind::concealed, {});
  return std::vector<int16_t>(opus_frame_samples, 0);
}

}  // namespace hailer::sim
