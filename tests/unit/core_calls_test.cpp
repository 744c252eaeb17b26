// The call state machine: call, ring, accept, reject, cancel, hangup, ring timeout, missed calls.
#include <catch2/catch.hpp>

#include "protocol/call_keys.hpp"
#include "tests/support/core_harness.hpp"

using namespace hailer;
using hailer::test::CoreHarness;

namespace {
struct Pair {
  CoreHarness h;
  SessionId a, b;
  explicit Pair(Config c = {}) : h(c) {
    a = h.user("alice", 5004, "198.51.100.1");
    b = h.user("bob", 6006, "198.51.100.2");
  }
  uint64_t ring() {
    h.request(a, CallRequest{"bob", std::nullopt});
    auto ok = h.sent<OkReply>(a);
    REQUIRE(ok.size() == 1);
    return *std::get<CallData>(ok[0].data).call_id;
  }
};
}  // namespace

TEST_CASE("call: both parties are told ringing, the reply comes first and carries the call id", "[calls]") {
  Pair p;
  const uint64_t id = p.ring();
  auto first = std::get<SendMessage>(p.h.last.front());
  CHECK(first.to == p.a);
  CHECK(std::holds_alternative<OkReply>(first.message));
  CHECK(p.h.sent<CallRinging>(p.a) == std::vector<CallRinging>{{id, "bob", CallRole::caller}});
  CHECK(p.h.sent<CallRinging>(p.b) == std::vector<CallRinging>{{id, "alice", CallRole::callee}});
  CHECK(p.h.core.presence(p.a) == PresenceState::ringing);
  CHECK(p.h.core.presence(p.b) == PresenceState::ringing);
}

TEST_CASE("accept connects: both told with the peer's observed media endpoint, media routed", "[calls]") {
  Pair p;
  const uint64_t id = p.ring();
  p.h.request(p.b, AcceptRequest{id});
  CHECK(p.h.ok_to(p.b));
  CHECK(p.h.sent<CallConnected>(p.a) == std::vector<CallConnected>{{id, "bob", {"198.51.100.2", 6006}, std::nullopt}});
  CHECK(p.h.sent<CallConnected>(p.b) ==
        std::vector<CallConnected>{{id, "alice", {"198.51.100.1", 5004}, std::nullopt}});
  auto routes = p.h.effects<RouteMedia>();
  REQUIRE(routes.size() == 2);
  CHECK(routes[0].open);
  CHECK(routes[0].from == p.a);
  CHECK(routes[0].to == p.b);
  CHECK(p.h.core.presence(p.a) == PresenceState::in_call);
}

TEST_CASE("accept and reject: by the callee only, for the pending call only", "[calls]") {
  Pair p;
  const uint64_t id = p.ring();
  p.h.request(p.a, AcceptRequest{});  // the caller cannot accept its own call
  CHECK(p.h.error_to(p.a) == ErrorCode::no_pending_call);
  p.h.request(p.b, AcceptRequest{id + 100});  // not the pending call
  CHECK(p.h.error_to(p.b) == ErrorCode::no_pending_call);
  p.h.request(p.a, RejectRequest{});
  CHECK(p.h.error_to(p.a) == ErrorCode::no_pending_call);
  CHECK(p.h.core.presence(p.b) == PresenceState::ringing);  // state unchanged
  p.h.request(p.b, AcceptRequest{id});
  CHECK(p.h.ok_to(p.b));
  p.h.request(p.b, AcceptRequest{id});  // no longer pending
  CHECK(p.h.error_to(p.b) == ErrorCode::no_pending_call);
}

TEST_CASE("reject ends the call for both, naming who rejected", "[calls]") {
  Pair p;
  const uint64_t id = p.ring();
  p.h.request(p.b, RejectRequest{});
  CHECK(p.h.sent<CallEnded>(p.a) == std::vector<CallEnded>{{id, "bob", EndReason::rejected, "bob"}});
  CHECK(p.h.sent<CallEnded>(p.b) == std::vector<CallEnded>{{id, "alice", EndReason::rejected, "bob"}});
  CHECK(p.h.core.presence(p.a) == PresenceState::available);
  CHECK(p.h.core.presence(p.b) == PresenceState::available);
}

