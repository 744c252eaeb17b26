// The core's and the host's counters as named values: one list for reports, logs and metrics.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "host/server_host.hpp"

namespace hailer {

/// Named counter values, in a fixed order.
using Counters = std::vector<std::pair<std::string, uint64_t>>;

/// The core's counters as (name, value), in report order; closes appear as "closed.<reason>".
Counters core_counters(const CoreStats& stats);
/// The host's and the speaker's counters as (name, value), in report order.
Counters host_counters(const HostStats& host, const SpeakerStats& speaker);

}  // namespace hailer
