#include "sim/network.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace hailer::sim {

namespace {
std::string key(const std::string& from, const std::string& to) { return from + ">" + to; }

bool same_group(const std::vector<std::set<std::string>>& groups, const std::string& a, const std::string& b) {
  for (const auto& g : groups) {
    if (g.contains(a) && g.contains(b)) return true;
  }
  // Nodes named in no group are on their own side: cut from everyone named.
  const bool a_named = std::any_of(groups.begin(), groups.end(), [&](const auto& g) { return g.contains(a); });
  const bool b_named = std::any_of(groups.begin(), groups.end(), [&](const auto& g) { return g.contains(b); });
  return !a_named && !b_named;
}
}  // namespace

Network::Network(uint64_t seed, LinkProfile default_profile) : seed_(seed), default_(default_profile) {}

void Network::set_link(const std::string& a, const std::string& b, const LinkProfile& profile) {
  overrides_[key(a, b)] = profile;
  overrides_[key(b, a)] = profile;
  directions_.erase(key(a, b));  // re-created with the new profile, same seed: deterministic
  directions_.erase(key(b, a));
}

void Network::partition(std::vector<std::set<std::string>> groups, Time from, Time until) {
  HAILER_ASSERT(from <= until && !groups.empty());
  holds_.push_back(Hold{std::move(groups), "", from, until});
}

void Network::stall(const std::string& node, Time from, Time until) {
  HAILER_ASSERT(from <= until);
  holds_.push_back(Hold{{}, node, from, until});
}

Network::Direction& Network::direction(const std::string& from, const std::string& to) {
  const std::string k = key(from, to);
  auto it = directions_.find(k);
  if (it == directions_.end()) {
    auto o = overrides_.find(k);
    it = directions_
             .emplace(k, Direction{o == overrides_.end() ? default_ : o->second, Prng(derive_seed(seed_, k)), false})
             .first;
  }
  return it->second;
}

bool Network::lose(Direction& d) {
  const LossModel& m = d.profile.loss;
  if (d.bad_state) {
    if (d.rng.unit() < m.burst_exit) d.bad_state = false;
  } else if (m.burst_enter > 0 && d.rng.unit() < m.burst_enter) {
    d.bad_state = true;
  }
  const double p = d.bad_state ? m.burst_loss : m.random;
  return p > 0 && d.rng.unit() < p;
}

Time Network::delay(Direction& d, Time now) {
  const int64_t jitter_us = d.profile.jitter_ms > 0 ? d.rng.between(0, d.profile.jitter_ms * 1000) : 0;
  return now + Duration::from_ms(d.profile.latency_ms) + Duration{jitter_us};
}

std::optional<Time> Network::held_until(Time now, const std::string& from, const std::string& to) const {
  std::optional<Time> until;
  for (const Hold& h : holds_) {
    if (now < h.from || now >= h.until) continue;
    const bool applies = h.groups.empty() ? (h.node == from || h.node == to) : !same_group(h.groups, from, to);
    if (applies) until = std::max(until.value_or(h.until), h.until);
  }
  return until;
}

std::vector<Time> Network::datagram(Time now, const std::string& from, const std::string& to) {
  Direction& d = direction(from, to);
  LinkCounters& c = counters_[key(from, to)];
  ++c.datagrams;
  const bool cut = held_until(now, from, to).has_value();
  if (lose(d) || cut) {
    ++c.lost;
    return {};
  }
  Time arrival = delay(d, now);
  if (d.profile.reorder > 0 && d.rng.unit() < d.profile.reorder)
    arrival = arrival + Duration::from_ms(d.profile.reorder_delay_ms);
  std::vector<Time> out{arrival};
  if (d.profile.duplicate > 0 && d.rng.unit() < d.profile.duplicate) {
    ++c.duplicated;
    out.push_back(arrival + Duration::from_ms(1));
  }
  return out;
}

Time Network::stream(Time now, const std::string& from, const std::string& to, uint64_t stream_id) {
  Direction& d = direction(from, to);
  LinkCounters& c = counters_[key(from, to)];
  ++c.segments;
  Time sent = now;
  if (auto held = held_until(now, from, to)) sent = *held;  // waits out the partition or stall
  Time arrival = delay(d, sent);
  for (int tries = 0; tries < 8 && lose(d); ++tries) {  // each loss costs a retransmission timeout
    ++c.retransmitted;
    arrival = arrival + Duration::from_ms(d.profile.retransmit_ms);
  }
  Time& tail = stream_tail_[{stream_id, key(from, to)}];
  arrival = std::max(arrival, tail);  // in order: never overtakes an earlier segment
  tail = arrival;
  return arrival;
}

}  // namespace hailer::sim
