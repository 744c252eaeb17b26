// Property test: a seeded generator drives the core with random event sequences (connects,
// disconnects, calls, accepts, rejects, hangups, cancels, waits, presses, releases, audio, time),
// and after every step checks the invariants from the outside, from the effects alone, plus
// the core's own check_invariants(). The same seed must give the same effect trace.
//
// Reproduce a failure:  HAILER_PROPERTY_SEED=<seed> HAILER_PROPERTY_STEPS=<n> build/tests/hailer_tests '[property]'
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "base/prng.hpp"
#include "core/core.hpp"
#include "protocol/call_keys.hpp"
#include "protocol/codec.hpp"
#include "protocol/names.hpp"

using namespace hailer;

namespace {

struct PropertyFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Config property_config() {
  Config c;  // small limits and short timers so that every limit and timer is reached often
  c.max_sessions = 24;
  c.heartbeat_timeout_ms = 20'000;
  c.ring_timeout_ms = 5'000;
  c.recall_window_ms = 3'000;
  c.wait_expiry_ms = 40'000;
  c.max_waiters_per_callee = 3;
  c.max_missed_calls = 4;
  c.max_rooms = 2;
  c.max_room_members = 5;
  c.max_floor_queue = 2;
  c.max_talk_ms = 10'000;
  c.silence_timeout_ms = 3'000;
  c.recorded_seconds_per_student_per_hour = 4;
  c.recorded_seconds_per_address_per_hour = 8;
  c.max_rooms_per_address = 1;
  return c;
}

std::string describe(const Effect& e) {
  std::ostringstream o;
  if (auto* m = std::get_if<SendMessage>(&e)) o << "send " << m->to.value << " " << encode(m->message);
  if (auto* b = std::get_if<Broadcast>(&e)) {
    o << "broadcast";
    for (SessionId to : b->to) o << " " << to.value;
    o << " " << encode(b->message);
  }
  if (auto* c = std::get_if<CloseSession>(&e)) o << "close " << c->session.value << " " << to_string(c->reason);
  if (auto* r = std::get_if<RouteMedia>(&e)) o << "route " << r->from.value << "->" << r->to.value << " " << r->open;
  if (auto* r = std::get_if<RouteSpeaker>(&e)) o << "speaker " << r->talker.value << " " << r->room << " " << r->open;
  if (auto* s = std::get_if<StartRecording>(&e))
    o << "record " << s->session.value << " " << s->room << "/" << s->file_name;
  if (auto* s = std::get_if<StopRecording>(&e)) o << "stop " << s->session.value;
  return o.str();
}

// The observer's model of the world, built from effects only.
struct Observed {
  std::set<SessionId> open;
  std::map<SessionId, std::string> name_of;                           // registered calls users and PTT members
  std::map<std::string, SessionId> calls_user;                        // name -> session (calls face)
  std::map<SessionId, std::string> room_of;                           // PTT members
  std::map<SessionId, uint64_t> call_of;                              // ringing or connected
  std::map<SessionId, std::string> waiting_on;                        // callee name
  std::map<SessionId, WaitUpdate> wait_state;                         // last position and status told
  std::map<std::string, SessionId> speaker;                           // room -> session with an open speaker route
  std::map<SessionId, std::pair<std::string, std::string>> token_of;  // calls users' media keys and ids (hex)
};

class PropertyRun {
 public:
  PropertyRun(uint64_t seed, int steps) : seed_(seed), steps_(steps), rng_(seed), core_(property_config()) {}

  // Runs every step; returns the hash of the whole effect trace.
  uint64_t run() {
    for (step_ = 0; step_ < steps_; ++step_) one_step();
    return hash_;
  }

  /// What the run reached, so that a degenerate generator cannot pass silently.
  const CoreStats& stats() const { return core_.stats(); }
  /// Kinds of server message seen at least once.
  const std::set<std::string>& kinds_seen() const { return kinds_seen_; }

