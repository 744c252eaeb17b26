// Dispatch, sessions, heartbeats, timers and effect plumbing. Calls live in calls.cpp, PTT in ptt.cpp.
#include "core/core.hpp"

#include <algorithm>
#include <array>
#include <type_traits>

#include "base/assert.hpp"
#include "protocol/codec.hpp"
#include "protocol/names.hpp"

namespace hailer {

namespace {
// A bound on timers fired per handle(): every timer either retires or re-arms later than now,
// so this is never reached unless a bug re-arms at `now` forever.
constexpr int max_timers_per_event = 1'000'000;

constexpr std::array<std::string_view, close_reason_count> close_reason_names{
    "peer_closed", "reset", "heartbeat_timeout", "server_full", "slow_reader", "protocol_error", "shutdown"};

// The one heartbeat timer (session ids start at 1, so key 0 is nobody's).
constexpr TimerId heartbeat_timer{TimerKind::heartbeat, 0};
}  // namespace

std::string_view to_string(CloseReason reason) {
  const auto index = static_cast<std::size_t>(reason);
  HAILER_ASSERT(index < close_reason_names.size());
  return close_reason_names[index];
}

namespace {
// Addresses whose proof or token-try budgets are kept at once; beyond it idle ones are forgotten.
constexpr std::size_t max_limited_addresses = 4096;
}  // namespace

Core::Core(Config config)
    : config_(std::move(config)),
      probe_sources_(BucketRate{config_.max_media_probes_per_address_per_second, 1000}, max_limited_addresses),
      probe_total_(BucketRate{config_.max_media_probes_per_second, 1000}),
      token_failures_(BucketRate{config_.max_token_failures_per_address_per_minute, 60'000}, max_limited_addresses),
      recording_by_student_(BucketRate{config_.recorded_seconds_per_student_per_hour, 3'600'000},
                            max_limited_addresses),
      recording_by_address_(BucketRate{config_.recorded_seconds_per_address_per_hour, 3'600'000},
                            max_limited_addresses) {
  HAILER_ASSERT(!validate(config_).has_value());
  next_recording_serial_ = config_.first_recording_serial;
}

void Core::handle(Time now, const Event& event, std::vector<Effect>& out) {
  HAILER_ASSERT(now >= now_);      // time never goes backwards
  HAILER_ASSERT(out_ == nullptr);  // not re-entrant
  now_ = now;
  out_ = &out;
  ++stats_.events;
  fire_due_timers();
  dispatch(event);
  out_ = nullptr;
}

std::optional<Time> Core::next_deadline() const { return timers_.next(); }

void Core::dispatch(const Event& event) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, SessionOpened>)
          on_opened(e);
        else if constexpr (std::is_same_v<T, SessionClosed>)
          on_closed(e);
        else if constexpr (std::is_same_v<T, RequestReceived>)
          on_request(e);
        else if constexpr (std::is_same_v<T, BadRequest>)
          on_bad_request(e);
        else if constexpr (std::is_same_v<T, MediaProbe>)
          on_media_probe(e);
        else if constexpr (std::is_same_v<T, AudioFrame>)
          on_audio(e);
        else if constexpr (std::is_same_v<T, AudioPlayed>)
          on_audio_played(e);
        else if constexpr (std::is_same_v<T, RecordingFailed>)
          on_recording_failed(e);
        else if constexpr (std::is_same_v<T, AccountsLoaded>)
          on_accounts_loaded(e);
        else if constexpr (std::is_same_v<T, InviteChecked>)
          on_invite_checked(e);
        else if constexpr (std::is_same_v<T, Shutdown>)
          on_shutdown();
        else
          static_assert(std::is_same_v<T, TimerFired>);  // due timers already fired
      },
      event);
}

// ------------------------------------------------------------------ sessions

void Core::on_opened(const SessionOpened& e) {
  HAILER_ASSERT(!sessions_.contains(e.session) && !closed_by_core_.contains(e.session));
  if (sessions_.size() >= config_.max_sessions) {
    // The session never enters the table: it gets its one error and is closed.
    out_->push_back(SendMessage{e.session, ErrorReply{std::nullopt, ErrorCode::server_full,
                                                      std::string(default_message(ErrorCode::server_full))}});
    out_->push_back(CloseSession{e.session, CloseReason::server_full});
    closed_by_core_.insert(e.session);
    ++stats_.errors;
    ++stats_.closed_by_reason[static_cast<std::size_t>(CloseReason::server_full)];
    return;
  }
  ++stats_.sessions_opened;
  Session s;
  s.id = e.session;
  s.peer_address = e.peer_address;
  s.secrets = e.secrets;
  s.instructor_cookie = e.instructor_cookie;
  s.binding = e.binding;
  s.last_seen = now_;
  s.seen_at = seen_order_.insert(seen_order_.end(), e.session);  // the newest: the back
  sessions_.emplace(e.session, std::move(s));
  if (!timers_.armed(heartbeat_timer)) {  // the first session: its deadline is the oldest
    heartbeat_due_ = now_ + Duration::from_ms(config_.heartbeat_timeout_ms);
    timers_.set(heartbeat_timer, heartbeat_due_);
  }
}

