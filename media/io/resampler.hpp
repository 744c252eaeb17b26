// Streaming sample-rate conversion of 16-bit mono audio with libsamplerate: a capture device
// or a browser at 44.1 kHz to hailer's 48 kHz, and back for tests. Keeps the filter state
// between calls, so a stream converted frame by frame has no seams.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace hailer {

/// Converts one stream from `from_hz` to `to_hz`.
class Resampler {
 public:
  /// A converter between two rates in 8-192 kHz (SRC_SINC_FASTEST: band-limited, cheap).
  Resampler(uint32_t from_hz, uint32_t to_hz);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  /// Converts the next piece of the stream; returns what the filter produced so far (its
  /// delay holds back a few milliseconds at the start).
  std::vector<int16_t> process(std::span<const int16_t> in);
  /// True when the rates are equal and samples pass through unchanged.
  bool passthrough() const { return state_ == nullptr; }

 private:
  double ratio_;
  void* state_ = nullptr;  // SRC_STATE
  std::vector<float> in_, out_;
};

}  // namespace hailer
