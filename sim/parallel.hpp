// Runs independent jobs on the machine's cores. The simulator uses it only for work whose
// result cannot depend on the order it runs in (one stream's decoding, one source's encoding),
// so a run stays a function of its seed and scenario.
#pragma once

#include <cstddef>
#include <functional>

namespace hailer::sim {

/// The most threads run_in_parallel starts: a bound, whatever the machine reports.
inline constexpr unsigned max_parallel_threads = 16;

/// Calls `job(i)` once for every i in [0, count), on up to min(count, cores) threads, and
/// returns when all are done. If jobs throw, the exception of the lowest index is rethrown.
void run_in_parallel(std::size_t count, const std::function<void(std::size_t)>& job);

}  // namespace hailer::sim
