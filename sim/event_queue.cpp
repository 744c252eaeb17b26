#include "sim/event_queue.hpp"

#include "base/assert.hpp"

namespace hailer::sim {

void EventQueue::at(Time at, Action action) {
  HAILER_ASSERT(at >= now_);
  HAILER_ASSERT(items_.size() < 10'000'000);  // a runaway scenario, not a workload
  items_.emplace(std::make_pair(at, next_seq_++), std::move(action));
}

bool EventQueue::step() {
  if (items_.empty()) return false;
  auto node = items_.extract(items_.begin());
  now_ = node.key().first;
  ++executed_;
  node.mapped()();
  return true;
}

std::optional<Time> EventQueue::next_time() const {
  if (items_.empty()) return std::nullopt;
  return items_.begin()->first.first;
}

}  // namespace hailer::sim
