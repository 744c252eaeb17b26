#include "timer_table.hpp"

#include "assert.hpp"

namespace hailer {

void TimerTable::set(TimerId id, Time at) {
  auto [it, inserted] = by_id_.try_emplace(id, at);
  if (inserted) {
    by_time_.insert({at, id});
  } else if (it->second != at) {  // re-armed: the same node moves to its new place, no allocation
    auto node = by_time_.extract({it->second, id});
    HAILER_ASSERT(!node.empty());
    node.value().first = at;
    by_time_.insert(std::move(node));
    it->second = at;
  }
  HAILER_ASSERT(by_id_.size() == by_time_.size());
}

void TimerTable::stop(TimerId id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  by_time_.erase({it->second, id});
  by_id_.erase(it);
}

std::optional<Time> TimerTable::deadline(TimerId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? std::nullopt : std::optional<Time>(it->second);
}

std::optional<Time> TimerTable::next() const {
  return by_time_.empty() ? std::nullopt : std::optional<Time>(by_time_.begin()->first);
}

std::optional<TimerId> TimerTable::pop_due(Time now) {
  if (by_time_.empty() || by_time_.begin()->first > now) return std::nullopt;
  const TimerId id = by_time_.begin()->second;
  by_time_.erase(by_time_.begin());
  by_id_.erase(id);
  return id;
}

void TimerTable::check_invariants() const {
  HAILER_ASSERT(by_id_.size() == by_time_.size());
  for (const auto& [at, id] : by_time_) {
    auto it = by_id_.find(id);
    HAILER_ASSERT(it != by_id_.end() && it->second == at);
  }
}

}  // namespace hailer
