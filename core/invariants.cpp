// Core::check_invariants: every cross-structure fact the core relies on, asserted.
// Tests call it after each event; a failure is a bug in the core, never a peer's fault.
#include <algorithm>
#include <map>

#include "base/assert.hpp"
#include "core/core.hpp"
#include "protocol/names.hpp"

namespace hailer {

void Core::check_invariants() const {
  HAILER_ASSERT(!dropping_);  // between events nobody is half dropped
  timers_.check_invariants();
  check_session_invariants();
  check_call_invariants();
  const std::size_t holders = check_room_invariants();
  check_timer_invariants(holders);
}

void Core::check_session_invariants() const {
  HAILER_ASSERT(sessions_.size() <= config_.max_sessions);
  std::size_t registered = 0;
  std::size_t with_token = 0;
  for (const auto& [id, s] : sessions_) {
    HAILER_ASSERT(s.id == id);
    HAILER_ASSERT(*s.seen_at == id);
    if (!s.face) continue;
    ++registered;
    HAILER_ASSERT(valid_name(s.name) && s.key == name_key(s.name) && names_.at(s.key) == id);
    HAILER_ASSERT(skeletons_.at(name_skeleton(s.name)) == id);
    if (s.face == Face::calls) {
      ++with_token;
      HAILER_ASSERT(s.media_id && tokens_.at(*s.media_id) == id && s.probe_budget);
      if (s.call) {  // a user is in at most one call, and that call names it
        const Call& c = calls_.at(*s.call);
        HAILER_ASSERT(c.caller == id || c.callee == id);
      }
      if (s.waiting_on) {
        HAILER_ASSERT(*s.waiting_on != id);
        HAILER_ASSERT(queues_.at(*s.waiting_on).position_of(id) != 0);
      }
    } else {
      HAILER_ASSERT(!s.media_id && !s.call && !s.waiting_on);
      const Room& room = rooms_.at(s.room);
      HAILER_ASSERT(std::find(room.members.begin(), room.members.end(), id) != room.members.end());
    }
  }
  HAILER_ASSERT(names_.size() == registered);
  HAILER_ASSERT(skeletons_.size() == names_.size());             // one skeleton per name in use
  HAILER_ASSERT(account_skeletons_.size() == accounts_.size());  // one skeleton per owned name
  for (const auto& [key, owned] : accounts_) HAILER_ASSERT(!owned.keys.empty() && name_key(owned.name) == key);
  HAILER_ASSERT(tokens_.size() == with_token);
}

void Core::check_call_invariants() const {
  std::map<SessionId, int> queue_memberships;
  for (const auto& [call_id, c] : calls_) {
    HAILER_ASSERT(c.caller != c.callee);
    HAILER_ASSERT(session(c.caller).call == call_id && session(c.callee).call == call_id);
    HAILER_ASSERT(timers_.armed({TimerKind::ring, call_id}) == (c.state == CallState::ringing));
  }

  for (const auto& [callee_id, queue] : queues_) {
    queue.check_invariants();
    HAILER_ASSERT(!queue.empty());
    const Session& callee = session(callee_id);
    HAILER_ASSERT(callee.face == Face::calls);
    // Nobody waits in vain: a free callee without a window holder has only busy waiters.
    if (!is_busy(callee) && queue.notified() == nullptr) {
      for (const Waiter& w : queue.waiters()) HAILER_ASSERT(is_busy(session(w.caller)));
    }
    for (const Waiter& w : queue.waiters()) {
      ++queue_memberships[w.caller];
      const Session& caller = session(w.caller);
      HAILER_ASSERT(caller.waiting_on == callee_id);
      HAILER_ASSERT(timers_.armed({TimerKind::wait_expiry, w.caller.value}));
      const bool notified = w.state == WaitState::notified;
      HAILER_ASSERT(timers_.armed({TimerKind::recall_window, w.caller.value}) == notified);
      if (notified) HAILER_ASSERT(!is_busy(caller) && !is_busy(callee));  // a window needs both free
    }
  }
  for (const auto& [caller, count] : queue_memberships) HAILER_ASSERT(count == 1);  // one wait per caller
}

std::size_t Core::check_room_invariants() const {
  HAILER_ASSERT(room_ids_.size() == rooms_.size());
  std::size_t holders = 0;
  std::map<std::string, uint32_t> opened_by;
  for (const auto& [room_id, room] : rooms_) {
    room.floor.check_invariants();
    ++opened_by[room.opened_by];
    HAILER_ASSERT(!room.recording || room.floor.holder().has_value());  // only a turn is recorded
    HAILER_ASSERT(room.frames_unbilled < 50);
    HAILER_ASSERT(!room.members.empty() && room_ids_.at(name_key(room.name)) == room_id);
    HAILER_ASSERT(room.members.size() <= config_.max_room_members);
    for (SessionId m : room.members) {
      // broadcast() sends to every member without looking: each must be open (session() asserts it).
      HAILER_ASSERT(session(m).face == Face::ptt && session(m).room == room_id);
    }
    const auto holder = room.floor.holder();
    if (holder) HAILER_ASSERT(session(*holder).room == room_id && session(*holder).role == Role::student);
    for (SessionId q : room.floor.queue()) HAILER_ASSERT(session(q).room == room_id);
    HAILER_ASSERT(timers_.armed({TimerKind::floor, room_id}) == holder.has_value());
    holders += holder ? 1 : 0;
  }

  HAILER_ASSERT(opened_by == rooms_by_address_);  // the per-address room count is exact
  for (const auto& [address, count] : rooms_by_address_) HAILER_ASSERT(count <= config_.max_rooms_per_address);
  return holders;
}

void Core::check_timer_invariants(std::size_t holders) const {
  // seen_order_ holds every session once, least recently seen first; the heartbeat timer is
  // armed iff there are sessions, never later than the oldest's deadline.
  HAILER_ASSERT(seen_order_.size() == sessions_.size());
  for (auto it = seen_order_.begin(); it != seen_order_.end(); ++it) {
    if (it != seen_order_.begin()) HAILER_ASSERT(session(*std::prev(it)).last_seen <= session(*it).last_seen);
  }
  const TimerId heartbeat{TimerKind::heartbeat, 0};
  HAILER_ASSERT(timers_.armed(heartbeat) == !sessions_.empty());
  if (!sessions_.empty()) {
    HAILER_ASSERT(timers_.deadline(heartbeat) == heartbeat_due_);
    HAILER_ASSERT(heartbeat_due_ <=
                  session(seen_order_.front()).last_seen + Duration::from_ms(config_.heartbeat_timeout_ms));
  }

  // Every armed timer belongs to something that still exists: nothing fires into the void.
  std::size_t expected_timers = (sessions_.empty() ? 0 : 1) + holders;
  for (const auto& [call_id, c] : calls_) expected_timers += c.state == CallState::ringing ? 1 : 0;
  for (const auto& [callee_id, queue] : queues_) {
    for (const Waiter& w : queue.waiters()) expected_timers += w.state == WaitState::notified ? 2 : 1;
  }
  HAILER_ASSERT(timers_.size() == expected_timers);
}

}  // namespace hailer