void Core::on_closed(const SessionClosed& e) {
  if (closed_by_core_.erase(e.session) > 0) return;  // we closed it first; nothing left to do
  HAILER_ASSERT(sessions_.contains(e.session));
  ++stats_.closed_by_reason[static_cast<std::size_t>(e.reason)];
  drop_session(e.session);
}

// Everyone hears it first, then everyone is closed: nobody learns of the others' departure
// before being told why (their calls and waits end with the server anyway).
void Core::on_shutdown() {
  std::vector<SessionId> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // the map is unordered; the effects must not be
  for (SessionId id : ids) out_->push_back(SendMessage{id, ServerClosing{}});
  for (SessionId id : ids) {
    if (!sessions_.contains(id)) continue;
    out_->push_back(CloseSession{id, CloseReason::shutdown});
    closed_by_core_.insert(id);
    ++stats_.closed_by_reason[static_cast<std::size_t>(CloseReason::shutdown)];
    drop_session(id);
  }
  HAILER_ASSERT(sessions_.empty());
}

void Core::drop_session(SessionId id) {
  Session& s = session(id);
  HAILER_ASSERT(!dropping_);  // one at a time: nothing below drops another session
  dropping_ = id;
  seen_order_.erase(s.seen_at);
  if (seen_order_.empty()) timers_.stop(heartbeat_timer);  // else it fires for the next oldest
  if (s.face == Face::calls) drop_calls_user(s);
  if (s.face == Face::ptt) leave_room(s);
  if (s.face) {
    names_.erase(s.key);
    skeletons_.erase(name_skeleton(s.name));
  }
  if (s.media_id) tokens_.erase(*s.media_id);
  sessions_.erase(id);
  dropping_.reset();
}

// A session proved itself alive: it becomes the most recently seen.
void Core::touch(Session& s) {
  s.last_seen = now_;
  seen_order_.splice(seen_order_.end(), seen_order_, s.seen_at);  // O(1); the iterator stays valid
  HAILER_ASSERT(seen_order_.back() == s.id);
}

// The heartbeat timer fired at heartbeat_due_. If the oldest session spoke since it was armed,
// it is re-armed at the oldest's deadline (which the timer table orders among the other timers,
// at once if that deadline has passed too); else the sessions silent since then are closed.
void Core::on_heartbeat_timer() {
  HAILER_ASSERT(!seen_order_.empty() && !timers_.armed(heartbeat_timer));
  const Duration timeout = Duration::from_ms(config_.heartbeat_timeout_ms);
  const Time oldest_due = session(seen_order_.front()).last_seen + timeout;
  HAILER_ASSERT(oldest_due >= heartbeat_due_);
  if (oldest_due == heartbeat_due_) expire_silent(oldest_due);
  if (seen_order_.empty()) return;
  heartbeat_due_ = session(seen_order_.front()).last_seen + timeout;
  HAILER_ASSERT(heartbeat_due_ >= oldest_due);
  timers_.set(heartbeat_timer, heartbeat_due_);
}

// Closes every session whose silence reached the timeout exactly at `due` (they lead
// seen_order_), in session id order, as when each session had a timer of its own.
void Core::expire_silent(Time due) {
  const Duration timeout = Duration::from_ms(config_.heartbeat_timeout_ms);
  std::vector<SessionId> silent;
  for (SessionId id : seen_order_) {
    if (session(id).last_seen + timeout != due) break;
    silent.push_back(id);
  }
  HAILER_ASSERT(!silent.empty());
  std::sort(silent.begin(), silent.end());
  for (SessionId id : silent) {
    out_->push_back(CloseSession{id, CloseReason::heartbeat_timeout});
    closed_by_core_.insert(id);
    ++stats_.closed_by_reason[static_cast<std::size_t>(CloseReason::heartbeat_timeout)];
    drop_session(id);
  }
}

// ------------------------------------------------------------------ requests

void Core::on_bad_request(const BadRequest& e) {
  auto it = sessions_.find(e.session);
  if (it == sessions_.end()) return;  // raced with our own close
  touch(it->second);
  std::string message(default_message(e.error.code));
  if (!e.error.detail.empty()) message += ": " + e.error.detail;
  out_->push_back(SendMessage{e.session, ErrorReply{e.error.id, e.error.code, std::move(message)}});
  ++stats_.errors;
}

