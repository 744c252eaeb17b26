#include "host/relay.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "base/assert.hpp"
#include "base/secret.hpp"

namespace hailer {

namespace {
std::string_view bytes_of(const RelayLegId& id) { return {reinterpret_cast<const char*>(id.data()), id.size()}; }
}  // namespace

Relay::Relay(RelayLimits limits) : limits_(limits) {
  HAILER_ASSERT(limits_.max_calls > 0);
  HAILER_ASSERT(valid(limits_.per_leg));
}

uint64_t Relay::index_of(const RelayLegId& id) {
  uint64_t v = 0;
  std::memcpy(&v, id.data(), sizeof v);
  return v;
}

bool Relay::open(uint64_t call_id, const RelayLegId& a, SessionId session_a, const RelayLegId& b, SessionId session_b) {
  HAILER_ASSERT(!calls_.contains(call_id));
  HAILER_ASSERT(a != b);
  if (calls_.size() >= limits_.max_calls) return false;
  // Two live legs sharing their first 64 random bits: 2^-64 a pair; refused rather than mixed up.
  if (legs_.contains(index_of(a)) || legs_.contains(index_of(b)) || index_of(a) == index_of(b)) return false;
  legs_.emplace(index_of(a), Leg{a, b, call_id, session_a, std::nullopt, TokenBucket(limits_.per_leg)});
  legs_.emplace(index_of(b), Leg{b, a, call_id, session_b, std::nullopt, TokenBucket(limits_.per_leg)});
  calls_.emplace(call_id, std::array<RelayLegId, 2>{a, b});
  HAILER_ASSERT(legs_.size() == 2 * calls_.size());
  return true;
}

void Relay::close(uint64_t call_id) {
  const auto it = calls_.find(call_id);
  if (it == calls_.end()) return;
  for (const RelayLegId& leg : it->second) legs_.erase(index_of(leg));
  calls_.erase(it);
  HAILER_ASSERT(legs_.size() == 2 * calls_.size());
}

Relay::Leg* Relay::find(const RelayLegId& id) {
  const auto it = legs_.find(index_of(id));
  if (it == legs_.end() || !constant_time_equal(bytes_of(it->second.id), bytes_of(id))) return nullptr;
  return &it->second;
}

RelayVerdict Relay::drop(RelayDrop why, const Leg* leg) {
  ++stats_.dropped[static_cast<std::size_t>(why)];
  RelayVerdict v;
  v.drop = why;
  if (leg != nullptr) {
    v.call_id = leg->call_id;
    v.sender = leg->session;
  }
  return v;
}

RelayVerdict Relay::receive(Time now, const MediaEndpoint& from, std::span<uint8_t> datagram) {
  if (datagram.size() < relay_header_bytes || datagram[0] != relay_marker || datagram[1] != relay_version)
    return drop(RelayDrop::malformed, nullptr);
  RelayLegId id{};
  std::copy_n(datagram.begin() + 2, id.size(), id.begin());
  Leg* leg = find(id);
  if (leg == nullptr) return drop(RelayDrop::unknown_leg, nullptr);
  // The size before the rate: an oversized packet costs its sender nothing of its budget.
  if (datagram.size() > relay_max_datagram_bytes) return drop(RelayDrop::oversized, leg);
  if (!leg->bucket.take(now)) return drop(RelayDrop::too_fast, leg);
  // Only a packet that passed the checks moves the binding: a flood cannot steer the path.
  if (leg->bound != from) {
    if (leg->bound) ++stats_.rebinds;
    leg->bound = from;
  }
  Leg* peer = find(leg->peer);
  HAILER_ASSERT(peer != nullptr && peer->call_id == leg->call_id);
  if (!peer->bound) return drop(RelayDrop::peer_unbound, leg);
  std::copy(peer->id.begin(), peer->id.end(), datagram.begin() + 2);  // the recipient's id, never the sender's
  ++stats_.forwarded;
  RelayVerdict v;
  v.to = *peer->bound;
  v.call_id = leg->call_id;
  v.sender = leg->session;
  return v;
}

void Relay::check_invariants() const {
  HAILER_ASSERT(legs_.size() == 2 * calls_.size());
  HAILER_ASSERT(calls_.size() <= limits_.max_calls);
  for (const auto& [call_id, ids] : calls_) {
    const Leg& a = legs_.at(index_of(ids[0]));
    const Leg& b = legs_.at(index_of(ids[1]));
    HAILER_ASSERT(a.call_id == call_id && b.call_id == call_id);
    HAILER_ASSERT(a.peer == b.id && b.peer == a.id);
  }
}

}  // namespace hailer
