// Push-to-talk rooms: membership, floor requests, turns, timers and the media route of the holder.
// Floor states per room: idle -> taken(holder) [-> queue under the queue policy] -> idle.
#include <algorithm>

#include "base/assert.hpp"
#include "core/core.hpp"
#include "protocol/names.hpp"

namespace hailer {

namespace {
TimerId floor_timer(uint64_t room) { return {TimerKind::floor, room}; }
// Rooms whose policy is remembered after they empty; past it, one remembered policy is forgotten.
constexpr std::size_t max_remembered_policies = 4096;
}  // namespace

void Core::on(Session& s, uint64_t id, const JoinRequest& q) {
  if (q.version != protocol_version) {
    return reply_error(id, ErrorCode::unsupported_version, "got " + std::to_string(q.version));
  }
  if (!valid_name(q.name)) return reply_error(id, ErrorCode::bad_name);
  if (!valid_name(q.room)) return reply_error(id, ErrorCode::bad_room);
  // The token first: a wrong one is the answer an instructor needs, whatever the name (a second
  // tab with an old token must not read "name in use").
  if (q.role == Role::instructor && !instructor_allowed(s, id, q.token)) return;
  std::string key = name_key(q.name);
  if (names_.contains(key)) return reply_error(id, ErrorCode::name_taken, q.name);
  // An owned name is its owner's on both faces, even while the owner is away.
  if (accounts_.contains(key)) return reply_error(id, ErrorCode::name_taken, q.name + " belongs to an account");
  if (const auto like = look_alike(q.name)) return reply_error(id, ErrorCode::name_confusable, *like);
  const std::string room_key = name_key(q.room);
  auto rid = room_ids_.find(room_key);
  if (rid == room_ids_.end()) {
    if (rooms_.size() >= config_.max_rooms) return reply_error(id, ErrorCode::too_many_rooms);
    // One address may not open every room the server has (each room can record).
    const auto opened = rooms_by_address_.find(s.peer_address);
    if (opened != rooms_by_address_.end() && opened->second >= config_.max_rooms_per_address) {
      return reply_error(id, ErrorCode::too_many_rooms,
                         "your address has opened " + std::to_string(opened->second) + " rooms already");
    }
    const uint64_t room_id = next_room_id_++;
    FloorPolicy policy = config_.default_floor_policy;
    if (const auto kept = room_policies_.find(room_key); kept != room_policies_.end()) {
      policy = kept->second;
      room_policies_.erase(kept);
    }
    rooms_.emplace(room_id,
                   Room{room_id, q.room, Floor(policy, config_.max_floor_queue), {}, {}, {}, s.peer_address, false, 0});
    ++rooms_by_address_[s.peer_address];
    rid = room_ids_.emplace(room_key, room_id).first;
  } else if (rooms_.at(rid->second).members.size() >= config_.max_room_members) {
    return reply_error(id, ErrorCode::room_full, q.room);
  }
  Room& room = rooms_.at(rid->second);
  s.face = Face::ptt;
  s.name = q.name;
  s.key = std::move(key);
  s.room = room.id;
  s.role = q.role;
  s.format = AudioFormat{q.codec, q.codec == AudioCodec::opus ? 48'000 : q.sample_rate_hz};
  names_.emplace(s.key, s.id);
  skeletons_.emplace(name_skeleton(s.name), s.id);
  room.members.push_back(s.id);
  reply_ok(id, room_data(room));
  broadcast(room, MemberJoined{s.name, s.role}, s.id);
  if (s.role == Role::instructor && !room.floor.queue().empty()) send(s.id, floor_queue_of(room));
}

// An instructor proves itself with the token (compared in constant time) or with the cookie the
// web face checked when the connection opened. Wrong tokens are counted per address: past the
// limit that address's instructor joins are refused until its budget refills, so nobody can try
// tokens faster than a few a minute. False when refused (the reply is given).
bool Core::instructor_allowed(Session& s, uint64_t id, const std::string& token) {
  if (config_.instructor_token.empty() || s.instructor_cookie) return true;
  if (!token_failures_.has_token(now_, s.peer_address)) {
    ++stats_.token_tries_limited;
    reply_error(id, ErrorCode::too_many_attempts);
    return false;
  }
  if (constant_time_equal(token, config_.instructor_token)) return true;
  token_failures_.take(now_, s.peer_address);
  ++stats_.token_failures;
  reply_error(id, ErrorCode::bad_token);
  return false;
}

RoomData Core::room_data(const Room& room) const {
  RoomData d;
  d.room = room.name;
  d.policy = room.floor.policy();
  if (auto h = room.floor.holder()) d.talker = session(*h).name;
  for (SessionId m : room.members) d.members.push_back(MemberInfo{session(m).name, session(m).role});
  d.max_talk_ms = config_.max_talk_ms;
  return d;
}

void Core::on_who_room(Session& s, uint64_t id) { reply_ok(id, room_data(rooms_.at(s.room))); }

void Core::on(Session& s, uint64_t id, const PressRequest&) {
  Room& room = rooms_.at(s.room);
  reply_ok(id);
  const std::string talker = room.floor.holder() ? session(*room.floor.holder()).name : std::string();
  if (s.role == Role::instructor) return send(s.id, FloorDenied{DenyReason::receive_only, talker});
  const std::size_t queued_before = room.floor.queue().size();
  const Floor::PressOutcome o = room.floor.press(s.id);
  switch (o.result) {
    case Floor::PressResult::granted:
      return grant(room, s.id);
    case Floor::PressResult::queued:
      send(s.id, FloorQueued{o.position});
      if (room.floor.queue().size() != queued_before) tell_queue(room);  // not a repeated press
      return;
    case Floor::PressResult::denied_taken:
      return send(s.id, FloorDenied{DenyReason::floor_taken, talker});
    case Floor::PressResult::denied_queue_full:
      return send(s.id, FloorDenied{DenyReason::queue_full, talker});
    case Floor::PressResult::already_holder: {
      const Duration left = (room.granted_at + Duration::from_ms(config_.max_talk_ms)) - now_;
      return send(s.id, FloorGranted{left.ms()});
    }
  }
  HAILER_ASSERT(false && "unknown press result");
}

// Release is idempotent: a button released after a deny is normal and answers ok silently.
void Core::on(Session& s, uint64_t id, const ReleaseRequest&) {
  reply_ok(id);
  release_floor(rooms_.at(s.room), s);
}

// Gives up the floor or a place in its queue: the next in line is granted, or those behind
// move up. A member who left hears nothing (send skips it).
void Core::release_floor(Room& room, Session& s) {
  const uint32_t position = room.floor.position_of(s.id);
  const Floor::ReleaseOutcome o = room.floor.release(s.id);
  if (o.was_holder) {
    end_turn(room, s.id);
    after_floor_freed(room, o.granted);
  } else if (o.was_queued) {
    send(s.id, FloorDequeued{DequeueReason::released});
    tell_floor_positions(room, position - 1);
    tell_queue(room);
  }
}

void Core::on(Session& s, uint64_t id, const RevokeRequest&) {
  if (s.role != Role::instructor) return reply_error(id, ErrorCode::not_instructor);
  Room& room = rooms_.at(s.room);
  reply_ok(id);
  if (room.floor.holder()) revoke_floor(room, RevokeReason::instructor);
}

void Core::on(Session& s, uint64_t id, const SetPolicyRequest& q) {
  const FloorPolicy policy = q.policy;
  if (s.role != Role::instructor) return reply_error(id, ErrorCode::not_instructor);
  Room& room = rooms_.at(s.room);
  reply_ok(id);
  if (room.floor.policy() == policy) return;
  const std::vector<SessionId> dropped = room.floor.set_policy(policy);
  for (SessionId d : dropped) send(d, FloorDequeued{DequeueReason::policy_changed});
  broadcast(room, PolicyChanged{policy});
  if (!dropped.empty()) tell_queue(room);
}

// The queued student an instructor's grant or skip (request `id`) names, in the instructor's
// own room; nothing when the request is refused (the error is answered here).
Core::Session* Core::queued_member(Session& s, uint64_t id, const std::string& name) {
  std::optional<ErrorCode> refusal;
  Session* target = nullptr;
  if (s.role != Role::instructor) {
    refusal = ErrorCode::not_instructor;
  } else if (!valid_name(name)) {
    refusal = ErrorCode::bad_name;
  } else {
    const Room& room = rooms_.at(s.room);
    const auto it = names_.find(name_key(name));
    if (it != names_.end()) target = &session(it->second);
    const bool queued = target != nullptr && target->face == Face::ptt && target->room == room.id &&
                        room.floor.position_of(target->id) != 0;
    if (!queued) refusal = ErrorCode::not_queued;
  }
  if (refusal) {
    reply_error(id, *refusal, *refusal == ErrorCode::not_queued ? std::string_view(name) : std::string_view());
    return nullptr;
  }
  reply_ok(id);
  return target;
}

// Out of turn: the named student talks now; the talker, if any, hears the instructor took the floor.
void Core::on(Session& s, uint64_t id, const GrantRequest& q) {
  Session* target = queued_member(s, id, q.name);
  if (target == nullptr) return;
  Room& room = rooms_.at(s.room);
  const uint32_t position = room.floor.position_of(target->id);
  if (const auto holder = room.floor.holder()) {
    send(*holder, FloorRevoked{RevokeReason::instructor});
    end_turn(room, *holder);
  }
  room.floor.hand_to(target->id);
  grant(room, target->id);
  tell_floor_positions(room, position - 1);
  tell_queue(room);
}

void Core::on(Session& s, uint64_t id, const SkipRequest& q) {
  Session* target = queued_member(s, id, q.name);
  if (target == nullptr) return;
  Room& room = rooms_.at(s.room);
  const uint32_t position = room.floor.position_of(target->id);
  const Floor::ReleaseOutcome o = room.floor.release(target->id);
  HAILER_ASSERT(o.was_queued && !o.granted);
  send(target->id, FloorDequeued{DequeueReason::skipped});
  tell_floor_positions(room, position - 1);
  tell_queue(room);
}

FloorQueue Core::floor_queue_of(const Room& room) const {
  FloorQueue q;
  q.queue.reserve(room.floor.queue().size());
  for (SessionId m : room.floor.queue()) q.queue.push_back(QueueEntry{session(m).name});
  return q;
}

// The instructors see the whole queue, in order, each time it changes.
void Core::tell_queue(const Room& room) { tell_instructors(room, floor_queue_of(room)); }

// Audio is admitted only from the holder; any frame proves the session alive. The adapter drops
// what the route table does not admit; this is the tally.
void Core::on_audio(const AudioFrame& e) {
  auto it = sessions_.find(e.session);
  if (it == sessions_.end()) return;  // raced with our own close
  Session& s = it->second;
  touch(s);
  if (s.face != Face::ptt || rooms_.at(s.room).floor.holder() != s.id) {
    ++stats_.audio_frames_dropped;
    return;
  }
  ++stats_.audio_frames_admitted;
}

// The holder's voice, as played, keeps the floor; a frame at or below the silence threshold
// does not. Frames of a turn that already ended (the buffered tail) change nothing.
void Core::on_audio_played(const AudioPlayed& e) {
  auto it = sessions_.find(e.session);
  if (it == sessions_.end() || it->second.face != Face::ptt) return;
  Room& room = rooms_.at(it->second.room);
  if (room.floor.holder() != e.session) return;
  if (e.level_dbfs > config_.silence_threshold_dbfs) room.last_voice_at = now_;
  if (room.recording) bill_recording(room, it->second);
}

// A turn is recorded only while the talker and its address have budget left: each second is
// charged as it begins (the first at the grant, the next after every 50 frames played: what the
// recording holds). Out of budget, the recording stops, the turn goes on, the instructors are told.
void Core::bill_recording(Room& room, const Session& holder) {
  HAILER_ASSERT(room.recording && room.floor.holder() == holder.id);
  if (++room.frames_unbilled < 50) return;
  room.frames_unbilled = 0;
  if (const auto refusal = recording_refusal(holder)) return stop_recording(room, holder, *refusal);
  charge_recording_second(holder);
}

void Core::charge_recording_second(const Session& holder) {
  recording_by_student_.take(now_, holder.key);
  recording_by_address_.take(now_, holder.peer_address);
}

// Why `s` may not have its turn recorded now, if it may not.
std::optional<RecordingStopReason> Core::recording_refusal(const Session& s) const {
  if (!recording_by_student_.has_token(now_, s.key)) return RecordingStopReason::student_budget;
  if (!recording_by_address_.has_token(now_, s.peer_address)) return RecordingStopReason::address_budget;
  return std::nullopt;
}

void Core::stop_recording(Room& room, const Session& holder, RecordingStopReason reason) {
  room.recording = false;
  ++stats_.recordings_refused;
  out_->push_back(StopRecording{holder.id, true});
  tell_instructors(room, RecordingStopped{holder.name, reason});
}

// The port could not record (the folder's cap or the disk's floor reached, a write failed): the
// turn goes on unrecorded and the instructors are told. It may be the tail of a turn that ended.
void Core::on_recording_failed(const RecordingFailed& e) {
  const auto it = sessions_.find(e.talker);
  if (it == sessions_.end() || it->second.face != Face::ptt) return;
  Room& room = rooms_.at(it->second.room);
  if (room.recording && room.floor.holder() == e.talker) return stop_recording(room, it->second, e.reason);
  ++stats_.recordings_refused;
  tell_instructors(room, RecordingStopped{it->second.name, e.reason});
}

void Core::tell_instructors(const Room& room, const ServerMessage& message) {
  std::vector<SessionId> to;
  for (SessionId m : room.members) {
    if (session(m).role == Role::instructor && !gone(session(m))) to.push_back(m);
  }
  if (!to.empty()) out_->push_back(Broadcast{std::move(to), message});
}

void Core::grant(Room& room, SessionId holder) {
  HAILER_ASSERT(room.floor.holder() == holder);
  const Session& s = session(holder);
  room.granted_at = now_;
  room.last_voice_at = now_;
  arm_floor_timer(room);
  ++stats_.floor_grants;
  // The route opens before the holder hears the grant, so its first frame is never dropped.
  out_->push_back(RouteSpeaker{holder, room.name, s.format, true});
  room.frames_unbilled = 0;
  const auto refusal = recording_refusal(s);
  room.recording = !refusal;
  if (room.recording) {
    charge_recording_second(s);
    out_->push_back(StartRecording{holder, room.name, recording_file_name(s.name, next_recording_serial_++)});
  }
  send(holder, FloorGranted{config_.max_talk_ms});
  broadcast(room, FloorTaken{s.name}, holder);
  if (refusal) {
    ++stats_.recordings_refused;
    tell_instructors(room, RecordingStopped{s.name, *refusal});
  }
}

// The floor timer fires at the earlier of the talk-time limit and the silence deadline; voice
// since arming moves the silence deadline, so the timer re-arms lazily when it fires early.
void Core::arm_floor_timer(Room& room) {
  const Time talk_ends = room.granted_at + Duration::from_ms(config_.max_talk_ms);
  const Time silence_ends = room.last_voice_at + Duration::from_ms(config_.silence_timeout_ms);
  timers_.set(floor_timer(room.id), std::min(talk_ends, silence_ends));
}

void Core::end_turn(Room& room, SessionId holder) {
  timers_.stop(floor_timer(room.id));
  out_->push_back(RouteSpeaker{holder, room.name, session(holder).format, false});
  if (room.recording) out_->push_back(StopRecording{holder});
  room.recording = false;
}

void Core::after_floor_freed(Room& room, std::optional<SessionId> granted) {
  if (!granted) return broadcast(room, FloorIdle{});
  grant(room, *granted);
  tell_floor_positions(room, 0);  // everyone behind the new holder moved up
  tell_queue(room);
}

void Core::revoke_floor(Room& room, RevokeReason reason) {
  const SessionId holder = *room.floor.holder();
  send(holder, FloorRevoked{reason});
  end_turn(room, holder);
  const Floor::ReleaseOutcome o = room.floor.release(holder);
  after_floor_freed(room, o.granted);
}

void Core::tell_floor_positions(const Room& room, std::size_t first_changed) {
  const auto& queue = room.floor.queue();
  for (std::size_t i = first_changed; i < queue.size(); ++i) {
    send(queue[i], FloorQueued{static_cast<uint32_t>(i + 1)});
  }
}

void Core::on_floor_timer(uint64_t room_id) {
  Room& room = rooms_.at(room_id);
  HAILER_ASSERT(room.floor.holder().has_value());
  const Time talk_ends = room.granted_at + Duration::from_ms(config_.max_talk_ms);
  const Time silence_ends = room.last_voice_at + Duration::from_ms(config_.silence_timeout_ms);
  if (now_ >= talk_ends) return revoke_floor(room, RevokeReason::max_talk_time);
  if (now_ >= silence_ends) return revoke_floor(room, RevokeReason::silence);
  arm_floor_timer(room);  // voice arrived since arming
}

void Core::leave_room(Session& s) {
  HAILER_ASSERT(gone(s));
  Room& room = rooms_.at(s.room);
  std::erase(room.members, s.id);
  release_floor(room, s);
  broadcast(room, MemberLeft{s.name});
  if (room.members.empty()) {
    remember_policy(room);
    const auto opened = rooms_by_address_.find(room.opened_by);
    HAILER_ASSERT(opened != rooms_by_address_.end() && opened->second > 0);
    if (--opened->second == 0) rooms_by_address_.erase(opened);
    room_ids_.erase(name_key(room.name));
    rooms_.erase(room.id);
  }
}

// An empty room's policy is kept under its name while the server runs, if it is not the default.
void Core::remember_policy(const Room& room) {
  const std::string key = name_key(room.name);
  if (room.floor.policy() == config_.default_floor_policy) return;
  if (room_policies_.size() >= max_remembered_policies) room_policies_.erase(room_policies_.begin());
  room_policies_[key] = room.floor.policy();
}

// One effect for the whole room, so the adapter encodes the message once (1,000 students).
// A closing session leaves its room before anything else is said (drop_session), so the
// members are exactly the recipients (check_invariants says so): copying the contiguous list,
// instead of looking each session up, spares a press in a quiet room of 1,000 a thousand cold
// lookups before its reply leaves.
void Core::broadcast(const Room& room, const ServerMessage& message, std::optional<SessionId> except) {
  Broadcast b;
  b.to.reserve(room.members.size());
  for (SessionId m : room.members) {
    if (m != except) b.to.push_back(m);
  }
  if (b.to.empty()) return;
  b.message = message;
  out_->push_back(std::move(b));
}

}  // namespace hailer
