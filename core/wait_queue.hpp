// One callee's queue of waiting callers (call completion on busy: ETSI CCBS, Asterisk CCSS).
// Pure bookkeeping: FIFO order, positions and statuses; the core adds timers and notices.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "protocol/messages.hpp"

namespace hailer {

/// Where a waiter stands (CCBS: requested/active, caller_busy, callee_ready/recalling).
enum class WaitState : uint8_t {
  queued,     ///< waiting for the callee to become free
  suspended,  ///< its turn came while it was busy: skipped, served once both are free
  notified,   ///< holds the exclusive recall window (at most one per queue)
};

/// A caller waiting for one callee. Its expiry and recall-window deadlines live in the core's
/// timer table, keyed by the caller.
struct Waiter {
  SessionId caller;
  uint64_t seq = 0;           ///< enqueue order, increasing along the queue
  bool auto_connect = false;  ///< camp-on: ring the callee for the waiter when it frees
  WaitState state = WaitState::queued;
  uint32_t told_position = 0;  ///< last position told to the waiter, to re-tell only changes
};

/// FIFO of waiters on one callee, bounded; at most one waiter notified at a time.
class WaitQueue {
 public:
  /// An empty queue holding at most `max_waiters`.
  explicit WaitQueue(uint32_t max_waiters);

  /// True when no more waiters fit.
  bool full() const { return waiters_.size() >= max_waiters_; }
  /// True when nobody waits.
  bool empty() const { return waiters_.empty(); }
  /// Number of waiters, suspended ones included.
  uint32_t size() const { return static_cast<uint32_t>(waiters_.size()); }

  /// Appends a waiter; the caller must not be in the queue and the queue must not be full.
  void push(const Waiter& waiter);
  /// Removes `caller`; returns the removed entry, or nothing when absent.
  std::optional<Waiter> remove(SessionId caller);
  /// The entry of `caller`, or null.
  Waiter* find(SessionId caller);
  /// The notified waiter (holding the recall window), or null.
  Waiter* notified();
  /// The notified waiter (read-only), or null.
  const Waiter* notified() const;
  /// 1-based position of `caller` (suspended waiters count), 0 when absent.
  uint32_t position_of(SessionId caller) const;
  /// The waiters in FIFO order.
  std::vector<Waiter>& waiters() { return waiters_; }
  /// The waiters in FIFO order (read-only).
  const std::vector<Waiter>& waiters() const { return waiters_; }

  /// True when every waiter ahead of `caller` is suspended: only then may it be woken (FIFO).
  bool first_eligible(SessionId caller) const;

  /// Asserts FIFO order, no duplicates and at most one notified waiter.
  void check_invariants() const;

 private:
  uint32_t max_waiters_;
  std::vector<Waiter> waiters_;
};

}  // namespace hailer