void Core::on_request(const RequestReceived& e) {
  auto it = sessions_.find(e.session);
  if (it == sessions_.end()) return;  // raced with our own close
  requester_ = e.session;
  reply_at_ = out_->size();
  replies_ = 0;
  // The reply's slot is taken now, so events the request causes land after it without moving it.
  std::get<SendMessage>(out_->emplace_back(std::in_place_type<SendMessage>)).to = e.session;
  handle_request(it->second, e.request);
  HAILER_ASSERT(replies_ == 1);  // every request gets exactly one reply
}

// Where a request may go comes from the message table (request_scope); what it does, from the
// overload of on() for its type.
void Core::handle_request(Session& s, const Request& request) {
  touch(s);
  ++stats_.requests;
  const uint64_t id = request.id;
  const RequestScope scope = request_scope(request.body);
  if (!s.face && scope != RequestScope::hello && scope != RequestScope::any) {
    return reply_error(id, ErrorCode::not_registered);
  }
  if (s.face && scope == RequestScope::hello) return reply_error(id, ErrorCode::already_registered);
  if ((scope == RequestScope::calls && s.face != Face::calls) || (scope == RequestScope::ptt && s.face != Face::ptt)) {
    return reply_error(id, ErrorCode::wrong_face);
  }
  std::visit([&](const auto& q) { on(s, id, q); }, request.body);
}

void Core::on(Session& s, uint64_t id, const WhoRequest&) {
  if (!s.face) return reply_error(id, ErrorCode::not_registered);
  if (s.face == Face::ptt) return on_who_room(s, id);
  on_who_calls(id);
}

void Core::on(Session&, uint64_t id, const PingRequest&) { reply_ok(id); }

// What a login on this connection signs. A CLI computes it itself (the TLS exporter); a page
// cannot, and reads it here (its WebSocket's binding is a nonce the server drew for it).
// Saying it gives nothing away: it is the connection's own, and worth nothing on another.
void Core::on(Session& s, uint64_t id, const ChannelBindingRequest&) {
  if (!has_binding(s.binding))
    return reply_error(id, ErrorCode::login_required, "this connection has no channel binding (plaintext)");
  reply_ok(id, ChannelBindingData{to_hex(s.binding)});
}

// ------------------------------------------------------------------ timers

void Core::fire_due_timers() {
  for (int fired = 0;; ++fired) {
    HAILER_ASSERT(fired < max_timers_per_event);
    const std::optional<TimerId> t = timers_.pop_due(now_);
    if (!t) return;
    on_timer(*t);
  }
}

void Core::on_timer(TimerId t) {
  switch (t.kind) {
    case TimerKind::heartbeat:
      return on_heartbeat_timer();
    case TimerKind::ring:
      return on_ring_timer(t.key);
    case TimerKind::wait_expiry:
      return on_wait_expiry_timer(SessionId{t.key});
    case TimerKind::recall_window:
      return on_recall_window_timer(SessionId{t.key});
    case TimerKind::floor:
      return on_floor_timer(t.key);
  }
  HAILER_ASSERT(false && "unknown timer kind");
}

// ------------------------------------------------------------------ effects

void Core::reply_ok(uint64_t id, ReplyData data) { reply(OkReply{id, std::move(data)}); }

void Core::reply_error(std::optional<uint64_t> id, ErrorCode code, std::string_view detail) {
  std::string message(default_message(code));
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  reply(ErrorReply{id, code, std::move(message)});
  ++stats_.errors;
}

Core::Session& Core::session(SessionId id) {
  auto it = sessions_.find(id);
  HAILER_ASSERT(it != sessions_.end());
  return it->second;
}

const Core::Session& Core::session(SessionId id) const {
  auto it = sessions_.find(id);
  HAILER_ASSERT(it != sessions_.end());
  return it->second;
}

