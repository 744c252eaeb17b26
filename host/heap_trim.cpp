#include "host/heap_trim.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace hailer {

bool HeapTrimSchedule::due(uint64_t writes_total, uint64_t sessions_open) {
  HAILER_ASSERT(writes_total >= last_total_);  // a running total never goes back
  const uint64_t sent = writes_total - last_total_;
  last_total_ = writes_total;
  peak_sessions_ = std::max(peak_sessions_, sessions_open);
  if (sent >= config_.burst_writes) pending_ = true;
  if (peak_sessions_ >= sessions_open + config_.left_sessions) pending_ = true;
  // Never in the middle of traffic: the walk would stall whoever is waiting for the loop.
  if (!pending_ || sent > config_.quiet_writes) return false;
  pending_ = false;
  peak_sessions_ = sessions_open;
  return true;
}

}  // namespace hailer
