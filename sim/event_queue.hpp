// The simulator's virtual clock and its single event queue, ordered by (time, insertion order).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "base/time.hpp"

namespace hailer::sim {

/// A virtual clock plus the actions scheduled on it. Equal times run in insertion order, so a
/// run depends only on the seed and the scenario.
class EventQueue {
 public:
  /// Something to do at a point in virtual time.
  using Action = std::function<void()>;

  /// Schedules `action` at `at` (never in the past).
  void at(Time at, Action action);
  /// Schedules `action` `delay` from now.
  void after(Duration delay, Action action) { at(now_ + delay, std::move(action)); }
  /// Runs the earliest action, advancing the clock to it; false when nothing is left.
  bool step();
  /// The current virtual time.
  Time now() const { return now_; }
  /// The time of the earliest pending action, if any.
  std::optional<Time> next_time() const;
  /// Actions waiting.
  std::size_t pending() const { return items_.size(); }
  /// Actions run so far.
  uint64_t executed() const { return executed_; }

 private:
  std::map<std::pair<Time, uint64_t>, Action> items_;
  Time now_{0};
  uint64_t next_seq_ = 0;
  uint64_t executed_ = 0;
};

}  // namespace hailer::sim
