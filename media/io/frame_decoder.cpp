#include "media/io/frame_decoder.hpp"

#include <algorithm>

#include "base/assert.hpp"
#include "media/io/opus_codec.hpp"
#include "media/io/wav_file.hpp"

namespace hailer {

namespace {
// Each concealed frame in a row is played at half the gain of the one before; after this many
// the stream is silent (a click-free fade, not an invented voice).
constexpr int max_faded_frames = 4;

// The Opus decoder behind the common interface.
class OpusStreamDecoder : public FrameDecoder {
 public:
  std::vector<int16_t> decode(std::span<const uint8_t> payload) override { return opus_.decode(payload); }
  std::vector<int16_t> decode_fec(std::span<const uint8_t> next) override { return opus_.decode_fec(next); }
  std::vector<int16_t> conceal() override { return opus_.conceal(); }

 private:
  OpusFrameDecoder opus_;
};
}  // namespace

std::vector<int16_t> pcm16_from_bytes(std::span<const uint8_t> b) {
  std::vector<int16_t> pcm(b.size() / 2);
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = static_cast<int16_t>(static_cast<uint16_t>(b[2 * i] | (b[2 * i + 1] << 8)));
  }
  return pcm;
}

std::vector<uint8_t> pcm16_to_bytes(std::span<const int16_t> pcm) {
  std::vector<uint8_t> b(pcm.size() * 2);
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    const auto u = static_cast<uint16_t>(pcm[i]);
    b[2 * i] = static_cast<uint8_t>(u & 0xFF);
    b[2 * i + 1] = static_cast<uint8_t>(u >> 8);
  }
  return b;
}

Pcm16FrameDecoder::Pcm16FrameDecoder(uint32_t sample_rate_hz) : resampler_(sample_rate_hz, opus_rate_hz) {}

std::vector<int16_t> Pcm16FrameDecoder::decode(std::span<const uint8_t> payload) {
  concealed_run_ = 0;
  const std::vector<int16_t> samples = resampler_.process(pcm16_from_bytes(payload));
  fifo_.insert(fifo_.end(), samples.begin(), samples.end());
  return take_frame();
}

// One 20 ms frame from the FIFO. The resampler's filter delay leaves the first frame short: it
// is completed with silence at its start, once, and the FIFO is kept from growing either way.
std::vector<int16_t> Pcm16FrameDecoder::take_frame() {
  std::vector<int16_t> frame(opus_frame_samples, 0);
  const std::size_t have = std::min(fifo_.size(), opus_frame_samples);
  std::copy(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(have),
            frame.begin() + static_cast<std::ptrdiff_t>(opus_frame_samples - have));
  fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(have));
  if (fifo_.size() > 2 * opus_frame_samples) fifo_.erase(fifo_.begin(), fifo_.end() - opus_frame_samples);
  last_ = frame;
  return frame;
}

std::vector<int16_t> Pcm16FrameDecoder::decode_fec(std::span<const uint8_t>) { return conceal(); }

std::vector<int16_t> Pcm16FrameDecoder::conceal() {
  std::vector<int16_t> frame(opus_frame_samples, 0);
  if (last_.empty() || concealed_run_ >= max_faded_frames) return frame;
  const double from = 1.0 / static_cast<double>(1 << concealed_run_);
  ++concealed_run_;
  const double to = from / 2;
  for (std::size_t i = 0; i < frame.size(); ++i) {
    const double gain = from + (to - from) * static_cast<double>(i) / static_cast<double>(frame.size());
    frame[i] = static_cast<int16_t>(static_cast<double>(last_[i]) * gain);
  }
  return frame;
}

std::unique_ptr<FrameDecoder> make_frame_decoder(const AudioFormat& format) {
  if (format.codec == AudioCodec::opus) return std::make_unique<OpusStreamDecoder>();
  return std::make_unique<Pcm16FrameDecoder>(format.sample_rate_hz);
}

}  // namespace hailer
