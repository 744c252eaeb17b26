#include "media/io/resampler.hpp"

#include <samplerate.h>

#include <stdexcept>
#include <string>

#include "base/assert.hpp"
#include "media/io/wav_file.hpp"

namespace hailer {

Resampler::Resampler(uint32_t from_hz, uint32_t to_hz) : ratio_(static_cast<double>(to_hz) / from_hz) {
  HAILER_ASSERT(from_hz >= 8'000 && from_hz <= 192'000 && to_hz >= 8'000 && to_hz <= 192'000);
  if (from_hz == to_hz) return;
  int err = 0;
  state_ = src_new(SRC_SINC_FASTEST, 1, &err);
  if (state_ == nullptr) throw std::runtime_error(std::string("libsamplerate: ") + src_strerror(err));
}

Resampler::~Resampler() {
  if (state_ != nullptr) src_delete(static_cast<SRC_STATE*>(state_));
}

std::vector<int16_t> Resampler::process(std::span<const int16_t> in) {
  if (state_ == nullptr) return std::vector<int16_t>(in.begin(), in.end());
  in_.resize(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) in_[i] = static_cast<float>(in[i]) / 32768.0f;
  out_.resize(static_cast<std::size_t>(static_cast<double>(in.size()) * ratio_) + 64);
  SRC_DATA d{};
  d.data_in = in_.data();
  d.input_frames = static_cast<long>(in_.size());
  d.data_out = out_.data();
  d.output_frames = static_cast<long>(out_.size());
  d.src_ratio = ratio_;
  const int rc = src_process(static_cast<SRC_STATE*>(state_), &d);
  HAILER_ASSERT(rc == 0);                                // only a bad ratio or buffer fails, and both are ours
  HAILER_ASSERT(d.input_frames_used == d.input_frames);  // the output buffer is large enough
  std::vector<int16_t> out(static_cast<std::size_t>(d.output_frames_gen));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = float_to_int16(out_[i]);
  return out;
}

}  // namespace hailer
