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
  HAILER_ASSERT(a != b && session_a != session_b);
  if (calls_.size() >= limits_.max_calls) return false;
  // Two live legs sharing their first 64 random bits: 2^-64 a pair; refused rather than mixed up.
  if (legs_.contains(index_of(a)) || legs_.contains(index_of(b)) || index_of(a) == index_of(b)) return false;
  legs_.emplace(index_of(a), Leg{a, b, call_id, session_a, Leg::Path::fresh, {}, TokenBucket(limits_.per_leg)});
  legs_.emplace(index_of(b), Leg{b, a, call_id, session_b, Leg::Path::fresh, {}, TokenBucket(limits_.per_leg)});
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

RelayHop Relay::hop_of(const Leg& leg) {
  RelayHop hop;
  hop.tunnel = leg.path != Leg::Path::udp;
  if (hop.tunnel)
    hop.session = leg.session;
  else
    hop.udp = leg.udp;
  return hop;
}

// Only a packet that passed the checks moves a leg: a flood cannot steer the path. A binding
// packet is a probe of the UDP path, answered where it came from: it moves a leg that is fresh or
// on UDP already (a NAT rebinding), never one whose packets come over its tunnel (a probe that
// gets out but whose answers cannot come back must not take the leg's audio with it).
void Relay::move(Leg& leg, const RelayHop& from, bool binding) {
  using Path = Leg::Path;
  if (from.tunnel) {
    if (binding || leg.path == Path::tunnel) return;
    if (leg.path == Path::udp) ++stats_.rebinds;
    leg.path = Path::tunnel;
    return;
  }
  if (binding && leg.path == Path::tunnel) return;
  if (leg.path == Path::udp && leg.udp == from.udp) return;
  if (leg.path != Path::fresh) ++stats_.rebinds;
  leg.path = Path::udp;
  leg.udp = from.udp;
}

RelayVerdict Relay::receive(Time now, const RelayHop& from, std::span<uint8_t> datagram) {
  if (datagram.size() < relay_header_bytes || datagram[0] != relay_marker || datagram[1] != relay_version)
    return drop(RelayDrop::malformed, nullptr);
  RelayLegId id{};
  std::copy_n(datagram.begin() + 2, id.size(), id.begin());
  Leg* leg = find(id);
  // A session's tunnel speaks for its own legs only: another session's leg there is no leg at all.
  if (leg == nullptr || (from.tunnel && from.session != leg->session)) return drop(RelayDrop::unknown_leg, nullptr);
  // The size before the rate: an oversized packet costs its sender nothing of its budget.
  if (datagram.size() > relay_max_datagram_bytes) return drop(RelayDrop::oversized, leg);
  if (!leg->bucket.take(now)) return drop(RelayDrop::too_fast, leg);
  const bool binding = is_relay_binding(datagram);  // the header checked above: its size says it
  move(*leg, from, binding);
  RelayVerdict v;
  v.call_id = leg->call_id;
  v.sender = leg->session;
  if (binding) {
    // Back as it came, to where it came from (the same size: nothing to amplify).
    ++stats_.answered;
    v.answer = true;
    v.to = from;
    HAILER_ASSERT(!from.tunnel || from.session == leg->session);
    return v;
  }
  Leg* peer = find(leg->peer);
  HAILER_ASSERT(peer != nullptr && peer->call_id == leg->call_id);
  std::copy(peer->id.begin(), peer->id.end(), datagram.begin() + 2);  // the recipient's id, never the sender's
  ++stats_.forwarded;
  v.to = hop_of(*peer);
  HAILER_ASSERT(v.to.tunnel ? v.to.session == peer->session : v.to.udp == peer->udp);
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
    HAILER_ASSERT(a.session != b.session);
  }
}

}  // namespace hailer