 private:
  [[noreturn]] void fail(const std::string& what) {
    std::ostringstream o;
    if (std::getenv("HAILER_PROPERTY_TRACE") != nullptr) {
      for (const Effect& e : effects_) std::fprintf(stderr, "  effect: %s\n", describe(e).c_str());
    }
    o << "property violated: " << what << "\n  seed " << seed_ << ", step " << step_ << " (t=" << now_.ms()
      << " ms)\n  reproduce: HAILER_PROPERTY_SEED=" << seed_ << " HAILER_PROPERTY_STEPS=" << (step_ + 1)
      << " build/tests/hailer_tests '[property]'";
    throw PropertyFailure(o.str());
  }

  std::string pick_name() {
    if (rng_.chance(1, 40)) return rng_.chance(1, 2) ? "bad name" : "";
    return "u" + std::to_string(rng_.below(14));
  }

  std::optional<SessionId> pick_open() {
    if (obs_.open.empty()) return std::nullopt;
    auto it = obs_.open.begin();
    std::advance(it, static_cast<long>(rng_.below(obs_.open.size())));
    return *it;
  }

  std::string pick_target() {
    if (!obs_.calls_user.empty() && rng_.chance(4, 5)) {
      auto it = obs_.calls_user.begin();
      std::advance(it, static_cast<long>(rng_.below(obs_.calls_user.size())));
      return it->first;
    }
    return pick_name();
  }

  // A call key for the session's call (or a stale id), signed as the session; one in four is
  // signed for another call, which the core refuses.
  MediaKeyRequest media_key(SessionId s) {
    static const LoginKey account = login_key_from_seed(std::array<uint8_t, 32>{7});
    static const CallKeyPair key = call_key_pair_from_seed(std::array<uint8_t, 32>{8});
    const auto call = obs_.call_of.find(s);
    const uint64_t call_id = call != obs_.call_of.end() ? call->second : 1 + rng_.below(40);
    const uint64_t signed_for = rng_.chance(1, 4) ? call_id + 1 : call_id;
    return MediaKeyRequest{call_id, to_hex(key.public_key), login_key_hex(account),
                           call_key_signature(account, signed_for, name_key(obs_.name_of.at(s)), key.public_key)};
  }

  // Requests shaped by what the session is, so that the interesting states are reached often,
  // plus a share of requests that do not fit (wrong face, stale ids) to exercise the errors.
  RequestBody random_request(SessionId s) {
    if (obs_.room_of.contains(s) && rng_.chance(19, 20)) {
      const uint64_t r = rng_.below(22);
      if (r < 8) return PressRequest{};
      if (r < 15) return ReleaseRequest{};
      if (r < 16) return RevokeRequest{};
      if (r < 18) return SetPolicyRequest{rng_.chance(1, 2) ? FloorPolicy::queue : FloorPolicy::deny};
      if (r < 19) return GrantRequest{pick_name()};
      if (r < 20) return SkipRequest{pick_name()};
      return r < 21 ? RequestBody{WhoRequest{}} : RequestBody{PingRequest{}};
    }
    if (obs_.name_of.contains(s) && !obs_.room_of.contains(s) && rng_.chance(19, 20)) {
      const uint64_t r = rng_.below(40);
      if (r < 12) return CallRequest{pick_target(), rng_.chance(1, 4) ? std::optional<bool>(true) : std::nullopt};
      if (r < 22) {
        const auto call = obs_.call_of.find(s);
        const bool right_id = call != obs_.call_of.end() && rng_.chance(1, 2);
        return AcceptRequest{right_id ? std::optional<uint64_t>(call->second) : std::nullopt};
      }
      if (r < 24) return RejectRequest{};
      if (r < 31) return HangupRequest{};
      if (r < 33) return CancelRequest{};
      if (r < 35) return CancelWaitRequest{};
      if (r < 36) return WhoRequest{};
      if (r < 37) return MissedRequest{};
      if (r < 38) return AcceptRequest{rng_.below(40)};  // most likely a stale id
      if (r < 39) return media_key(s);
      return PingRequest{};
    }
    switch (rng_.below(8)) {  // anything, to anyone: unregistered sessions and wrong faces
      case 0:
        return CallRequest{pick_name(), std::nullopt};
      case 1:
        return AcceptRequest{};
      case 2:
        return HangupRequest{};
      case 3:
        return PressRequest{};
      case 4:
        return ReleaseRequest{};
      case 5:
        return RevokeRequest{};
      case 6:
        return CancelWaitRequest{};
      default:
        return WhoRequest{};
    }
  }