TEST_CASE("the caller can cancel while ringing, cancel without an outgoing call is refused", "[calls]") {
  Pair p;
  p.h.request(p.a, CancelRequest{});
  CHECK(p.h.error_to(p.a) == ErrorCode::no_outgoing_call);
  const uint64_t id = p.ring();
  p.h.request(p.b, CancelRequest{});  // the callee has no outgoing call
  CHECK(p.h.error_to(p.b) == ErrorCode::no_outgoing_call);
  p.h.request(p.a, CancelRequest{});
  CHECK(p.h.sent<CallEnded>(p.b) == std::vector<CallEnded>{{id, "alice", EndReason::cancelled, "alice"}});
  p.ring();
  p.h.request(p.b, AcceptRequest{});
  p.h.request(p.a, CancelRequest{});  // connected: nothing to cancel
  CHECK(p.h.error_to(p.a) == ErrorCode::no_outgoing_call);
}

TEST_CASE("hangup by either side ends the call and closes the media routes", "[calls]") {
  for (int side = 0; side < 2; ++side) {
    Pair p;
    const uint64_t id = p.ring();
    p.h.request(p.b, AcceptRequest{});
    const SessionId who = side == 0 ? p.a : p.b;
    const std::string name = side == 0 ? "alice" : "bob";
    p.h.request(who, HangupRequest{});
    CHECK(p.h.ok_to(who));
    CHECK(p.h.sent<CallEnded>(p.a) == std::vector<CallEnded>{{id, "bob", EndReason::hangup, name}});
    CHECK(p.h.sent<CallEnded>(p.b) == std::vector<CallEnded>{{id, "alice", EndReason::hangup, name}});
    auto routes = p.h.effects<RouteMedia>();
    REQUIRE(routes.size() == 2);
    CHECK_FALSE(routes[0].open);
    CHECK_FALSE(routes[1].open);
    p.h.request(who, HangupRequest{});
    CHECK(p.h.error_to(who) == ErrorCode::not_in_call);
  }
}

TEST_CASE("hangup while ringing is a cancel for the caller and a reject for the callee", "[calls]") {
  Pair p;
  p.ring();
  p.h.request(p.a, HangupRequest{});
  CHECK(p.h.sent<CallEnded>(p.b).at(0).reason == EndReason::cancelled);
  p.ring();
  p.h.request(p.b, HangupRequest{});
  CHECK(p.h.sent<CallEnded>(p.a).at(0).reason == EndReason::rejected);
}

