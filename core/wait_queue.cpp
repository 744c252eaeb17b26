#include "core/wait_queue.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace hailer {

WaitQueue::WaitQueue(uint32_t max_waiters) : max_waiters_(max_waiters) { HAILER_ASSERT(max_waiters > 0); }

void WaitQueue::push(const Waiter& waiter) {
  HAILER_ASSERT(!full());
  HAILER_ASSERT(find(waiter.caller) == nullptr);
  HAILER_ASSERT(waiters_.empty() || waiters_.back().seq < waiter.seq);
  waiters_.push_back(waiter);
}

std::optional<Waiter> WaitQueue::remove(SessionId caller) {
  auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.caller == caller; });
  if (it == waiters_.end()) return std::nullopt;
  Waiter removed = *it;
  waiters_.erase(it);
  return removed;
}

Waiter* WaitQueue::find(SessionId caller) {
  auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.caller == caller; });
  return it == waiters_.end() ? nullptr : &*it;
}

Waiter* WaitQueue::notified() {
  auto it =
      std::find_if(waiters_.begin(), waiters_.end(), [](const Waiter& w) { return w.state == WaitState::notified; });
  return it == waiters_.end() ? nullptr : &*it;
}

const Waiter* WaitQueue::notified() const {
  auto it =
      std::find_if(waiters_.begin(), waiters_.end(), [](const Waiter& w) { return w.state == WaitState::notified; });
  return it == waiters_.end() ? nullptr : &*it;
}

uint32_t WaitQueue::position_of(SessionId caller) const {
  for (std::size_t i = 0; i < waiters_.size(); ++i) {
    if (waiters_[i].caller == caller) return static_cast<uint32_t>(i + 1);
  }
  return 0;
}

bool WaitQueue::first_eligible(SessionId caller) const {
  for (const Waiter& w : waiters_) {
    if (w.caller == caller) return true;
    if (w.state != WaitState::suspended) return false;
  }
  return false;
}

void WaitQueue::check_invariants() const {
  HAILER_ASSERT(waiters_.size() <= max_waiters_);
  int notified_count = 0;
  for (std::size_t i = 0; i < waiters_.size(); ++i) {
    const Waiter& w = waiters_[i];
    if (i > 0) HAILER_ASSERT(waiters_[i - 1].seq < w.seq);  // FIFO: enqueue order is queue order
    if (w.state == WaitState::notified) ++notified_count;
  }
  HAILER_ASSERT(notified_count <= 1);
}

}  // namespace hailer