  void one_step() {
    const uint64_t roll = rng_.below(100);
    if (roll < 8) return open_session();
    if (roll < 12) {
      if (auto s = pick_open()) return feed(SessionClosed{*s}, std::nullopt, *s);
    }
    if (roll < 20) return advance_time();
    if (roll < 24) {
      if (auto s = pick_open()) return feed(AudioFrame{*s}, {}, {});
    }
    if (roll < 26) {
      // Often a run of frames (a second is 50): what spends the recording budgets.
      if (auto s = pick_open()) {
        const uint64_t frames = rng_.chance(1, 3) ? 60 : 1;
        for (uint64_t k = 0; k < frames; ++k)
          feed(AudioPlayed{*s, static_cast<int32_t>(rng_.between(-90, -10))}, {}, {});
        return;
      }
    }
    if (roll < 27 && rng_.chance(1, 4)) {
      if (auto s = pick_open()) {
        const auto reason = static_cast<RecordingStopReason>(rng_.below(5));
        return feed(RecordingFailed{*s, reason}, {}, {});  // the disk filled up, or a write failed
      }
    }
    if (roll < 27) {
      if (auto s = pick_open())
        return feed(BadRequest{*s, DecodeError{rng_.below(9), ErrorCode::bad_json, ""}}, *s, {});
    }
    if (roll < 28 && !closed_pending_.empty()) return late_request();
    if (roll < 30) return media_probe();
    if (roll == 99 && rng_.chance(1, 20)) return feed(Shutdown{}, {}, {});  // rare: everyone told and closed
    if (auto s = pick_open()) return feed(RequestReceived{*s, Request{next_request_++, random_request(*s)}}, *s, {});
    advance_time();
  }

  // A request that was in flight when the core closed its session: ignored, nothing sent.
  void late_request() {
    std::vector<Effect> out;
    step(core_, now_, RequestReceived{closed_pending_.front(), Request{next_request_++, WhoRequest{}}}, out, true);
    if (!out.empty()) fail("a request from a session the core closed produced effects");
  }

