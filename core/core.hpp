// The sans-IO core: presence, calls, waiting queues and PTT floors. One mutation entry point with
// time passed in and effects out; timers are data (next_deadline). Deterministic: the same events
// at the same times give the same effects, byte for byte.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/assert.hpp"
#include "base/rate_limit.hpp"
#include "base/secret.hpp"
#include "base/time.hpp"
#include "core/config.hpp"
#include "core/events.hpp"
#include "core/floor.hpp"
#include "core/timer_table.hpp"
#include "core/wait_queue.hpp"
#include "protocol/messages.hpp"

namespace hailer {

/// The most keys one account holds: its first and the devices its owner added (add_key).
inline constexpr std::size_t max_keys_per_account = 8;

/// Hash of a session id, for lookup tables whose order never reaches an output.
struct SessionIdHash {
  std::size_t operator()(SessionId id) const noexcept { return std::hash<uint64_t>{}(id.value); }
};

/// Hash of a name key that takes std::string and std::string_view alike (lookups without a copy).
struct NameKeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
};

/// Counters for operations and tests; they never influence decisions.
struct CoreStats {
  uint64_t events = 0;
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t sessions_opened = 0;
  uint64_t calls_placed = 0;
  uint64_t calls_connected = 0;
  uint64_t waits_notified = 0;
  uint64_t floor_grants = 0;
  uint64_t audio_frames_admitted = 0;
  uint64_t audio_frames_dropped = 0;   ///< from sessions not holding the floor
  uint64_t media_probes = 0;           ///< UDP proofs accepted (right MAC, new counter)
  uint64_t media_probes_unknown = 0;   ///< UDP proofs naming a media id nobody holds
  uint64_t media_probes_forged = 0;    ///< UDP proofs whose MAC is wrong
  uint64_t media_probes_replayed = 0;  ///< UDP proofs whose counter is not newer than the last accepted
  uint64_t media_probes_limited = 0;   ///< UDP proofs over a rate limit (per address, per session, in total), unread
  uint64_t token_failures = 0;         ///< instructor joins with a wrong token
  uint64_t token_tries_limited = 0;    ///< instructor joins refused for too many wrong tokens from the address
  uint64_t recordings_refused = 0;     ///< turns not recorded, or cut: budgets spent or the port could not record
  /// Sessions ended, by CloseReason (index = the enum's value).
  std::array<uint64_t, close_reason_count> closed_by_reason{};
};

/// The whole signaling state of one server, driven by events.
class Core {
 public:
  /// A core with the given (valid) config, at time zero. It draws nothing random: secrets come
  /// in with the events that need them (SessionOpened::secrets).
  explicit Core(Config config);

  /// The only mutation: fires due timers, then applies `event` at `now`; appends effects to `out`.
  /// Contract (asserted, a breach aborts): `now` is never earlier than the previous call's; not
  /// re-entrant (an observer or effect applier must not call back in while it runs); every
  /// request gets exactly one reply; a session is opened once and closed at most once.
  void handle(Time now, const Event& event, std::vector<Effect>& out);

  /// The earliest time at which a TimerFired event is needed, if any timer is armed.
  std::optional<Time> next_deadline() const;

  // ------------------------------------------------------------ read-only views (tests, sim, ops)

  /// The config in force.
  const Config& config() const { return config_; }
  /// Counters since start.
  const CoreStats& stats() const { return stats_; }
  /// Number of open sessions.
  std::size_t session_count() const { return sessions_.size(); }
  /// Presence of a registered calls user; nothing when `session` is not one.
  std::optional<PresenceState> presence(SessionId session) const;
  /// The callee `session` waits for, if it waits.
  std::optional<SessionId> waiting_on(SessionId session) const;
  /// The waiters on callee `session`, FIFO order (empty when none).
  std::vector<Waiter> waiters_of(SessionId session) const;
  /// The peer of `session`'s current call (ringing or connected), if any.
  std::optional<SessionId> call_peer(SessionId session) const;
  /// The floor holder of the room `session` is in, if any.
  std::optional<SessionId> floor_holder_of(SessionId session) const;
  /// The floor holder of every open room, by room name.
  std::map<std::string, std::optional<SessionId>> floor_holders() const;
  /// The media endpoint `session` proved over UDP, if it did.
  std::optional<MediaEndpoint> observed_media(SessionId session) const;
  /// The face `session` registered for; nothing when it is not (yet) registered or not open.
  std::optional<Face> face_of(SessionId session) const;
  /// The audio format a PTT member declared at join.
  std::optional<AudioFormat> audio_format(SessionId session) const;

