#include "core/timer_table.hpp"

#include "base/assert.hpp"

namespace hailer {

void TimerTable::set(TimerId id, Time at) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    if (spare_ids_.empty()) {
      by_id_.emplace(id, at);
      by_time_.insert({at, id});
    } else {  // a retired timer's nodes: no allocation
      auto id_node = std::move(spare_ids_.back());
      auto time_node = std::move(spare_times_.back());
      spare_ids_.pop_back();
      spare_times_.pop_back();
      id_node.key() = id;
      id_node.mapped() = at;
      time_node.value() = {at, id};
      by_id_.insert(std::move(id_node));
      by_time_.insert(std::move(time_node));
    }
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
  auto time_node = by_time_.extract({it->second, id});
  HAILER_ASSERT(!time_node.empty());
  retire(by_id_.extract(it), std::move(time_node));
}

void TimerTable::retire(ById::node_type id_node, ByTime::node_type time_node) {
  HAILER_ASSERT(spare_ids_.size() == spare_times_.size());
  if (spare_ids_.size() >= spare_limit) return;  // freed with the handles
  spare_ids_.push_back(std::move(id_node));
  spare_times_.push_back(std::move(time_node));
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
  auto time_node = by_time_.extract(by_time_.begin());
  retire(by_id_.extract(id), std::move(time_node));
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
