// Measurements on PCM: frame level and how well a received signal matches the sent one.
// Opus is not sample-exact, so signals are compared by their energy envelopes, aligned by the
// lag that matches best.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace hailer {

/// RMS level of 16-bit samples in dBFS (-100 for silence).
int32_t level_dbfs(std::span<const int16_t> samples);

/// Best alignment of `received` against `sent`.
struct Similarity {
  double correlation = 0;    ///< Pearson correlation of the 10 ms energy envelopes at the best lag
  int64_t lag_ms = 0;        ///< how much later `received` carries `sent`
  std::string unmeasurable;  ///< why no correlation can be measured (empty when it was); correlation is 0 then
};

/// Compares envelopes (10 ms RMS, in dB) for lags 0..max_lag_ms and returns the best match.
/// Only the overlap is compared; silence in both counts (it is part of the speech).
Similarity envelope_similarity(std::span<const int16_t> sent, std::span<const int16_t> received,
                               uint32_t sample_rate_hz, int64_t max_lag_ms);

/// Like envelope_similarity, but per window of `window_ms` of what was received, each matched
/// to `sent` at its own lag in [-max_lag_ms, max_lag_ms/4], averaged over windows with signal. Robust to the
/// drift that jitter-buffer speed changes cause (each dropped or inserted frame shifts time).
Similarity segmental_similarity(std::span<const int16_t> sent, std::span<const int16_t> received,
                                uint32_t sample_rate_hz, int64_t window_ms, int64_t max_lag_ms);

}  // namespace hailer
