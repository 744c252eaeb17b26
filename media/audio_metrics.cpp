#include "media/audio_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/assert.hpp"

namespace hailer {

namespace {
constexpr int64_t envelope_frame_ms = 10;
constexpr double floor_db = -100.0;
// Below this the envelope is just "silence": digital zero (-100) and a codec's near-silence
// (-60..-80) must not count as a difference.
constexpr double envelope_floor_db = -60.0;
constexpr std::size_t min_overlap_frames = 20;  // 200 ms: less than that says nothing

std::vector<double> envelope_db(std::span<const int16_t> pcm, uint32_t rate) {
  const std::size_t frame = rate * envelope_frame_ms / 1000;
  std::vector<double> env;
  env.reserve(pcm.size() / frame);
  for (std::size_t at = 0; at + frame <= pcm.size(); at += frame) {
    env.push_back(std::max(envelope_floor_db, static_cast<double>(level_dbfs(pcm.subspan(at, frame)))));
  }
  return env;
}

double pearson(const double* a, const double* b, std::size_t n) {
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa <= 0 || sbb <= 0) return 0;
  return sab / std::sqrt(saa * sbb);
}
}  // namespace

int32_t level_dbfs(std::span<const int16_t> samples) {
  if (samples.empty()) return static_cast<int32_t>(floor_db);
  double sum = 0;
  for (int16_t s : samples) sum += static_cast<double>(s) * s;
  const double rms = std::sqrt(sum / static_cast<double>(samples.size())) / 32768.0;
  if (rms <= 0) return static_cast<int32_t>(floor_db);
  return static_cast<int32_t>(std::lround(std::max(floor_db, 20.0 * std::log10(rms))));
}

Similarity envelope_similarity(std::span<const int16_t> sent, std::span<const int16_t> received,
                               uint32_t sample_rate_hz, int64_t max_lag_ms) {
  HAILER_ASSERT(sample_rate_hz >= 8000 && max_lag_ms >= 0);
  const std::vector<double> a = envelope_db(sent, sample_rate_hz);
  const std::vector<double> b = envelope_db(received, sample_rate_hz);
  Similarity best;
  best.correlation = -1;
  const auto max_lag = static_cast<std::size_t>(max_lag_ms / envelope_frame_ms);
  for (std::size_t lag = 0; lag <= max_lag && lag < b.size(); ++lag) {
    const std::size_t n = std::min(a.size(), b.size() - lag);
    if (n < min_overlap_frames) break;
    const double c = pearson(a.data(), b.data() + lag, n);
    if (c > best.correlation) {
      best.correlation = c;
      best.lag_ms = static_cast<int64_t>(lag) * envelope_frame_ms;
    }
  }
  if (best.correlation < 0) {
    best.correlation = 0;
    best.unmeasurable = "the two signals overlap by less than 200 ms";
  }
  return best;
}

Similarity segmental_similarity(std::span<const int16_t> sent, std::span<const int16_t> received,
                                uint32_t sample_rate_hz, int64_t window_ms, int64_t max_lag_ms) {
  HAILER_ASSERT(window_ms >= 200 && max_lag_ms >= 0);
  const std::vector<double> a = envelope_db(sent, sample_rate_hz);
  const std::vector<double> b = envelope_db(received, sample_rate_hz);
  const auto window = static_cast<std::size_t>(window_ms / envelope_frame_ms);
  const auto ahead = static_cast<int64_t>(max_lag_ms / 4 / envelope_frame_ms);
  const auto behind = static_cast<int64_t>(max_lag_ms / envelope_frame_ms);
  if (b.size() < window) return Similarity{0, 0, "less than one " + std::to_string(window_ms) + " ms window was heard"};
  if (a.size() < window)
    return Similarity{0, 0, "less than one " + std::to_string(window_ms) + " ms window was spoken"};
  double sum = 0;
  int64_t lag_sum = 0;
  int windows = 0;
  int flat = 0;
  // Windows over what was heard, each matched against the spoken signal at its own lag: a
  // frame the buffer dropped puts the heard signal ahead of the spoken one, an inserted one
  // behind, and a window's best lag absorbs that.
  for (std::size_t at = 0; at + window <= b.size(); at += window) {
    double lo = b[at], hi = b[at];
    for (std::size_t i = at; i < at + window; ++i) {
      lo = std::min(lo, b[i]);
      hi = std::max(hi, b[i]);
    }
    if (hi - lo < 10.0) {  // a flat window (silence, a steady tone) says nothing about a match
      ++flat;
      continue;
    }
    double best = -1;
    int64_t best_lag = 0;
    for (int64_t lag = -behind; lag <= ahead; ++lag) {
      const int64_t start = static_cast<int64_t>(at) + lag;
      if (start < 0 || static_cast<std::size_t>(start) + window > a.size()) continue;
      const double c = pearson(a.data() + start, b.data() + at, window);
      if (c > best) {
        best = c;
        best_lag = -lag;
      }
    }
    if (best < -0.5) continue;  // no overlap in range
    sum += std::max(0.0, best);
    lag_sum += best_lag * envelope_frame_ms;
    ++windows;
  }
  if (windows == 0) {
    return Similarity{0, 0,
                      flat > 0 ? "what was heard has no varying envelope (silence or a steady tone)"
                               : "what was heard does not overlap what was spoken within the lag range"};
  }
  return Similarity{sum / windows, lag_sum / windows, ""};
}

}  // namespace hailer
