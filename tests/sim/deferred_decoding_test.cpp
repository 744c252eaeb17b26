// Decoding call audio after the run must give exactly the PCM live decoding gives, and the
// parallel runner must run every job once and report failures deterministically.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <stdexcept>

#include "base/prng.hpp"
#include "media/io/opus_codec.hpp"
#include "media/io/playout.hpp"
#include "sim/deferred_decoding.hpp"
#include "sim/parallel.hpp"

using namespace hailer;
using namespace hailer::sim;

namespace {

// 300 Opus packets of a gliding tone with pauses, as a sender would send them.
std::vector<std::vector<uint8_t>> speech_packets() {
  OpusFrameEncoder encoder;
  std::vector<std::vector<uint8_t>> packets;
  std::vector<int16_t> frame(opus_frame_samples);
  for (int k = 0; k < 300; ++k) {
    for (std::size_t i = 0; i < frame.size(); ++i) {
      const double t = static_cast<double>(k * 960 + static_cast<int>(i)) / 48'000;
      frame[i] = (k / 25) % 3 == 2 ? 0 : static_cast<int16_t>(8000 * std::sin(2 * M_PI * (150 + 40 * std::sin(t)) * t));
    }
    packets.push_back(encoder.encode(frame));
  }
  return packets;
}

struct Played {
  std::vector<int16_t> track;
  int normal = 0, fec = 0, concealed = 0, skipped = 0;
};

// Plays the packets through `playout` as the simulator does: jittered and lossy arrivals, a
// late burst that overflows the ceiling, one pull per 20 ms; a silent slot adds a silent frame
// once playout began.
Played play(Playout& playout, const std::vector<std::vector<uint8_t>>& packets, std::shared_ptr<DecodeLog> log) {
  Prng rng(7);
  std::multimap<int64_t, std::size_t> arrivals;  // arrival us -> packet index
  for (std::size_t k = 0; k < packets.size(); ++k) {
    if (rng.chance(6, 100)) continue;                                                 // lost
    int64_t at = static_cast<int64_t>(k) * 20'000 + 30'000 + rng.between(0, 25'000);  // latency + jitter
    if (k >= 150 && k < 170) at = 170 * 20'000 + 30'000;                              // stalled, then all at once
    arrivals.emplace(at, k);
  }
  Played out;
  auto next = arrivals.begin();
  for (int64_t now_us = 20'000; now_us < 7'000'000; now_us += 20'000) {
    for (; next != arrivals.end() && next->first <= now_us; ++next) {
      const RtpHeader h{next->second == 0, rtp_opus_payload_type, static_cast<uint16_t>(next->second),
                        static_cast<uint32_t>(next->second * 960), 1};
      playout.insert(Time{next->first}, h, packets[next->second]);
    }
    const PlayedFrame f = playout.pull(Time{now_us});
    out.skipped += static_cast<int>(f.skipped.size());
    if (f.kind == PlayoutKind::silence) {
      if (!out.track.empty()) out.track.insert(out.track.end(), opus_frame_samples, 0);
      continue;
    }
    out.normal += f.kind == PlayoutKind::normal;
    out.fec += f.kind == PlayoutKind::fec;
    out.concealed += f.kind == PlayoutKind::concealed;
    if (log) log->place_last(out.track.size());
    out.track.insert(out.track.end(), f.pcm.begin(), f.pcm.end());
  }
  return out;
}

}  // namespace

const AudioFormat opus{AudioCodec::opus, 48'000};

TEST_CASE("deferred decoding: decoded beside and after the run, a stream's track equals live decoding", "[sim]") {
  const auto packets = speech_packets();
  Playout live_playout({}, make_frame_decoder(opus));
  const Played live = play(live_playout, packets, nullptr);
  // The story reaches every kind of decoder call, and frames dropped to cut delay.
  CHECK(live.normal > 200);
  CHECK(live.fec > 0);
  CHECK(live.concealed > 0);
  CHECK(live.skipped > 0);
  CHECK(std::any_of(live.track.begin(), live.track.end(), [](int16_t s) { return s != 0; }));
  const auto calls = static_cast<std::size_t>(live.normal + live.fec + live.concealed + live.skipped);

  SECTION("all of it at the end") {
    auto log = std::make_shared<DecodeLog>(opus);
    Playout playout({}, std::make_unique<DeferredDecoder>(log));
    Played deferred = play(playout, packets, log);
    REQUIRE(deferred.track.size() == live.track.size());
    CHECK(std::all_of(deferred.track.begin(), deferred.track.end(), [](int16_t s) { return s == 0; }));
    CHECK(log->size() == calls);
    log->finish(deferred.track);
    CHECK(deferred.track == live.track);
  }
  SECTION("a helper thread decoding while the calls are noted, three legs at once") {
    BackgroundDecoding background;
    std::vector<std::shared_ptr<DecodeLog>> logs;
    std::vector<Played> legs;
    for (int leg = 0; leg < 3; ++leg) {
      logs.push_back(std::make_shared<DecodeLog>(opus));
      background.add(logs.back());
      Playout playout({}, std::make_unique<DeferredDecoder>(logs.back()));
      legs.push_back(play(playout, packets, logs.back()));
    }
    background.stop();
    for (int leg = 0; leg < 3; ++leg) {
      logs[leg]->finish(legs[leg].track);
      CHECK(legs[leg].track == live.track);
    }
  }
}

TEST_CASE("deferred decoding: a call that is not in the log's order is refused", "[sim]") {
  DecodeLog log(opus);
  log.add(PlayoutKind::normal, std::vector<uint8_t>{1, 2, 3});
  log.place_last(0);
  CHECK_THROWS(log.place_last(960));  // that call's frame was placed already
  log.add(PlayoutKind::concealed, {});
  CHECK_THROWS(log.place_last(100));  // not on a frame boundary
  std::vector<int16_t> track(960);
  log.place_last(960);
  CHECK_THROWS(log.finish(track));  // the second frame lies beyond the track
}

TEST_CASE("run_in_parallel runs every job once and rethrows the lowest failing index", "[sim]") {
  std::vector<std::atomic<int>> runs(1000);
  run_in_parallel(runs.size(), [&](std::size_t i) { runs[i].fetch_add(1); });
  CHECK(std::all_of(runs.begin(), runs.end(), [](const std::atomic<int>& r) { return r.load() == 1; }));

  run_in_parallel(0, [](std::size_t) { FAIL("no job to run"); });

  std::atomic<int> done{0};
  try {
    run_in_parallel(50, [&](std::size_t i) {
      done.fetch_add(1);
      if (i == 7 || i == 31) throw std::runtime_error("job " + std::to_string(i));
    });
    FAIL("a failing job must be reported");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "job 7");
  }
  CHECK(done.load() == 50);  // the others still ran
}
