// Floor arbitration for one PTT room (3GPP MCPTT TS 24.380, simplified): who holds the floor and
// who waits. Pure bookkeeping with no time and no messages; the core adds timers and notices.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/config.hpp"
#include "protocol/messages.hpp"

namespace hailer {

/// One room's floor: at most one holder, then a FIFO of requests under the queue policy.
class Floor {
 public:
  /// What a press did.
  enum class PressResult : uint8_t { granted, queued, denied_taken, denied_queue_full, already_holder };

  /// Result of a press, with the queue position when queued (1 = next).
  struct PressOutcome {
    PressResult result = PressResult::granted;
    uint32_t position = 0;
  };

  /// What a release or removal did; `granted` is the queued member who now holds the floor.
  struct ReleaseOutcome {
    bool was_holder = false;
    bool was_queued = false;
    std::optional<SessionId> granted;
  };

  /// An idle floor with the given policy and queue bound.
  Floor(FloorPolicy policy, uint32_t max_queue);

  /// A floor request: granted when idle; otherwise queued or denied by the policy. A repeat
  /// request from a queued member returns its position; from the holder, already_holder.
  PressOutcome press(SessionId who);

  /// Removes `who` as holder (the queue head then holds the floor) or from the queue.
  ReleaseOutcome release(SessionId who);

  /// Makes the queued `who` the holder at once, out of turn (an instructor's grant); the holder
  /// it replaces, if any, is simply no longer the holder.
  void hand_to(SessionId who);

  /// Changes the policy; switching to deny empties the queue and returns who was in it.
  std::vector<SessionId> set_policy(FloorPolicy policy);

  /// The current holder, if any.
  std::optional<SessionId> holder() const { return holder_; }
  /// The queued requests, head first.
  const std::vector<SessionId>& queue() const { return queue_; }
  /// The contention policy.
  FloorPolicy policy() const { return policy_; }
  /// 1-based queue position of `who`, or 0 when not queued.
  uint32_t position_of(SessionId who) const;

  /// Asserts the floor's invariants (holder not queued, no duplicates, bounded queue).
  void check_invariants() const;

 private:
  FloorPolicy policy_;
  uint32_t max_queue_;
  std::optional<SessionId> holder_;
  std::vector<SessionId> queue_;
};

}  // namespace hailer
