// When hailer-server gives freed heap back to the system. Bursts (a class of 1,000 joining:
// every join told to every member) free megabytes in the middle of the heap, which glibc keeps;
// malloc_trim returns them, but it walks the whole heap (milliseconds with a fragmented heap of
// a big class), and so does measuring what is free. Trimming on a clock stalled the event loop
// twice a second for as long as the class stayed (press -> grant p99 12 ms at 1,000 students),
// so the server trims once when a burst has ended, or once a crowd has left, and only then.
#pragma once

#include <cstdint>

namespace hailer {

/// Tuning of the schedule, per check period (hailer-server checks every 500 ms).
struct HeapTrimConfig {
  uint64_t burst_writes = 20'000;  ///< socket writes in one period that make it a burst
  uint64_t quiet_writes = 2'000;   ///< at most this many in a period: the burst has ended
  uint64_t left_sessions = 256;    ///< sessions gone since the last trim that are worth a trim
};

/// Decides, period by period, whether now is the time to trim. Pure: the caller passes counts.
class HeapTrimSchedule {
 public:
  /// A schedule with these thresholds.
  explicit HeapTrimSchedule(HeapTrimConfig config = {}) : config_(config) {}

  /// One period has passed: socket writes completed so far (a running total; completed, not
  /// queued, so a burst still draining to slow readers is not mistaken for quiet) and sessions
  /// open now. True when the caller should trim now.
  bool due(uint64_t writes_total, uint64_t sessions_open);

 private:
  HeapTrimConfig config_;
  uint64_t last_total_ = 0;
  uint64_t peak_sessions_ = 0;  // since the last trim
  bool pending_ = false;        // a burst or a departure happened since the last trim
};

}  // namespace hailer
