#include "core/floor.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace hailer {

Floor::Floor(FloorPolicy policy, uint32_t max_queue) : policy_(policy), max_queue_(max_queue) {
  HAILER_ASSERT(max_queue > 0);
}

uint32_t Floor::position_of(SessionId who) const {
  auto it = std::find(queue_.begin(), queue_.end(), who);
  return it == queue_.end() ? 0 : static_cast<uint32_t>(it - queue_.begin()) + 1;
}

Floor::PressOutcome Floor::press(SessionId who) {
  if (holder_ == who) return {PressResult::already_holder, 0};
  if (!holder_) {
    HAILER_ASSERT(queue_.empty());  // a queue never outlives its holder: release grants the head
    holder_ = who;
    return {PressResult::granted, 0};
  }
  if (policy_ == FloorPolicy::deny) return {PressResult::denied_taken, 0};
  if (const uint32_t pos = position_of(who); pos != 0) return {PressResult::queued, pos};
  if (queue_.size() >= max_queue_) return {PressResult::denied_queue_full, 0};
  queue_.push_back(who);
  return {PressResult::queued, static_cast<uint32_t>(queue_.size())};
}

Floor::ReleaseOutcome Floor::release(SessionId who) {
  ReleaseOutcome out;
  if (holder_ == who) {
    out.was_holder = true;
    holder_.reset();
    if (!queue_.empty()) {
      holder_ = queue_.front();
      queue_.erase(queue_.begin());
      out.granted = holder_;
    }
  } else if (auto it = std::find(queue_.begin(), queue_.end(), who); it != queue_.end()) {
    out.was_queued = true;
    queue_.erase(it);
  }
  check_invariants();
  return out;
}

void Floor::hand_to(SessionId who) {
  const auto it = std::find(queue_.begin(), queue_.end(), who);
  HAILER_ASSERT(it != queue_.end());
  queue_.erase(it);
  holder_ = who;
  check_invariants();
}

std::vector<SessionId> Floor::set_policy(FloorPolicy policy) {
  policy_ = policy;
  std::vector<SessionId> dropped;
  if (policy == FloorPolicy::deny) dropped.swap(queue_);
  return dropped;
}

void Floor::check_invariants() const {
  HAILER_ASSERT(queue_.size() <= max_queue_);
  HAILER_ASSERT(!holder_ ? queue_.empty() : true);
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    HAILER_ASSERT(queue_[i] != holder_);
    for (std::size_t k = i + 1; k < queue_.size(); ++k) HAILER_ASSERT(queue_[i] != queue_[k]);
  }
  if (policy_ == FloorPolicy::deny) HAILER_ASSERT(queue_.empty());
}

}  // namespace hailer