  /// Asserts every cross-structure invariant; cheap enough to call after each event in tests.
  void check_invariants() const;

 private:
  enum class CallState : uint8_t { ringing, connected };

  struct Session {
    SessionId id;
    std::string peer_address;
    Time last_seen;                          // when it last proved itself alive
    std::list<SessionId>::iterator seen_at;  // its place in seen_order_
    std::optional<Face> face;                // nothing until register/join succeeds
    std::string name;
    std::string key;                                     // name_key(name)
    bool instructor_cookie = false;                      // opened with the instructor's cookie (web face)
    ChannelBinding binding{};                            // what a login on this connection signs (TLS exporter)
    std::optional<std::array<uint8_t, 32>> account_key;  // the key it logged in with (accounts on)
    std::optional<InviteChecked> invite;                 // the host's check of its register's invite
    SessionSecrets secrets;                              // drawn by the host for this session
    // calls face
    uint16_t media_port = 0;
    std::optional<uint64_t> media_id;             // registered: the id its proofs name (tokens_)
    uint64_t probe_counter = 0;                   // the last accepted proof's counter
    std::optional<TokenBucket> probe_budget;      // accepted proofs per second (registered only)
    std::optional<MediaEndpoint> media_observed;  // proven over UDP
    std::optional<uint64_t> call;
    std::optional<SessionId> waiting_on;
    std::vector<MissedCallInfo> missed;  // oldest first; a vector holds no heap while empty
    // PTT face
    uint64_t room = 0;
    Role role = Role::student;
    AudioFormat format;
  };

  struct Call {
    uint64_t id = 0;
    SessionId caller;
    SessionId callee;
    CallState state = CallState::ringing;
    bool caller_key_sent = false;  // media_key relayed (one per side per call)
    bool callee_key_sent = false;
  };

  struct Room {
    uint64_t id = 0;
    std::string name;
    Floor floor;
    std::vector<SessionId> members;  // join order
    Time granted_at;
    Time last_voice_at;
    std::string opened_by;         // the address of the session whose join opened it
    bool recording = false;        // the holder's turn is being recorded
    uint32_t frames_unbilled = 0;  // recorded frames not yet charged to the budgets (a second is 50)
  };

