// The core's timers as data: at most one deadline per (kind, key), armed with set() and
// disarmed with stop(), popped in deadline order. No sentinel times: a timer is armed or not.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/time.hpp"

namespace hailer {

/// What a timer is for; the key says whose (a session, a call, a room).
enum class TimerKind : uint8_t { heartbeat, ring, wait_expiry, recall_window, floor };

/// A timer's identity.
struct TimerId {
  TimerKind kind = TimerKind::heartbeat;
  uint64_t key = 0;
  auto operator<=>(const TimerId&) const = default;
};

/// Hash of a timer's identity, for the lookup index (its order never reaches an output).
struct TimerIdHash {
  std::size_t operator()(TimerId id) const noexcept {
    return std::hash<uint64_t>{}(id.key * 8 + static_cast<uint64_t>(id.kind));
  }
};

/// Deadlines by identity, ordered by time (then identity, so equal times pop deterministically).
class TimerTable {
 public:
  /// Arms `id` at `at`, replacing its earlier deadline if it had one.
  void set(TimerId id, Time at);
  /// Disarms `id`; nothing happens when it is not armed.
  void stop(TimerId id);
  /// The deadline of `id`, if armed.
  std::optional<Time> deadline(TimerId id) const;
  /// True when `id` is armed.
  bool armed(TimerId id) const { return by_id_.contains(id); }
  /// The earliest deadline of all, if any.
  std::optional<Time> next() const;
  /// Disarms and returns the earliest timer due at or before `now`, if any.
  std::optional<TimerId> pop_due(Time now);
  /// Number of armed timers.
  std::size_t size() const { return by_id_.size(); }

  /// Asserts that both indexes agree.
  void check_invariants() const;

 private:
  // by_id_ is only looked up (a hash: arming and stopping are per-call work); by_time_ alone
  // decides the order timers fire in.
  using ById = std::unordered_map<TimerId, Time, TimerIdHash>;
  using ByTime = std::set<std::pair<Time, TimerId>>;
  ById by_id_;
  ByTime by_time_;
  // Nodes of stopped or fired timers, reused by the next set(): a ring timer per call would
  // otherwise cost two allocations and two frees. Bounded (spare_limit): a burst's nodes go back.
  static constexpr std::size_t spare_limit = 64;
  std::vector<ById::node_type> spare_ids_;
  std::vector<ByTime::node_type> spare_times_;
  void retire(ById::node_type id_node, ByTime::node_type time_node);
};

}  // namespace hailer
