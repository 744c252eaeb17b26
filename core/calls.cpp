// Presence, the call state machine and the waiting queues (call completion on busy).
//
// Call states per user: available -> ringing (placing or receiving) -> in_call -> available.
// A call to a busy user, or to a free user whose recall window belongs to someone else, queues
// the caller on that user. Whenever a user becomes free, its queue's first non-suspended waiter
// is woken (CalleeAvailable + an exclusive recall window, or an automatic call for camp-on).
#include <algorithm>

#include "base/assert.hpp"
#include "core/core.hpp"
#include "protocol/call_keys.hpp"
#include "protocol/names.hpp"

namespace hailer {

// ------------------------------------------------------------------ presence

namespace {
TimerId ring_timer(uint64_t call) { return {TimerKind::ring, call}; }
TimerId expiry_timer(SessionId caller) { return {TimerKind::wait_expiry, caller.value}; }
TimerId window_timer(SessionId caller) { return {TimerKind::recall_window, caller.value}; }
}  // namespace

void Core::on(Session& s, uint64_t id, const RegisterRequest& q) {
  if (q.version != protocol_version) {
    return reply_error(id, ErrorCode::unsupported_version, "got " + std::to_string(q.version));
  }
  if (!valid_name(q.name)) return reply_error(id, ErrorCode::bad_name);
  std::optional<Login> login;
  if (config_.accounts != AccountsMode::off) {
    login = check_login(s, id, q);  // signed for this connection, by a key the name allows
    if (!login) return;
  }
  std::string key = name_key(q.name);
  if (names_.contains(key)) return reply_error(id, ErrorCode::name_taken, q.name);
  if (const auto like = look_alike(q.name)) return reply_error(id, ErrorCode::name_confusable, *like);
  if (login && login->claims) {
    const Account claimed{q.name, login->key};
    add_account(claimed);
    out_->push_back(AccountClaimed{claimed});
    if (config_.accounts == AccountsMode::invite) out_->push_back(InviteUsed{key});
  }
  s.face = Face::calls;
  if (login) s.account_key = login->key;
  s.name = q.name;
  s.key = std::move(key);
  s.media_port = q.media_port;
  // The key and id came from the host's CSPRNG with the session: the media token is the key
  // (the client's proofs are MACs under it), the id names it in a proof.
  s.media_id = free_media_id(s.secrets.media_id);
  s.probe_budget.emplace(BucketRate{config_.max_media_probes_per_session_per_second, 1000});
  names_.emplace(s.key, s.id);
  skeletons_.emplace(name_skeleton(s.name), s.id);
  tokens_.emplace(*s.media_id, s.id);
  std::optional<uint16_t> rendezvous;
  if (config_.rendezvous_udp_port != 0) rendezvous = config_.rendezvous_udp_port;
  reply_ok(id, RegisteredData{s.name, config_.heartbeat_timeout_ms, to_hex(s.secrets.media_key.bytes),
                              media_id_text(*s.media_id), rendezvous});
}

// Ids are 64 random bits, so two sessions drawing the same one is astronomically rare; if it
// happens the next free value is taken (an id is public: only the key behind it is secret).
uint64_t Core::free_media_id(uint64_t wanted) const {
  while (tokens_.contains(wanted)) ++wanted;
  return wanted;
}

// The budgets a proof spends before its MAC is checked: its source address's and everyone's.
bool Core::probe_allowed(const MediaProbe& e) {
  if (!probe_sources_.take(now_, e.observed.address) || !probe_total_.take(now_)) {
    ++stats_.media_probes_limited;
    return false;
  }
  return true;
}

// A client proved its media endpoint: calls announce the observed address and port from now on
// (correct behind a simple NAT). The client hears it once per change, so it can stop probing.
// A proof moves the endpoint only when its MAC is right and its counter newer than the last
// accepted one (a captured proof replayed from elsewhere moves nothing). Proofs are not a
// heartbeat: only the signaling connection keeps a session alive.
void Core::on_media_probe(const MediaProbe& e) {
  if (!probe_allowed(e)) return;
  auto it = tokens_.find(e.probe.media_id);
  if (it == tokens_.end()) {
    ++stats_.media_probes_unknown;
    return;
  }
  Session& s = session(it->second);
  if (!verify_media_probe(s.secrets.media_key, e.probe)) {
    ++stats_.media_probes_forged;
    return;
  }
  if (e.probe.counter <= s.probe_counter) {
    ++stats_.media_probes_replayed;
    return;
  }
  if (!s.probe_budget->take(now_)) {
    ++stats_.media_probes_limited;
    return;
  }
  s.probe_counter = e.probe.counter;
  ++stats_.media_probes;
  if (s.media_observed == e.observed) return;
  s.media_observed = e.observed;
  send(s.id, MediaReady{e.observed.address, e.observed.port});
}

// The endpoint a peer should send RTP to: the proven one, else the signaling connection's host
// with the port the client declared.
MediaEndpoint Core::media_endpoint_of(const Session& s) const {
  if (s.media_observed) return *s.media_observed;
  return MediaEndpoint{s.peer_address, s.media_port};
}

void Core::on_who_calls(uint64_t id) {
  std::vector<std::pair<std::string_view, SessionId>> by_key;
  by_key.reserve(names_.size());
  for (const auto& [key, sid] : names_) by_key.emplace_back(key, sid);
  std::sort(by_key.begin(), by_key.end());  // listed by name key: the table's order is arbitrary
  WhoData who;
  for (const auto& [key, sid] : by_key) {
    const Session& u = session(sid);
    if (u.face != Face::calls) continue;
    auto q = queues_.find(sid);
    const uint32_t waiting = q == queues_.end() ? 0 : q->second.size();
    std::optional<bool> in_line;
    if (u.waiting_on) in_line = true;
    who.users.push_back(UserInfo{u.name, *presence(sid), waiting, in_line});
  }
  reply_ok(id, std::move(who));
}

void Core::on(Session& s, uint64_t id, const MissedRequest&) { reply_ok(id, MissedData{s.missed, now_.ms()}); }

bool Core::is_busy(const Session& s) const { return s.call.has_value(); }

// True when `callee` is free but its recall window belongs to a waiter other than `caller`.
bool Core::is_reserved_against(const Session& callee, SessionId caller) {
  auto it = queues_.find(callee.id);
  if (it == queues_.end()) return false;
  const Waiter* w = it->second.notified();
  return w != nullptr && w->caller != caller;
}

// ------------------------------------------------------------------ call requests

void Core::on(Session& s, uint64_t id, const CallRequest& q) {
  if (!valid_name(q.to)) return reply_error(id, ErrorCode::bad_name, "field 'to'");
  Session* callee = find_by_name(q.to, Face::calls);
  if (callee == nullptr) return reply_error(id, ErrorCode::user_not_found, q.to);
  if (callee->id == s.id) return reply_error(id, ErrorCode::self_call);
  if (is_busy(s)) return reply_error(id, ErrorCode::caller_busy);

  if (!is_busy(*callee) && !is_reserved_against(*callee, s.id)) {
    const uint64_t call_id = place_call(s, *callee);
    return reply_ok(id, CallData{call_id, false});
  }
  if (s.waiting_on == callee->id) {  // a repeat: no duplicate entry, the position again
    reply_ok(id, CallData{std::nullopt, true});
    WaitQueue& queue = queues_.at(callee->id);
    send_wait_update(*callee, *queue.find(s.id), queue.position_of(s.id));
    return;
  }
  if (s.waiting_on) return reply_error(id, ErrorCode::already_waiting, session(*s.waiting_on).name);
  auto it = queues_.find(callee->id);
  if (it != queues_.end() && it->second.full()) return reply_error(id, ErrorCode::queue_full, callee->name);
  reply_ok(id, CallData{std::nullopt, true});
  enqueue(s, *callee, q.auto_connect.value_or(config_.auto_connect_default));
}

Core::Call* Core::pending_call_for(Session& callee, std::optional<uint64_t> call_id) {
  if (!callee.call) return nullptr;
  Call& c = calls_.at(*callee.call);
  if (c.state != CallState::ringing || c.callee != callee.id) return nullptr;
  if (call_id && *call_id != c.id) return nullptr;
  return &c;
}

void Core::on(Session& s, uint64_t id, const AcceptRequest& q) {
  Call* c = pending_call_for(s, q.call_id);
  if (c == nullptr) return reply_error(id, ErrorCode::no_pending_call);
  reply_ok(id);
  connect_call(*c);
}

void Core::on(Session& s, uint64_t id, const RejectRequest& q) {
  Call* c = pending_call_for(s, q.call_id);
  if (c == nullptr) return reply_error(id, ErrorCode::no_pending_call);
  reply_ok(id);
  end_call(c->id, EndReason::rejected, s.name);
}

// Hangup ends whatever call the user has: a connected call, or (leniently) a ringing one,
// which is a cancel for the caller and a reject for the callee.
void Core::on(Session& s, uint64_t id, const HangupRequest&) {
  if (!s.call) return reply_error(id, ErrorCode::not_in_call);
  const Call& c = calls_.at(*s.call);
  const EndReason reason = c.state == CallState::connected ? EndReason::hangup
                           : c.caller == s.id              ? EndReason::cancelled
                                                           : EndReason::rejected;
  reply_ok(id);
  end_call(c.id, reason, s.name);
}

// Another device of the owner: a session logged in to its name adds that device's key, which may
// log in to the name from then on. Only a logged-in owner can, and an account holds a few keys.
void Core::on(Session& s, uint64_t id, const AddKeyRequest& q) {
  if (!s.account_key) return reply_error(id, ErrorCode::login_required, "log in to your name first (accounts on, TLS)");
  const auto key = parse_key32(q.key);
  if (!key) return reply_error(id, ErrorCode::bad_field, "key: 64 hex digits");
  auto& keys = accounts_.at(s.key).keys;
  if (std::find(keys.begin(), keys.end(), *key) != keys.end()) return reply_ok(id);  // known already
  if (keys.size() >= max_keys_per_account) return reply_error(id, ErrorCode::too_many_keys);
  const Account added{accounts_.at(s.key).name, *key};
  add_account(added);
  out_->push_back(AccountClaimed{added});
  reply_ok(id);
}

// A call key goes to the peer only when it is signed by the account key it names, and that key is
// the one this session logged in with (accounts on): a client cannot speak for another account.
// The server checks, but the peer checks again: it trusts no server with its audio.
void Core::on(Session& s, uint64_t id, const MediaKeyRequest& q) {
  if (!s.call || *s.call != q.call_id)
    return reply_error(id, ErrorCode::not_in_call, "no call " + std::to_string(q.call_id) + " of yours");
  const auto key = parse_key32(q.key);
  if (!key) return reply_error(id, ErrorCode::bad_field, "key: 64 hex digits");
  const auto account = parse_key32(q.account_key);
  if (!account) return reply_error(id, ErrorCode::bad_field, "account_key: 64 hex digits");
  if (s.account_key && *s.account_key != *account)
    return reply_error(id, ErrorCode::bad_signature, "account_key is not the key you logged in with");
  if (!verify_call_key(*account, q.signature, q.call_id, s.key, *key))
    return reply_error(id, ErrorCode::bad_signature, "the signature does not cover this key for this call");
  Call& c = calls_.at(q.call_id);
  bool& sent = c.caller == s.id ? c.caller_key_sent : c.callee_key_sent;
  if (sent) return reply_error(id, ErrorCode::key_already_sent);
  sent = true;
  reply_ok(id);
  send(c.caller == s.id ? c.callee : c.caller, PeerMediaKey{c.id, s.name, q.key, q.account_key, q.signature});
}

void Core::on(Session& s, uint64_t id, const CancelRequest&) {
  if (!s.call) return reply_error(id, ErrorCode::no_outgoing_call);
  const Call& c = calls_.at(*s.call);
  if (c.state != CallState::ringing || c.caller != s.id) return reply_error(id, ErrorCode::no_outgoing_call);
  reply_ok(id);
  end_call(c.id, EndReason::cancelled, s.name);
}

void Core::on(Session& s, uint64_t id, const CancelWaitRequest&) {
  if (!s.waiting_on) return reply_error(id, ErrorCode::not_waiting);
  reply_ok(id);
  end_wait(s.id, WaitEndReason::cancelled);
}

// ------------------------------------------------------------------ call transitions

uint64_t Core::place_call(Session& caller, Session& callee) {
  HAILER_ASSERT(!is_busy(caller) && !is_busy(callee) && caller.id != callee.id);
  const Call call{next_call_id_++, caller.id, callee.id, CallState::ringing};
  calls_.emplace(call.id, call);
  caller.call = call.id;
  callee.call = call.id;
  // Only now, with both busy, may their wait end: ending it earlier would see the callee
  // free and hand the recall window to the next waiter for nothing.
  complete_waits_between(caller, callee);
  timers_.set(ring_timer(call.id), now_ + Duration::from_ms(config_.ring_timeout_ms));
  ++stats_.calls_placed;
  send(caller.id, CallRinging{call.id, callee.name, CallRole::caller});
  send(callee.id, CallRinging{call.id, caller.name, CallRole::callee});
  on_became_busy(caller);
  on_became_busy(callee);
  return call.id;
}

void Core::connect_call(Call& call) {
  HAILER_ASSERT(call.state == CallState::ringing);
  timers_.stop(ring_timer(call.id));
  call.state = CallState::connected;
  ++stats_.calls_connected;
  const Session& a = session(call.caller);
  const Session& b = session(call.callee);
  out_->push_back(RouteMedia{a.id, b.id, true});
  out_->push_back(RouteMedia{b.id, a.id, true});
  // The relay opens before either side hears of the call, so a leg's first packet finds it.
  std::optional<uint16_t> relay_port;
  if (config_.rendezvous_udp_port != 0) {
    relay_port = config_.rendezvous_udp_port;
    out_->push_back(relay_call(call, true));
  }
  send(a.id, CallConnected{call.id, b.name, media_endpoint_of(b), relay_port});
  send(b.id, CallConnected{call.id, a.name, media_endpoint_of(a), relay_port});
}

RelayCall Core::relay_call(const Call& call, bool open) const {
  const Session& a = session(call.caller);
  const Session& b = session(call.callee);
  return RelayCall{
      call.id, a.id, relay_leg_id(a.secrets.media_key, call.id), b.id, relay_leg_id(b.secrets.media_key, call.id),
      open};
}

void Core::end_call(uint64_t call_id, EndReason reason, const std::string& by) {
  const Call call = calls_.at(call_id);
  if (call.state == CallState::connected) {
    out_->push_back(RouteMedia{call.caller, call.callee, false});
    out_->push_back(RouteMedia{call.callee, call.caller, false});
    if (config_.rendezvous_udp_port != 0) out_->push_back(relay_call(call, false));
  }
  timers_.stop(ring_timer(call.id));
  calls_.erase(call_id);
  Session& a = session(call.caller);
  Session& b = session(call.callee);
  a.call.reset();
  b.call.reset();
  send(a.id, CallEnded{call.id, b.name, reason, by});
  send(b.id, CallEnded{call.id, a.name, reason, by});
  // Both parties are free now, whoever ended the call and however: each one's waiters wake.
  if (!gone(a)) on_became_free(a);
  if (!gone(b) && !is_busy(b)) on_became_free(b);
}

void Core::on_ring_timer(uint64_t call_id) {
  Call& call = calls_.at(call_id);
  HAILER_ASSERT(call.state == CallState::ringing);
  Session& caller = session(call.caller);
  Session& callee = session(call.callee);
  const MissedCallInfo missed{caller.name, now_.ms()};
  callee.missed.push_back(missed);
  if (callee.missed.size() > config_.max_missed_calls) callee.missed.erase(callee.missed.begin());  // <= 1,000
  send(callee.id, MissedCall{missed.from, missed.at_ms});
  end_call(call_id, EndReason::no_answer, "");
}

// ------------------------------------------------------------------ waiting queues

void Core::enqueue(Session& caller, Session& callee, bool auto_connect) {
  HAILER_ASSERT(!caller.waiting_on && caller.id != callee.id);
  auto [it, created] = queues_.try_emplace(callee.id, config_.max_waiters_per_callee);
  Waiter w;
  w.caller = caller.id;
  w.seq = next_wait_seq_++;
  w.auto_connect = auto_connect;
  it->second.push(w);
  caller.waiting_on = callee.id;
  timers_.set(expiry_timer(caller.id), now_ + Duration::from_ms(config_.wait_expiry_ms));
  tell_positions(callee.id);
  tell_waiting_count(callee.id);
}

void Core::send_wait_update(const Session& callee, Waiter& waiter, uint32_t position) {
  waiter.told_position = position;
  send(waiter.caller, WaitUpdate{callee.name, position,
                                 waiter.state == WaitState::suspended ? WaitStatus::suspended : WaitStatus::queued});
}

// Tells every waiter whose position changed since it was last told (the notified one is
// told CalleeAvailable instead and needs no position).
void Core::tell_positions(SessionId callee_id) {
  auto it = queues_.find(callee_id);
  if (it == queues_.end()) return;
  const Session& callee = session(callee_id);
  auto& waiters = it->second.waiters();
  for (std::size_t i = 0; i < waiters.size(); ++i) {
    const auto position = static_cast<uint32_t>(i + 1);
    if (waiters[i].state != WaitState::notified && waiters[i].told_position != position) {
      send_wait_update(callee, waiters[i], position);
    }
  }
}

void Core::tell_waiting_count(SessionId callee_id) {
  auto it = queues_.find(callee_id);
  send(callee_id, WaitingCount{it == queues_.end() ? 0 : it->second.size()});
}

void Core::complete_waits_between(Session& a, Session& b) {
  if (a.waiting_on == b.id) end_wait(a.id, WaitEndReason::completed);
  if (b.waiting_on == a.id) end_wait(b.id, WaitEndReason::completed);
}

void Core::end_wait(SessionId caller_id, WaitEndReason reason) {
  Session& caller = session(caller_id);
  HAILER_ASSERT(caller.waiting_on.has_value());
  const SessionId callee_id = *caller.waiting_on;
  auto it = queues_.find(callee_id);
  HAILER_ASSERT(it != queues_.end());
  const std::optional<Waiter> removed = it->second.remove(caller_id);
  HAILER_ASSERT(removed.has_value());
  timers_.stop(expiry_timer(caller_id));
  timers_.stop(window_timer(caller_id));
  caller.waiting_on.reset();
  const Session& callee = session(callee_id);
  send(caller_id, WaitEnded{callee.name, reason});
  if (it->second.empty()) queues_.erase(it);
  if (gone(callee)) return;
  tell_positions(callee_id);
  tell_waiting_count(callee_id);
  if (removed->state == WaitState::notified) try_wake(callee_id);  // the window passes to the next waiter
}

void Core::close_queue(Session& callee) {
  auto it = queues_.find(callee.id);
  if (it == queues_.end()) return;
  const std::vector<Waiter> waiters = it->second.waiters();
  queues_.erase(it);
  for (const Waiter& w : waiters) {
    timers_.stop(expiry_timer(w.caller));
    timers_.stop(window_timer(w.caller));
    session(w.caller).waiting_on.reset();
    send(w.caller, WaitEnded{callee.name, WaitEndReason::callee_offline});
  }
}

void Core::on_wait_expiry_timer(SessionId caller_id) { end_wait(caller_id, WaitEndReason::expired); }

void Core::on_recall_window_timer(SessionId caller_id) {
  const Session& caller = session(caller_id);
  HAILER_ASSERT(queues_.at(*caller.waiting_on).find(caller_id)->state == WaitState::notified);
  end_wait(caller_id, WaitEndReason::window_expired);
}

// A user just became ringing: as a waiter holding a window it is suspended and the window
// passes on; as a callee, its window holder goes back to waiting at the same place.
void Core::on_became_busy(Session& s) {
  if (s.waiting_on) {
    WaitQueue& queue = queues_.at(*s.waiting_on);
    Waiter* w = queue.find(s.id);
    if (w->state == WaitState::notified) {
      timers_.stop(window_timer(s.id));
      w->state = WaitState::suspended;
      send_wait_update(session(*s.waiting_on), *w, queue.position_of(s.id));
      try_wake(*s.waiting_on);
    }
  }
  if (auto it = queues_.find(s.id); it != queues_.end()) {
    if (Waiter* w = it->second.notified()) {
      timers_.stop(window_timer(w->caller));
      w->state = WaitState::queued;
      send_wait_update(s, *w, it->second.position_of(w->caller));
    }
  }
}

// A user just became free: its own waiters wake; if it is a suspended waiter, it resumes.
void Core::on_became_free(Session& s) {
  try_wake(s.id);
  if (!s.waiting_on || is_busy(s)) return;
  const SessionId callee_id = *s.waiting_on;
  WaitQueue& queue = queues_.at(callee_id);
  Waiter* w = queue.find(s.id);
  if (w->state != WaitState::suspended) return;
  w->state = WaitState::queued;
  send_wait_update(session(callee_id), *w, queue.position_of(s.id));
  try_wake(callee_id);
}

// Wakes the first waiter that is free, suspending the busy ones it passes (CCBS: only the
// first non-suspended entry is woken; busy callers are skipped and served when they free).
void Core::try_wake(SessionId callee_id) {
  auto it = queues_.find(callee_id);
  if (it == queues_.end()) return;
  Session& callee = session(callee_id);
  if (gone(callee) || is_busy(callee) || it->second.notified() != nullptr) return;
  WaitQueue& queue = it->second;
  for (std::size_t i = 0; i < queue.waiters().size(); ++i) {
    Waiter& w = queue.waiters()[i];
    if (!is_busy(session(w.caller))) return notify_waiter(callee, w);
    if (w.state != WaitState::suspended) {
      w.state = WaitState::suspended;
      send_wait_update(callee, w, static_cast<uint32_t>(i + 1));
    }
  }
}

void Core::notify_waiter(Session& callee, Waiter& w) {
  HAILER_ASSERT(queues_.at(callee.id).first_eligible(w.caller));
  HAILER_ASSERT(!is_busy(callee) && w.state != WaitState::notified);
  ++stats_.waits_notified;
  Session& caller = session(w.caller);
  if (w.auto_connect) {  // camp-on: ring the callee for the waiter; this completes the wait
    send(caller.id, CalleeAvailable{callee.name, 0, true});
    place_call(caller, callee);
    return;
  }
  w.state = WaitState::notified;
  timers_.set(window_timer(caller.id), now_ + Duration::from_ms(config_.recall_window_ms));
  send(caller.id, CalleeAvailable{callee.name, config_.recall_window_ms, false});
}

// ------------------------------------------------------------------ disconnect

void Core::drop_calls_user(Session& s) {
  HAILER_ASSERT(gone(s));
  if (s.waiting_on) end_wait(s.id, WaitEndReason::cancelled);  // unheard: the session is gone
  close_queue(s);
  if (s.call) end_call(*s.call, EndReason::peer_disconnected, s.name);
}

}  // namespace hailer
