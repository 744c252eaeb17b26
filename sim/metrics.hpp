// The named values of a run: what report.json prints under "core", "host", "notify_latency"
// and "reply_rtt", and what a metric expectation can bound. One list, so the two agree.
#pragma once

#include "host/counters.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/core.hpp"
#include "host/server_host.hpp"

namespace hailer::sim {

struct RunResult;

/// The statistics of a latency distribution: count, p50_ms, p95_ms, max_ms.
const std::vector<std::string>& latency_stat_names();

/// The names of report.json's "media" values: srtp_forged, srtp_replayed, srtp_truncated,
/// safety_matches, safety_mismatches.
const std::vector<std::string>& media_counter_names();
/// The names of report.json's "attack" values: tapped, injected, injected_played, replayed,
/// replayed_played, keys_swapped, opened, heard_frames, heard_correlation.
const std::vector<std::string>& attack_counter_names();

/// True when `path` names a value a metric expectation can bound: core.<counter>,
/// host.<counter>, media.<name>, attack.<name>, notify_latency.<notice type>.<stat>, reply_rtt.<stat>.
bool metric_known(const std::string& path);
/// The value at `path` for a run; nothing when the run has none (a notice type never seen).
std::optional<double> metric_value(const RunResult& run, const std::string& path);

}  // namespace hailer::sim