  // A UDP proof: mostly someone's real key and id with a small counter (replays happen), from
  // one of a few endpoints; sometimes forged (another key) or naming nobody.
  void media_probe() {
    MediaProbeDatagram probe;
    probe.media_id = rng_.next();
    std::optional<std::pair<std::string, std::string>> proven;
    if (!obs_.token_of.empty() && rng_.chance(4, 5)) {
      auto it = obs_.token_of.begin();
      std::advance(it, static_cast<long>(rng_.below(obs_.token_of.size())));
      SecretKey key;
      std::array<uint8_t, 8> id{};
      REQUIRE(from_hex(it->second.first, key.bytes));
      REQUIRE(from_hex(it->second.second, id));
      probe.media_id = 0;
      for (uint8_t b : id) probe.media_id = (probe.media_id << 8) | b;
      probe.counter = rng_.below(40);
      const bool forged = rng_.chance(1, 5);
      if (forged)
        key.bytes[3] ^= 0x40;
      else
        proven = it->second;
      probe.mac = media_probe_mac(key, probe.media_id, probe.counter);
    }
    const MediaEndpoint from{"203.0.113." + std::to_string(rng_.below(3)),
                             static_cast<uint16_t>(40'000 + rng_.below(3))};
    probed_ = proven;
    feed(MediaProbe{probe, from}, {}, {});
    probed_.reset();
  }

  void open_session() {
    const SessionId s{next_session_++};
    feed(SessionOpened{s, "198.51.100." + std::to_string(s.value % 250), stand_in_secrets(s.value), false}, {}, {});
    if (!obs_.open.contains(s)) return;  // refused: server_full
    if (rng_.chance(1, 10)) return;      // stays unregistered for a while
    if (rng_.chance(2, 3)) {
      pending_name_ = pick_name();
      feed(RequestReceived{s, Request{next_request_++, RegisterRequest{1, pending_name_, 4000, {}, {}, {}}}}, s, {});
    } else {
      pending_name_ = pick_name();
      pending_room_ = "r" + std::to_string(rng_.below(3));
      const Role role = rng_.chance(1, 5) ? Role::instructor : Role::student;
      feed(RequestReceived{s, Request{next_request_++, JoinRequest{1, pending_name_, pending_room_, role,
                                                                   AudioCodec::pcm16, 48000, ""}}},
           s, {});
    }
  }

  void advance_time() {
    const auto deadline = core_.next_deadline();
    if (deadline && rng_.chance(1, 2)) {
      now_ = std::max(now_, *deadline);  // exactly on a deadline
    } else {
      now_ = now_ + Duration::from_ms(rng_.chance(1, 4) ? rng_.between(1000, 8000) : rng_.between(0, 300));
    }
    feed(TimerFired{}, {}, {});
  }

  void feed(const Event& event, std::optional<SessionId> requester, std::optional<SessionId> closed_by_peer) {
    if (requester && !obs_.open.contains(*requester)) return;
    if (std::holds_alternative<SessionOpened>(event)) obs_.open.insert(std::get<SessionOpened>(event).session);
    effects_.clear();
    step(core_, now_, event, effects_, true);
    if (closed_by_peer) depart(*closed_by_peer);
    observe(event, requester);
    if (closed_by_peer) forget(*closed_by_peer);  // after its effects (routes closing) were seen
    for (const Effect& e : effects_) hash_ = derive_seed(hash_, describe(e));  // FNV-1a chained over the trace
  }

  // A session leaves: nothing may be sent to it from now on and its wait is over (unheard).
  void depart(SessionId s) {
    obs_.open.erase(s);
    obs_.token_of.erase(s);
    obs_.waiting_on.erase(s);
    obs_.wait_state.erase(s);
  }

  void forget(SessionId s) {
    if (auto it = obs_.name_of.find(s); it != obs_.name_of.end()) {
      obs_.calls_user.erase(it->second);
      obs_.name_of.erase(it);
    }
    obs_.call_of.erase(s);
    obs_.waiting_on.erase(s);
    obs_.wait_state.erase(s);
    if (auto it = obs_.room_of.find(s); it != obs_.room_of.end()) {
      if (obs_.speaker.contains(it->second) && obs_.speaker[it->second] == s)
        fail("a departed speaker's route stayed open");
      obs_.room_of.erase(it);
    }
  }

  void observe(const Event& event, std::optional<SessionId> requester) {
    int replies = 0;
    std::vector<SessionId> closed_by_core;
    for (const Effect& e : effects_) {
      if (const auto* c = std::get_if<CloseSession>(&e)) {
        if (!obs_.open.contains(c->session)) fail("close of a session that is not open");
        closed_pending_.push_back(c->session);
        closed_by_core.push_back(c->session);
        depart(c->session);
        continue;
      }
      if (const auto* r = std::get_if<RouteSpeaker>(&e)) {
        observe_route(*r);
        continue;
      }
      if (const auto* b = std::get_if<Broadcast>(&e)) {
        if (b->to.empty()) fail("a broadcast to nobody");
        const bool is_reply =
            std::holds_alternative<OkReply>(b->message) || std::holds_alternative<ErrorReply>(b->message);
        if (is_reply) fail("a reply broadcast");
        for (SessionId to : b->to) observe_sent(to, b->message, event, e);
        continue;
      }
      const auto* m = std::get_if<SendMessage>(&e);
      if (m == nullptr) continue;
      const bool is_reply =
          std::holds_alternative<OkReply>(m->message) || std::holds_alternative<ErrorReply>(m->message);
      if (is_reply && requester && m->to == *requester) ++replies;
      observe_sent(m->to, m->message, event, e);
    }
    if (requester && obs_.open.contains(*requester) && replies != 1) {
      if (!std::holds_alternative<SessionClosed>(event)) fail("a request got " + std::to_string(replies) + " replies");
    }
    for (SessionId s : closed_by_core) forget(s);
    compare_with_core();
    // The adapter reports our closes a little later, as a real one would.
    if (!closed_pending_.empty() && rng_.chance(1, 2)) {
      const SessionId s = closed_pending_.front();
      closed_pending_.erase(closed_pending_.begin());
      std::vector<Effect> out;
      step(core_, now_, SessionClosed{s, CloseReason::heartbeat_timeout}, out, true);
      if (!out.empty()) fail("the adapter's report of a core close produced effects");
    }
  }

  // Every message, to one or many: to an open session, decodable, and seen by the observer.
  void observe_sent(SessionId to, const ServerMessage& message, const Event& event, const Effect& e) {
    if (!obs_.open.contains(to)) fail("message to a closed session: " + describe(e));
    if (const auto* ready = std::get_if<MediaReady>(&message)) {
      if (!probed_ || obs_.token_of[to] != *probed_) fail("media_ready to someone whose token was not proven");
      (void)ready;
    }
    const ReplyKind kind =
        std::holds_alternative<OkReply>(message) ? reply_kind(std::get<OkReply>(message).data) : ReplyKind::none;
    const auto back = decode_server_message(encode(message), any_reply_is(kind));
    if (!std::holds_alternative<ServerMessage>(back) || std::get<ServerMessage>(back) != message) {
      fail("a server message does not round-trip through the codec: " + describe(e));
    }
    kinds_seen_.insert(std::string(message_type(message)));
    observe_message(to, message, event);
  }

  void observe_route(const RouteSpeaker& r) {
    const auto room = obs_.room_of.find(r.talker);
    if (room == obs_.room_of.end()) fail("speaker route for a session in no room");
    if (room->second != r.room) fail("speaker route names another room");
    auto& holder = obs_.speaker[room->second];
    if (r.open) {
      if (holder != SessionId{}) fail("two talkers in room " + room->second);
      holder = r.talker;
    } else {
      if (holder != r.talker) fail("closing a speaker route that was not open");
      holder = SessionId{};
    }
  }

  void observe_message(SessionId to, const ServerMessage& message, const Event& event) {
    if (const auto* ok = std::get_if<OkReply>(&message)) {
      if (const auto* reg = std::get_if<RegisteredData>(&ok->data)) {
        obs_.name_of[to] = reg->name;
        obs_.calls_user[reg->name] = to;
        for (const auto& [other, token] : obs_.token_of) {
          if (token.first == reg->media_token) fail("two sessions got the same media key");
          if (token.second == reg->media_id) fail("two sessions got the same media id");
        }
        obs_.token_of[to] = {reg->media_token, reg->media_id};
      }
      const auto* req = std::get_if<RequestReceived>(&event);
      if (std::holds_alternative<RoomData>(ok->data) && req && std::holds_alternative<JoinRequest>(req->request.body)) {
        obs_.name_of[to] = pending_name_;
        obs_.room_of[to] = pending_room_;
      }
    } else if (const auto* ringing = std::get_if<CallRinging>(&message)) {
      if (obs_.call_of.contains(to)) fail("a user in two calls");
      obs_.call_of[to] = ringing->call_id;
    } else if (const auto* ended = std::get_if<CallEnded>(&message)) {
      if (obs_.call_of[to] != ended->call_id) fail("end of a call the user was not in");
      obs_.call_of.erase(to);
    } else if (const auto* update = std::get_if<WaitUpdate>(&message)) {
      auto it = obs_.waiting_on.find(to);
      if (it != obs_.waiting_on.end() && it->second != update->callee) fail("a caller in two queues");
      obs_.waiting_on[to] = update->callee;
      obs_.wait_state[to] = *update;
    } else if (std::holds_alternative<WaitEnded>(message)) {
      if (!obs_.waiting_on.contains(to)) fail("wait_ended for a caller who was not waiting");
      obs_.waiting_on.erase(to);
      obs_.wait_state.erase(to);
    } else if (const auto* available = std::get_if<CalleeAvailable>(&message)) {
      if (!available->auto_connect) check_fifo(to, available->callee);
    }
  }

  // At the instant of a wake-up, from what the waiters were told so far: everyone ahead of the
  // woken waiter in the same queue must have been told it is suspended (CCBS: first non-suspended).
  void check_fifo(SessionId waiter, const std::string& callee_name) {
    const auto mine = obs_.wait_state.find(waiter);
    if (mine == obs_.wait_state.end() || mine->second.callee != callee_name) {
      fail("callee_available to someone not told it was queued");
    }
    for (const auto& [other, state] : obs_.wait_state) {
      if (other == waiter || state.callee != callee_name) continue;
      if (state.position < mine->second.position && state.status != WaitStatus::suspended) {
        fail("woken out of FIFO order: a free waiter ahead was skipped");
      }
    }
  }

  void compare_with_core() {
    for (SessionId s : obs_.open) {
      const auto core_wait = core_.waiting_on(s);
      const bool observed = obs_.waiting_on.contains(s);
      if (core_wait && !observed) fail("a wait nobody was told about");
      if (!core_wait && observed) fail("a waiter silently dropped");
      if (core_wait && obs_.name_of.at(*core_wait) != obs_.waiting_on.at(s)) fail("waiting on the wrong callee");
      if (core_.call_peer(s).has_value() != obs_.call_of.contains(s)) fail("call state differs from notices");
    }
    for (const auto& [room, holder] : core_.floor_holders()) {
      const auto it = obs_.speaker.find(room);
      const SessionId seen = it == obs_.speaker.end() ? SessionId{} : it->second;
      if (holder.value_or(SessionId{}) != seen) fail("floor holder differs from the speaker route in " + room);
    }
  }

  uint64_t seed_;
  int steps_;
  int step_ = 0;
  Prng rng_;
  Core core_;
  Time now_{0};
  Observed obs_;
  std::vector<Effect> effects_;
  std::vector<SessionId> closed_pending_;
  std::string pending_name_;
  std::optional<std::pair<std::string, std::string>> probed_;  // the key and id a valid proof being fed proves
  std::string pending_room_;
  uint64_t next_session_ = 1;
  uint64_t next_request_ = 1;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
  std::set<std::string> kinds_seen_;
};

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? fallback : std::strtoull(v, nullptr, 10);
}

uint64_t run_checked(uint64_t seed, int steps, PropertyRun* keep = nullptr) {
  try {
    if (keep != nullptr) return keep->run();
    return PropertyRun(seed, steps).run();
  } catch (const PropertyFailure& e) {
    FAIL(e.what());
  } catch (const std::exception& e) {  // an assertion inside the core
    FAIL("core assertion: " << e.what() << "\n  seed " << seed << "; reproduce: HAILER_PROPERTY_SEED=" << seed
                            << " build/tests/hailer_tests '[property]'");
  }
  return 0;
}

}  // namespace

TEST_CASE("random event sequences keep every invariant (>= 100,000 events)", "[property]") {
  const uint64_t only_seed = env_or("HAILER_PROPERTY_SEED", 0);
  const int steps = static_cast<int>(env_or("HAILER_PROPERTY_STEPS", 10'000));
  if (only_seed != 0) {
    run_checked(only_seed, steps);
    return;
  }
  CoreStats total;
  std::set<std::string> kinds;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    CAPTURE(seed);
    PropertyRun run(seed, steps);
    run_checked(seed, steps, &run);
    total.events += run.stats().events;
    total.calls_connected += run.stats().calls_connected;
    total.waits_notified += run.stats().waits_notified;
    total.floor_grants += run.stats().floor_grants;
    kinds.insert(run.kinds_seen().begin(), run.kinds_seen().end());
  }
  // Coverage floors: the generator must reach the states the invariants are about.
  CHECK(total.events >= 100'000);
  CHECK(total.calls_connected >= 500);
  CHECK(total.waits_notified >= 200);
  CHECK(total.floor_grants >= 500);
  // Every notice kind was produced, but relay_dropped: the host's relay says it, not the core
  // (tests/io/relay_host_test.cpp drives it).
  CHECK_FALSE(kinds.contains("relay_dropped"));
  CHECK(kinds.size() + 1 == std::variant_size_v<ServerMessage>);
  std::string kinds_list;
  for (const auto& k : kinds) kinds_list += k + " ";
  WARN("events " << total.events << ", kinds: " << kinds_list << "; calls connected " << total.calls_connected
                 << ", waits notified " << total.waits_notified << ", floor grants " << total.floor_grants
                 << ", message kinds " << kinds.size());
}

TEST_CASE("the same seed gives the same effect trace, byte for byte", "[property]") {
  for (uint64_t seed : {3ULL, 77ULL}) {
    const uint64_t first = run_checked(seed, 5'000);
    const uint64_t second = run_checked(seed, 5'000);
    CHECK(first == second);
    CHECK(first != run_checked(seed + 1, 5'000));  // the hash really depends on the trace
  }
}
