// Runs one scenario and judges it: expectations, invariants, and per-stream audio metrics
// (loss, jitter, mouth-to-ear delay, E-model R and MOS, similarity to what was spoken).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/core.hpp"
#include "host/server_host.hpp"
#include "media/stream_stats.hpp"
#include "sim/audio_sources.hpp"
#include "sim/scenario.hpp"
#include "sim/streams.hpp"

namespace hailer::sim {

/// The verdict on one expectation.
struct ExpectationResult {
  std::size_t index = 0;
  std::string text;
  bool passed = false;
  std::string detail;
  std::optional<int64_t> latency_us;  ///< notice time - cause time, when both are known
};

/// Measurements of one audio stream.
struct StreamResult {
  std::string from;
  std::string to;
  int64_t started_ms = 0;
  StreamStats stats;
  uint64_t dropped_foreign = 0;
  uint64_t frames_held = 0;  ///< spoken with no path to the peer: never sent
  std::string path;          ///< calls: the sender's path at the end (direct, relay, tunnel; none)
  uint64_t packets_direct = 0, packets_relay = 0, packets_tunnel = 0, path_switches = 0;
  int64_t first_audio_ms = -1;  ///< from the stream's start to its first played frame; -1: none
  double m2e_mean_ms = 0, m2e_p50_ms = 0, m2e_p95_ms = 0, m2e_max_ms = 0;
  std::optional<double> correlation;  ///< nothing when it cannot be measured (see unmeasurable)
  std::string unmeasurable;           ///< why the correlation cannot be measured
  int64_t lag_ms = 0;
  double burst_ratio = 1;
  double r = 0;
  double mos = 1;
  std::vector<int64_t> concealed_at_ms;
  std::size_t sent_ms = 0;
  std::size_t received_ms = 0;
  std::vector<int16_t> sent;      ///< what was spoken, 48 kHz mono
  std::vector<int16_t> received;  ///< what was heard, 48 kHz mono
  bool received_silent = false;   ///< nothing audible was heard (then no correlation can be measured)
};

/// A turn the server recorded.
struct RecordingResult {
  std::string file;
  std::string room;
  int64_t duration_ms = 0;
  int64_t audio_ms = 0;
  std::vector<int16_t> pcm;
};

/// Everything one run produced.
struct RunResult {
  std::string scenario;
  std::string source;
  uint64_t seed = 0;
  int64_t duration_ms = 0;
  bool passed = false;
  std::string failure;  ///< an invariant or a setup error, with the virtual time
  std::vector<ExpectationResult> expectations;
  std::vector<StreamResult> streams;
  std::vector<RecordingResult> recordings;
  /// Per notice type: how long after its cause each notice was read (a request's send time, a
  /// timer's deadline, a peer's close), whatever the expectations ask.
  std::map<std::string, std::vector<int64_t>> notice_latency_us;
  std::vector<int64_t> reply_rtt_us;
  std::size_t notices = 0;
  uint64_t events = 0;
  CoreStats core;
  HostStats host;
  SpeakerStats speaker;
  std::vector<LoggedMessage> messages;  ///< the wire, as the server handled it
  /// Calls media security, report.json's "media": SRTP refusals summed over the users, and the
  /// calls whose two safety numbers matched or differed (media_counter_names() order).
  std::vector<std::pair<std::string, uint64_t>> media;
  /// What the attacker did (attack_counter_names() order; all zero without one).
  std::vector<std::pair<std::string, double>> attack;
};

struct MediaCache;

/// Runs `scenario`; never throws for a scenario's own failure (it is in the result), only
/// FixtureError for a missing fixture. A shared `cache` saves decoding and encoding the same
/// audio sources again in later runs.
RunResult run_scenario(const Scenario& scenario, const std::string& source, const std::string& fixtures_dir,
                       const std::function<void(double)>& progress = {}, MediaCache* cache = nullptr);

/// The p-th percentile (0..100) of values, nearest-rank; 0 for none.
double percentile(std::vector<int64_t> values, double p);

}  // namespace hailer::sim