std::optional<std::string> Core::look_alike(std::string_view name) const {
  const std::string skeleton = name_skeleton(name);
  if (const auto it = skeletons_.find(skeleton); it != skeletons_.end())
    return sessions_.at(it->second).name;  // shown as first registered, like every name
  // An owned name counts while its owner is away: nobody may take one that looks like it.
  if (const auto it = account_skeletons_.find(skeleton); it != account_skeletons_.end()) {
    const auto& owned = accounts_.at(it->second);
    if (it->second != name_key(name)) return owned.name;
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ accounts

void Core::on_accounts_loaded(const AccountsLoaded& e) {
  for (const Account& a : e.accounts) {
    HAILER_ASSERT(valid_name(a.name));
    add_account(a);
  }
}

void Core::add_account(const Account& a) {
  const std::string key = name_key(a.name);
  auto [it, added] = accounts_.try_emplace(key, Owned{a.name, {}});
  if (added) account_skeletons_.emplace(name_skeleton(a.name), key);
  if (std::find(it->second.keys.begin(), it->second.keys.end(), a.key) == it->second.keys.end())
    it->second.keys.push_back(a.key);
  HAILER_ASSERT(account_skeletons_.size() == accounts_.size());
}

// The host's verdict on the invite a register carries comes just before that register; it
// counts for that session's next register only.
void Core::on_invite_checked(const InviteChecked& e) {
  auto it = sessions_.find(e.session);
  if (it == sessions_.end() || it->second.face) return;  // gone, or registered already
  it->second.invite = e;
}

// An unowned name with `--accounts invite`: claimed only with the invite the host checked for it.
bool Core::invite_allows(Session& s, uint64_t id, const RegisterRequest& q, std::string_view name_k) {
  const std::optional<InviteChecked> invite = std::exchange(s.invite, std::nullopt);
  if (q.invite.empty()) return reply_error(id, ErrorCode::invite_required), false;
  if (!invite || invite->name_key != name_k) return reply_error(id, ErrorCode::bad_invite), false;
  if (invite->expired) return reply_error(id, ErrorCode::invite_expired), false;
  return true;
}

// The login of a register when accounts are on: an error (nothing changed), or the key that
// logged in and whether it claims the name now.
std::optional<Core::Login> Core::check_login(Session& s, uint64_t id, const RegisterRequest& q) {
  if (q.key.empty() || q.signature.empty())
    return reply_error(id, ErrorCode::login_required, "give key and signature"), std::nullopt;
  if (!has_binding(s.binding))
    return reply_error(id, ErrorCode::login_required, "over the TLS calls port"), std::nullopt;
  const auto key = parse_login_key(q.key);
  if (!key) return reply_error(id, ErrorCode::bad_field, "key"), std::nullopt;
  const std::string name_k = name_key(q.name);
  if (!verify_login(*key, q.signature, s.binding, name_k))
    return reply_error(id, ErrorCode::bad_signature), std::nullopt;
  const auto owned = accounts_.find(name_k);
  if (owned == accounts_.end()) {
    if (config_.accounts == AccountsMode::invite && !invite_allows(s, id, q, name_k)) return std::nullopt;
    return Login{*key, true};
  }
  const auto& keys = owned->second.keys;
  if (std::find(keys.begin(), keys.end(), *key) == keys.end())
    return reply_error(id, ErrorCode::name_taken, q.name + " belongs to another key"), std::nullopt;
  return Login{*key, false};
}

Core::Session* Core::find_by_name(std::string_view name, Face face) {
  HAILER_ASSERT(!name.empty() && name.size() <= max_name_length);  // the caller checked valid_name
  std::array<char, max_name_length> buffer;
  auto it = names_.find(name_key(name, buffer));
  if (it == names_.end()) return nullptr;
  Session& s = session(it->second);
  return s.face == face ? &s : nullptr;
}

// ------------------------------------------------------------------ views

std::optional<PresenceState> Core::presence(SessionId id) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.face != Face::calls) return std::nullopt;
  const Session& s = it->second;
  if (!s.call) return PresenceState::available;
  return calls_.at(*s.call).state == CallState::connected ? PresenceState::in_call : PresenceState::ringing;
}

std::optional<SessionId> Core::waiting_on(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? std::nullopt : it->second.waiting_on;
}

std::vector<Waiter> Core::waiters_of(SessionId id) const {
  auto it = queues_.find(id);
  return it == queues_.end() ? std::vector<Waiter>{} : it->second.waiters();
}

std::optional<SessionId> Core::call_peer(SessionId id) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || !it->second.call) return std::nullopt;
  const Call& c = calls_.at(*it->second.call);
  return c.caller == id ? c.callee : c.caller;
}

std::optional<SessionId> Core::floor_holder_of(SessionId id) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.face != Face::ptt) return std::nullopt;
  return rooms_.at(it->second.room).floor.holder();
}

std::map<std::string, std::optional<SessionId>> Core::floor_holders() const {
  std::map<std::string, std::optional<SessionId>> holders;
  for (const auto& [id, room] : rooms_) holders[room.name] = room.floor.holder();
  return holders;
}

std::optional<Face> Core::face_of(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? std::nullopt : it->second.face;
}

std::optional<AudioFormat> Core::audio_format(SessionId id) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.face != Face::ptt) return std::nullopt;
  return it->second.format;
}

void step(Core& core, Time now, const Event& event, std::vector<Effect>& out, bool check_invariants) {
  core.handle(now, event, out);
  if (check_invariants) core.check_invariants();
}

std::optional<MediaEndpoint> Core::observed_media(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? std::nullopt : it->second.media_observed;
}

}  // namespace hailer
