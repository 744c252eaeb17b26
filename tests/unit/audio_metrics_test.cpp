#include "media/audio_metrics.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "base/prng.hpp"

using namespace hailer;

namespace {
// Syllable-like bursts of a tone with pauses: an envelope with structure, like speech.
std::vector<int16_t> bursts(uint32_t rate, double seconds, uint64_t seed) {
  Prng rng(seed);
  std::vector<int16_t> pcm(static_cast<std::size_t>(rate * seconds));
  std::size_t at = 0;
  while (at < pcm.size()) {
    const auto on = static_cast<std::size_t>(rng.between(80, 300)) * rate / 1000;
    const auto off = static_cast<std::size_t>(rng.between(40, 200)) * rate / 1000;
    const double amp = 3000.0 + static_cast<double>(rng.below(12000));
    for (std::size_t i = 0; i < on && at < pcm.size(); ++i, ++at) {
      pcm[at] = static_cast<int16_t>(amp * std::sin(2 * M_PI * 300.0 * static_cast<double>(i) / rate));
    }
    at += off;
  }
  return pcm;
}
}  // namespace

TEST_CASE("level_dbfs: full-scale square is 0 dBFS, silence -100", "[audio]") {
  std::vector<int16_t> loud(480, 32767), quiet(480, 0), half(480, 16384);
  CHECK(level_dbfs(loud) == 0);
  CHECK(level_dbfs(quiet) == -100);
  CHECK(level_dbfs(half) == -6);
}

TEST_CASE("envelope similarity finds the delay and scores a match near 1, noise near 0", "[audio]") {
  const auto sent = bursts(48000, 4.0, 1);
  std::vector<int16_t> delayed(48000 / 1000 * 120, 0);  // 120 ms later
  delayed.insert(delayed.end(), sent.begin(), sent.end());
  const auto s = envelope_similarity(sent, delayed, 48000, 500);
  CHECK(s.lag_ms == 120);
  CHECK(s.correlation > 0.99);
  const auto other = bursts(48000, 4.0, 2);
  CHECK(envelope_similarity(sent, other, 48000, 500).correlation < 0.5);
}

TEST_CASE("segmental similarity survives dropped and inserted frames, unrelated audio scores low", "[audio]") {
  const auto sent = bursts(48000, 6.0, 3);
  std::vector<int16_t> heard;
  for (std::size_t f = 0; f * 960 < sent.size(); ++f) {
    if (f % 40 == 7) continue;                            // a frame dropped every 0.8 s
    if (f % 55 == 20) heard.insert(heard.end(), 960, 0);  // a frame inserted now and then
    const auto end = std::min(sent.size(), (f + 1) * 960);
    heard.insert(heard.end(), sent.begin() + static_cast<std::ptrdiff_t>(f * 960),
                 sent.begin() + static_cast<std::ptrdiff_t>(end));
  }
  const auto drifting = segmental_similarity(sent, heard, 48000, 1000, 2000);
  CHECK(drifting.correlation > 0.85);  // measured 0.887 with a drop every 0.8 s
  CHECK(envelope_similarity(sent, heard, 48000, 500).correlation < drifting.correlation);  // why segments
  const auto other = bursts(48000, 6.0, 4);
  CHECK(segmental_similarity(sent, other, 48000, 1000, 2000).correlation < 0.6);
  const std::vector<int16_t> silence(48000 * 3, 0);
  CHECK(segmental_similarity(sent, silence, 48000, 1000, 2000).correlation == 0.0);
}