TEST_CASE("ring timeout: no answer for both and a missed call for the callee", "[calls]") {
  Config c;
  c.ring_timeout_ms = 30'000;
  c.heartbeat_timeout_ms = 60'000;  // the clients here send no pings
  Pair p(c);
  const uint64_t id = p.ring();
  p.h.advance(Duration::from_ms(29'999));
  CHECK(p.h.sent<CallEnded>(p.a).empty());
  p.h.advance(Duration::from_ms(1));
  CHECK(p.h.sent<CallEnded>(p.a) == std::vector<CallEnded>{{id, "bob", EndReason::no_answer, ""}});
  CHECK(p.h.sent<MissedCall>(p.b) == std::vector<MissedCall>{{"alice", 30'000}});
  p.h.request(p.b, MissedRequest{});
  auto ok = p.h.sent<OkReply>(p.b);
  REQUIRE(ok.size() == 1);
  CHECK(std::get<MissedData>(ok[0].data).calls == std::vector<MissedCallInfo>{{"alice", 30'000}});
}

TEST_CASE("missed calls are bounded per user, oldest dropped first", "[calls][limits]") {
  Config c;
  c.ring_timeout_ms = 10;
  c.max_missed_calls = 2;
  Pair p(c);
  for (int i = 0; i < 3; ++i) {
    p.ring();
    p.h.advance(Duration::from_ms(10));
  }
  p.h.request(p.b, MissedRequest{});
  auto calls = std::get<MissedData>(p.h.sent<OkReply>(p.b).at(0).data).calls;
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].at_ms == 20);
  CHECK(calls[1].at_ms == 30);
}

TEST_CASE("call errors: unknown user, bad name, self call, caller busy, wrong face", "[calls]") {
  Pair p;
  p.h.request(p.a, CallRequest{"nobody", std::nullopt});
  CHECK(p.h.error_to(p.a) == ErrorCode::user_not_found);
  p.h.request(p.a, CallRequest{"bad name!", std::nullopt});
  CHECK(p.h.error_to(p.a) == ErrorCode::bad_name);
  p.h.request(p.a, CallRequest{"ALICE", std::nullopt});
  CHECK(p.h.error_to(p.a) == ErrorCode::self_call);
  p.h.member("ann", "room");
  p.h.request(p.a, CallRequest{"ann", std::nullopt});  // a PTT member is not a calls user
  CHECK(p.h.error_to(p.a) == ErrorCode::user_not_found);
  p.ring();
  const SessionId c = p.h.user("carol");
  p.h.request(p.a, CallRequest{"carol", std::nullopt});
  CHECK(p.h.error_to(p.a) == ErrorCode::caller_busy);
  p.h.request(p.a, PressRequest{});
  CHECK(p.h.error_to(p.a) == ErrorCode::wrong_face);
  (void)c;
}

TEST_CASE("a disconnect mid-call ends it for the peer with peer_disconnected", "[calls]") {
  Pair p;
  const uint64_t id = p.ring();
  p.h.request(p.b, AcceptRequest{});
  p.h.close(p.a);
  CHECK(p.h.sent<CallEnded>(p.b) == std::vector<CallEnded>{{id, "alice", EndReason::peer_disconnected, "alice"}});
  for (SessionId to : p.h.recipients()) CHECK(to != p.a);
  CHECK(p.h.core.presence(p.b) == PresenceState::available);
}

TEST_CASE("a proven UDP endpoint is announced to the peer, the declared port otherwise", "[calls][media]") {
  CoreHarness h;
  const SessionId a = h.open("192.0.2.1");
  h.request(a, RegisterRequest{1, "alice", 5004, {}, {}, {}});
  const RegisteredData reg = h.registered(a);
  CHECK(reg.media_token.size() == 32);  // 128 secret bits
  CHECK(reg.media_id.size() == 16);
  const SessionId b = h.user("bob", 6006, "192.0.2.2");
  const RegisteredData bob = h.registered(b);
  CHECK(bob.media_token != reg.media_token);
  CHECK(bob.media_id != reg.media_id);

  // alice is behind a NAT: her proof arrives from another address and port.
  h.feed(MediaProbe{CoreHarness::proof(reg, 1), {"203.0.113.7", 40123}});
  CHECK(h.sent<MediaReady>(a) == std::vector<MediaReady>{{"203.0.113.7", 40123}});
  h.feed(MediaProbe{CoreHarness::proof(reg, 2), {"203.0.113.7", 40123}});  // a keepalive: nothing new to tell
  CHECK(h.last.empty());
  CHECK(h.core.stats().media_probes == 2);

  h.request(a, CallRequest{"bob", std::nullopt});
  h.request(b, AcceptRequest{});
  // bob sends to where alice's proof came from; alice to bob's signaling host and declared port.
  CHECK(h.sent<CallConnected>(b).at(0).peer_media == MediaEndpoint{"203.0.113.7", 40123});
  CHECK(h.sent<CallConnected>(a).at(0).peer_media == MediaEndpoint{"192.0.2.2", 6006});
  CHECK(h.core.observed_media(a) == MediaEndpoint{"203.0.113.7", 40123});

  // The key dies with its session.
  h.close(a);
  h.feed(MediaProbe{CoreHarness::proof(reg, 3), {"203.0.113.7", 40123}});
  CHECK(h.core.stats().media_probes_unknown == 1);
}

TEST_CASE("a media endpoint moves only on a proof made with the key, never on a replay or a forgery",
          "[calls][media][security]") {
  CoreHarness h;
  const SessionId a = h.user("alice", 5004);
  const RegisteredData reg = h.registered(a);
  h.feed(MediaProbe{CoreHarness::proof(reg, 5), {"203.0.113.7", 40123}});
  REQUIRE(h.sent<MediaReady>(a).size() == 1);

  // An attacker who knows the id but not the key: a MAC under any other key moves nothing.
  h.feed(MediaProbe{CoreHarness::proof(reg, 6, true), {"198.51.100.66", 9}});
  CHECK(h.last.empty());
  CHECK(h.core.stats().media_probes_forged == 1);
  // The proof seen on the wire, replayed from the attacker's address: its counter is not new.
  h.feed(MediaProbe{CoreHarness::proof(reg, 5), {"198.51.100.66", 9}});
  h.feed(MediaProbe{CoreHarness::proof(reg, 4), {"198.51.100.66", 9}});
  CHECK(h.last.empty());
  CHECK(h.core.stats().media_probes_replayed == 2);
  // A name nobody holds.
  MediaProbeDatagram nobody = CoreHarness::proof(reg, 7);
  nobody.media_id ^= 1;
  h.feed(MediaProbe{nobody, {"198.51.100.66", 9}});
  CHECK(h.core.stats().media_probes_unknown == 1);
  CHECK(h.core.observed_media(a) == MediaEndpoint{"203.0.113.7", 40123});

  // alice herself moves (a new NAT binding): her next proof is believed.
  h.feed(MediaProbe{CoreHarness::proof(reg, 6), {"203.0.113.8", 50000}});
  CHECK(h.sent<MediaReady>(a) == std::vector<MediaReady>{{"203.0.113.8", 50000}});
}

TEST_CASE("media proofs are rate-limited per session and per source address, boundaries pinned",
          "[calls][media][security]") {
  Config c;
  c.max_media_probes_per_session_per_second = 4;
  c.max_media_probes_per_address_per_second = 10;
  CoreHarness h(c);
  const SessionId a = h.user("alice", 5004);
  const RegisteredData reg = h.registered(a);
  const MediaEndpoint home{"203.0.113.7", 40123};
  uint64_t counter = 0;
  for (int k = 0; k < 4; ++k) h.feed(MediaProbe{CoreHarness::proof(reg, ++counter), home});
  CHECK(h.core.stats().media_probes == 4);
  h.feed(MediaProbe{CoreHarness::proof(reg, ++counter), home});  // the fifth in the same instant
  CHECK(h.core.stats().media_probes == 4);
  CHECK(h.core.stats().media_probes_limited == 1);
  // One token comes back every 250 ms: not a millisecond before.
  h.advance(Duration::from_ms(249));
  h.feed(MediaProbe{CoreHarness::proof(reg, ++counter), home});
  CHECK(h.core.stats().media_probes == 4);
  h.advance(Duration::from_ms(1));
  h.feed(MediaProbe{CoreHarness::proof(reg, ++counter), home});
  CHECK(h.core.stats().media_probes == 5);

  // A flood of forgeries from one address spends that address's budget, not alice's: after ten
  // its proofs are dropped unread, and alice's own proofs from home still count.
  h.advance(Duration::from_s(2));
  const uint64_t limited = h.core.stats().media_probes_limited;
  for (int k = 0; k < 30; ++k) h.feed(MediaProbe{CoreHarness::proof(reg, 1000 + k, true), {"198.51.100.66", 9}});
  CHECK(h.core.stats().media_probes_forged == 10);
  CHECK(h.core.stats().media_probes_limited == limited + 20);
  h.feed(MediaProbe{CoreHarness::proof(reg, ++counter), home});
  CHECK(h.core.stats().media_probes == 6);
}

TEST_CASE("media proofs do not keep a session alive: only its signaling does", "[calls][media][security]") {
  Config c;
  c.heartbeat_timeout_ms = 3'000;
  CoreHarness h(c);
  const SessionId a = h.user("alice", 5004);
  const RegisteredData reg = h.registered(a);
  for (uint64_t k = 1; k <= 11; ++k) {
    h.advance(Duration::from_ms(250));
    h.feed(MediaProbe{CoreHarness::proof(reg, k), {"203.0.113.7", 40123}});
  }
  h.advance(Duration::from_ms(249));  // 2,999 ms since alice last spoke on her connection
  CHECK(h.core.presence(a).has_value());
  h.advance(Duration::from_ms(1));
  const auto closes = h.effects<CloseSession>();
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].session == a);
  CHECK(closes[0].reason == CloseReason::heartbeat_timeout);
  CHECK_FALSE(h.core.presence(a).has_value());
  // Her name is free for her next connection at once.
  const SessionId again = h.open();
  h.request(again, RegisterRequest{1, "alice", 5004, {}, {}, {}});
  CHECK(h.ok_to(again));
}

TEST_CASE("close reasons from the adapter are counted by reason", "[presence]") {
  CoreHarness h;
  const SessionId a = h.user("alice");
  const SessionId b = h.user("bob");
  h.feed(SessionClosed{a, CloseReason::slow_reader});
  h.feed(SessionClosed{b, CloseReason::reset});
  CHECK(h.core.stats().closed_by_reason[static_cast<std::size_t>(CloseReason::slow_reader)] == 1);
  CHECK(h.core.stats().closed_by_reason[static_cast<std::size_t>(CloseReason::reset)] == 1);
  CHECK(to_string(CloseReason::slow_reader) == "slow_reader");
  CHECK(h.core.session_count() == 0);
}

// ------------------------------------------------------------------ media keys (end-to-end media)

namespace {
LoginKey account_of(uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  return login_key_from_seed(seed);
}
MediaKeyRequest key_for(const LoginKey& account, uint64_t call_id, const std::string& name, uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  const CallKeyPair k = call_key_pair_from_seed(seed);
  return MediaKeyRequest{call_id, to_hex(k.public_key), login_key_hex(account),
                         call_key_signature(account, call_id, name, k.public_key)};
}
}  // namespace

TEST_CASE("media_key: relayed to the peer as sent, once per side per call, ringing or connected", "[calls][e2e]") {
  Pair p;
  const uint64_t id = p.ring();
  const MediaKeyRequest a_key = key_for(account_of(1), id, "alice", 7);
  p.h.request(p.a, a_key);
  CHECK(p.h.ok_to(p.a));
  CHECK(p.h.sent<PeerMediaKey>(p.b) ==
        std::vector<PeerMediaKey>{{id, "alice", a_key.key, a_key.account_key, a_key.signature}});
  CHECK(p.h.sent<PeerMediaKey>(p.a).empty());
  p.h.request(p.a, a_key);
  CHECK(p.h.error_to(p.a) == ErrorCode::key_already_sent);  // a call's keys do not change
  CHECK(p.h.sent<PeerMediaKey>(p.b).empty());
  p.h.request(p.b, AcceptRequest{id});
  p.h.request(p.b, key_for(account_of(2), id, "bob", 8));
  CHECK(p.h.ok_to(p.b));
  CHECK(p.h.sent<PeerMediaKey>(p.a).size() == 1);
}

TEST_CASE("media_key: refused outside the call, malformed, or not signed for this call and sender", "[calls][e2e]") {
  Pair p;
  const LoginKey alice = account_of(1);
  p.h.request(p.a, key_for(alice, 1, "alice", 7));
  CHECK(p.h.error_to(p.a) == ErrorCode::not_in_call);
  const uint64_t id = p.ring();
  p.h.request(p.a, key_for(alice, id + 1, "alice", 7));
  CHECK(p.h.error_to(p.a) == ErrorCode::not_in_call);  // another call's id
  MediaKeyRequest bad = key_for(alice, id, "alice", 7);
  bad.key = "xyz";
  p.h.request(p.a, bad);
  CHECK(p.h.error_to(p.a) == ErrorCode::bad_field);
  bad = key_for(alice, id, "alice", 7);
  bad.account_key.pop_back();
  p.h.request(p.a, bad);
  CHECK(p.h.error_to(p.a) == ErrorCode::bad_field);
  p.h.request(p.a, key_for(alice, id, "bob", 7));  // signed as if from bob
  CHECK(p.h.error_to(p.a) == ErrorCode::bad_signature);
  bad = key_for(alice, id, "alice", 7);
  bad.signature[5] = bad.signature[5] == 'a' ? 'b' : 'a';
  p.h.request(p.a, bad);
  CHECK(p.h.error_to(p.a) == ErrorCode::bad_signature);
  CHECK(p.h.sent<PeerMediaKey>(p.b).empty());
  // None of that used the side's one key: a good one still goes through.
  p.h.request(p.a, key_for(alice, id, "alice", 7));
  CHECK(p.h.ok_to(p.a));
  CHECK(p.h.sent<PeerMediaKey>(p.b).size() == 1);
}

TEST_CASE("media_key with accounts: only under the key the session logged in with", "[calls][e2e][accounts]") {
  Config c;
  c.accounts = AccountsMode::open;
  CoreHarness h(c);
  const LoginKey alice = account_of(1), bob = account_of(2), mallory = account_of(3);
  ChannelBinding ba{}, bb{};
  ba.fill(1);
  bb.fill(2);
  const SessionId a = h.open_bound(ba);
  h.request(a, RegisterRequest{1, "alice", 0, login_key_hex(alice), login_signature(alice, ba, "alice"), {}});
  REQUIRE(h.ok_to(a));
  const SessionId b = h.open_bound(bb);
  h.request(b, RegisterRequest{1, "bob", 0, login_key_hex(bob), login_signature(bob, bb, "bob"), {}});
  REQUIRE(h.ok_to(b));
  h.request(a, CallRequest{"bob", std::nullopt});
  const uint64_t id = *std::get<CallData>(h.sent<OkReply>(a).at(0).data).call_id;
  h.request(a, key_for(mallory, id, "alice", 7));  // validly signed, by another account
  CHECK(h.error_to(a) == ErrorCode::bad_signature);
  h.request(a, key_for(alice, id, "alice", 7));
  CHECK(h.ok_to(a));
  CHECK(h.sent<PeerMediaKey>(b).size() == 1);
}