  // core.cpp: dispatch, sessions, timers, effects
  void dispatch(const Event& event);
  void on_opened(const SessionOpened& e);
  void on_closed(const SessionClosed& e);
  void on_media_probe(const MediaProbe& e);
  void on_request(const RequestReceived& e);
  void handle_request(Session& s, const Request& request);
  void on(Session& s, uint64_t id, const RegisterRequest& q);
  void on(Session& s, uint64_t id, const JoinRequest& q);
  void on(Session& s, uint64_t id, const WhoRequest& q);
  void on(Session& s, uint64_t id, const PingRequest& q);
  void on(Session& s, uint64_t id, const ChannelBindingRequest& q);
  void on(Session& s, uint64_t id, const CallRequest& q);
  void on(Session& s, uint64_t id, const AcceptRequest& q);
  void on(Session& s, uint64_t id, const RejectRequest& q);
  void on(Session& s, uint64_t id, const HangupRequest& q);
  void on(Session& s, uint64_t id, const MediaKeyRequest& q);
  void on(Session& s, uint64_t id, const AddKeyRequest& q);
  void on(Session& s, uint64_t id, const CancelRequest& q);
  void on(Session& s, uint64_t id, const CancelWaitRequest& q);
  void on(Session& s, uint64_t id, const MissedRequest& q);
  void on(Session& s, uint64_t id, const PressRequest& q);
  void on(Session& s, uint64_t id, const ReleaseRequest& q);
  void on(Session& s, uint64_t id, const RevokeRequest& q);
  void on(Session& s, uint64_t id, const SetPolicyRequest& q);
  void on(Session& s, uint64_t id, const GrantRequest& q);
  RelayCall relay_call(const Call& call, bool open) const;
  void on(Session& s, uint64_t id, const SkipRequest& q);
  Session* queued_member(Session& s, uint64_t id, const std::string& name);
  void tell_queue(const Room& room);
  FloorQueue floor_queue_of(const Room& room) const;
  void remember_policy(const Room& room);
  void on_bad_request(const BadRequest& e);
  void on_timer(TimerId t);
  void fire_due_timers();
  void touch(Session& s);
  void on_heartbeat_timer();
  void expire_silent(Time due);
  void on_shutdown();
  void drop_session(SessionId id);
  // Queues `message` for `to`, built in its effect slot (no chain of variant moves); a session
  // being dropped is unwound like the others but hears nothing: it is closed.
  template <class M>
  void send(SessionId to, M&& message) {
    if (dropping_ == to) return;
    auto& effect = std::get<SendMessage>(out_->emplace_back(std::in_place_type<SendMessage>));
    effect.to = to;
    effect.message.template emplace<std::decay_t<M>>(std::forward<M>(message));
  }
  // The reply to the request being handled goes into the slot taken for it before the events
  // the request caused, so a client reads "ok" first; handlers may emit events before knowing
  // the reply's data.
  template <class M>
  void reply(M&& message) {
    HAILER_ASSERT(out_ != nullptr && reply_at_ < out_->size() && replies_ == 0);
    ++replies_;
    auto& slot = std::get<SendMessage>((*out_)[reply_at_]);
    HAILER_ASSERT(slot.to == requester_);
    slot.message.template emplace<std::decay_t<M>>(std::forward<M>(message));
  }
  // invariants.cpp: check_invariants in parts (sessions and names, calls and queues, rooms and
  // floors, timers); the room part returns how many floors are held, which the timers need.
  void check_session_invariants() const;
  void check_call_invariants() const;
  std::size_t check_room_invariants() const;
  void check_timer_invariants(std::size_t holders) const;
  void reply_ok(uint64_t id, ReplyData data = std::monostate{});
  void reply_error(std::optional<uint64_t> id, ErrorCode code, std::string_view detail = {});
  Session& session(SessionId id);
  const Session& session(SessionId id) const;
  Session* find_by_name(std::string_view name, Face face);  // `name` must be valid
  // The name in use (or owned) that `name` looks like (name_skeleton), if any; `name` must be valid.
  std::optional<std::string> look_alike(std::string_view name) const;
  // Accounts (config_.accounts != off).
  struct Login {
    std::array<uint8_t, 32> key;  // the key that signed
    bool claims = false;          // the name has no owner yet: this login claims it
  };
  void on_accounts_loaded(const AccountsLoaded& e);
  void on_invite_checked(const InviteChecked& e);
  void add_account(const Account& a);
  std::optional<Login> check_login(Session& s, uint64_t id, const RegisterRequest& q);
  bool invite_allows(Session& s, uint64_t id, const RegisterRequest& q, std::string_view name_k);
  // Being dropped: its own state is unwound like the others', and it is sent nothing more.
  bool gone(const Session& s) const { return dropping_ == s.id; }

  // calls.cpp: presence, calls, waiting queues
  void on_who_calls(uint64_t id);
  uint64_t free_media_id(uint64_t wanted) const;
  bool probe_allowed(const MediaProbe& e);
  MediaEndpoint media_endpoint_of(const Session& s) const;
  void on_ring_timer(uint64_t call_id);
  void on_wait_expiry_timer(SessionId caller);
  void on_recall_window_timer(SessionId caller);
  void drop_calls_user(Session& s);
  bool is_busy(const Session& s) const;
  bool is_reserved_against(const Session& callee, SessionId caller);
  Call* pending_call_for(Session& callee, std::optional<uint64_t> call_id);
  uint64_t place_call(Session& caller, Session& callee);
  void connect_call(Call& call);
  void end_call(uint64_t call_id, EndReason reason, const std::string& by);
  void enqueue(Session& caller, Session& callee, bool auto_connect);
  void complete_waits_between(Session& a, Session& b);
  void end_wait(SessionId caller, WaitEndReason reason);
  void send_wait_update(const Session& callee, Waiter& waiter, uint32_t position);
  void close_queue(Session& callee);
  void on_became_busy(Session& s);
  void on_became_free(Session& s);
  void try_wake(SessionId callee);
  void notify_waiter(Session& callee, Waiter& waiter);
  void tell_positions(SessionId callee);
  void tell_waiting_count(SessionId callee);

  // ptt.cpp: rooms and floors
  void on_who_room(Session& s, uint64_t id);
  bool instructor_allowed(Session& s, uint64_t id, const std::string& token);
  void on_audio(const AudioFrame& e);
  void on_audio_played(const AudioPlayed& e);
  void on_recording_failed(const RecordingFailed& e);
  std::optional<RecordingStopReason> recording_refusal(const Session& s) const;
  void bill_recording(Room& room, const Session& holder);
  void charge_recording_second(const Session& holder);
  void stop_recording(Room& room, const Session& holder, RecordingStopReason reason);
  void tell_instructors(const Room& room, const ServerMessage& message);
  void arm_floor_timer(Room& room);
  void on_floor_timer(uint64_t room_id);
  void leave_room(Session& s);
  void release_floor(Room& room, Session& s);
  RoomData room_data(const Room& room) const;
  void grant(Room& room, SessionId holder);
  void end_turn(Room& room, SessionId holder);
  void after_floor_freed(Room& room, std::optional<SessionId> granted);
  void tell_floor_positions(const Room& room, std::size_t first_changed);
  void revoke_floor(Room& room, RevokeReason reason);
  void broadcast(const Room& room, const ServerMessage& message, std::optional<SessionId> except = {});

  Config config_;
  CoreStats stats_;
  Time now_;
  // Media proofs checked per source address and in total, before any lookup or MAC.
  KeyedLimiter probe_sources_;
  TokenBucket probe_total_;
  // Wrong instructor tokens per address (only failures spend: a right token always passes).
  KeyedLimiter token_failures_;
  // Seconds of recorded turns per student (name key) and per address, refilled over an hour.
  KeyedLimiter recording_by_student_;
  KeyedLimiter recording_by_address_;
  std::map<std::string, uint32_t> rooms_by_address_;  // rooms open, by the address that opened them
  std::vector<Effect>* out_ = nullptr;                // valid only inside handle()
  SessionId requester_;                               // the session whose request is being handled
  std::size_t reply_at_ = 0;                          // where its reply goes in *out_, ahead of the events
  int replies_ = 0;                                   // replies given to the current request (must end at 1)
  std::optional<SessionId> dropping_;                 // the session drop_session is unwinding, if any
  // Looked up several times per event; iterated only by check_invariants, so its unordered
  // iteration order never reaches an output (docs/design.md, Determinism).
  std::unordered_map<SessionId, Session, SessionIdHash> sessions_;
  // name_key -> session, both faces share one namespace. Looked up per call; `who` sorts what
  // it lists, so the unordered iteration order never reaches an output.
  std::unordered_map<std::string, SessionId, NameKeyHash, std::equal_to<>> names_;
  // name_skeleton -> session: a name that looks like one in use is refused (name_confusable).
  std::unordered_map<std::string, SessionId> skeletons_;
  // Owned names (accounts): name_key -> the name as first claimed and the keys that may log in.
  struct Owned {
    std::string name;
    std::vector<std::array<uint8_t, 32>> keys;
  };
  std::unordered_map<std::string, Owned> accounts_;
  std::unordered_map<std::string, std::string> account_skeletons_;  // name_skeleton -> name_key
  std::map<uint64_t, SessionId> tokens_;                            // media id -> registered calls session
  std::set<SessionId> closed_by_core_;  // closed by us, awaiting the adapter's SessionClosed
  std::map<uint64_t, Call> calls_;
  std::map<SessionId, WaitQueue> queues_;  // by callee
  std::map<uint64_t, Room> rooms_;
  std::map<std::string, uint64_t> room_ids_;  // name_key(room) -> id
  // A room's policy outlives the room while the server runs (an instructor's choice is not lost
  // when the last student leaves): name_key(room) -> policy, only where it is not the default.
  std::map<std::string, FloorPolicy> room_policies_;
  TimerTable timers_;
  // Every session, least recently seen first (a touch moves it to the back), so the heartbeat
  // needs one timer, not one per session: a deadline per session in the ordered timer set made
  // the set's size, not the work, the cost of every timer armed (2.9 vs 5.8 M events/s with
  // 1,000 idle sessions). The timer is armed iff sessions exist, never later than the oldest's
  // deadline, and lazily: a touch never re-arms it.
  std::list<SessionId> seen_order_;
  Time heartbeat_due_;  // the deadline the heartbeat timer is armed at
  uint64_t next_call_id_ = 1;
  uint64_t next_room_id_ = 1;
  uint64_t next_wait_seq_ = 1;
  uint64_t next_recording_serial_ = 1;
};

/// The one feed step of every driver of a Core (the server host, the test harness, the
/// property test): handle the event at `now`, then, when asked, assert every invariant.
void step(Core& core, Time now, const Event& event, std::vector<Effect>& out, bool check_invariants);

}  // namespace hailer
