// One named test per bug of the original designs (docs/design.md, "What the original designs got
// wrong") that the core could have, proving hailer does not have it. Bugs that live
// in adapters (blocking sends, Nagle, raw PCM, browser sample rates) are covered where those
// adapters are built.
#include <catch2/catch.hpp>

#include "protocol/codec.hpp"
#include "protocol/names.hpp"
#include "tests/support/core_harness.hpp"

using namespace hailer;
using hailer::test::CoreHarness;

namespace {
// bob talks to carol; `waiters` queue on bob in order.
struct BusyBob {
  CoreHarness h;
  SessionId bob, carol;
  std::vector<SessionId> waiters;
  explicit BusyBob(int n) {
    bob = h.user("bob");
    carol = h.user("carol");
    h.request(carol, CallRequest{"bob", std::nullopt});
    h.request(bob, AcceptRequest{});
    for (int i = 0; i < n; ++i) {
      waiters.push_back(h.user("w" + std::to_string(i)));
      h.request(waiters.back(), CallRequest{"bob", std::nullopt});
    }
  }
};
}  // namespace

TEST_CASE("bug: waiters were told only when the BUSY user hung up, not when the other party did", "[regression]") {
  BusyBob b(1);
  b.h.request(b.carol, HangupRequest{});  // the other party ends the call
  CHECK(b.h.sent<CalleeAvailable>(b.waiters[0]).size() == 1);
}

TEST_CASE("bug: all waiters were broadcast at once and raced", "[regression]") {
  BusyBob b(3);
  b.h.request(b.bob, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(b.waiters[0]).size() == 1);
  CHECK(b.h.sent<CalleeAvailable>(b.waiters[1]).empty());
  CHECK(b.h.sent<CalleeAvailable>(b.waiters[2]).empty());
}

TEST_CASE("bug: duplicate waiters were kept", "[regression]") {
  BusyBob b(1);
  for (int i = 0; i < 5; ++i) b.h.request(b.waiters[0], CallRequest{"bob", std::nullopt});
  CHECK(b.h.core.waiters_of(b.bob).size() == 1);
}

TEST_CASE("bug: the waiting list never shrank", "[regression]") {
  BusyBob b(2);
  b.h.request(b.bob, HangupRequest{});
  b.h.request(b.waiters[0], CallRequest{"bob", std::nullopt});  // served
  CHECK(b.h.core.waiters_of(b.bob).size() == 1);
  b.h.request(b.waiters[1], CancelWaitRequest{});
  CHECK(b.h.core.waiters_of(b.bob).empty());
}

TEST_CASE("bug: accept was honoured without a pending call (anyone could force a call)", "[regression]") {
  CoreHarness h;
  const SessionId a = h.user("alice");
  h.user("bob");
  h.request(a, AcceptRequest{});
  CHECK(h.error_to(a) == ErrorCode::no_pending_call);
  CHECK(h.core.presence(a) == PresenceState::available);
  CHECK(h.effects<RouteMedia>().empty());
}

TEST_CASE("bug: no ring timeout: a call could ring forever", "[regression]") {
  Config c;
  c.heartbeat_timeout_ms = 120'000;
  CoreHarness h(c);
  const SessionId a = h.user("alice");
  h.user("bob");
  h.request(a, CallRequest{"bob", std::nullopt});
  h.advance(Duration::from_ms(c.ring_timeout_ms - 1));
  CHECK(h.sent<CallEnded>(a).empty());
  h.advance(Duration::from_ms(1));
  CHECK(h.sent<CallEnded>(a).at(0).reason == EndReason::no_answer);
}

TEST_CASE("bug: no heartbeat: a silently dropped user stayed online forever", "[regression]") {
  CoreHarness h;
  const SessionId a = h.user("alice");
  h.advance(Duration::from_ms(h.core.config().heartbeat_timeout_ms - 1));
  CHECK(h.core.presence(a).has_value());
  h.advance(Duration::from_ms(1));
  CHECK_FALSE(h.core.presence(a).has_value());
}

TEST_CASE("bug: no cancel: the caller could not stop a ringing call", "[regression]") {
  CoreHarness h;
  const SessionId a = h.user("alice");
  h.user("bob");
  h.request(a, CallRequest{"bob", std::nullopt});
  h.request(a, CancelRequest{});
  CHECK(h.core.presence(a) == PresenceState::available);
}

TEST_CASE("bug: re-registering on one connection left ghost users", "[regression]") {
  CoreHarness h;
  const SessionId a = h.user("alice");
  h.request(a, RegisterRequest{1, "alias", 0, {}, {}, {}});
  CHECK(h.error_to(a) == ErrorCode::already_registered);
  h.request(a, WhoRequest{});
  CHECK(std::get<WhoData>(h.sent<OkReply>(a).at(0).data).users.size() == 1);
}

TEST_CASE("bug: a malformed field (non-numeric port) killed the connection", "[regression]") {
  const auto r = decode_request(R"({"type":"register","id":1,"version":1,"name":"a","media_port":"abc"})", 4096);
  REQUIRE(std::holds_alternative<DecodeError>(r));
  CHECK(std::get<DecodeError>(r).code == ErrorCode::bad_field);
  CoreHarness h;
  const SessionId a = h.open();
  h.feed(BadRequest{a, std::get<DecodeError>(r)});
  CHECK(h.error_to(a) == ErrorCode::bad_field);
  h.request(a, RegisterRequest{1, "alice", 4000, {}, {}, {}});  // the session lives on
  CHECK(h.ok_to(a));
}

TEST_CASE("bug: any sender's datagrams were played (no media admission)", "[regression]") {
  CoreHarness h;
  const SessionId a = h.user("alice");
  const SessionId b = h.user("bob");
  h.request(a, CallRequest{"bob", std::nullopt});
  CHECK(h.effects<RouteMedia>().empty());  // ringing: no media path yet
  h.request(b, AcceptRequest{});
  const auto routes = h.effects<RouteMedia>();
  REQUIRE(routes.size() == 2);  // exactly the two parties, to each other
  CHECK(((routes[0].from == a && routes[0].to == b) && (routes[1].from == b && routes[1].to == a)));
}

TEST_CASE("bug: the floor was held per connection instead of per press", "[regression]") {
  CoreHarness h;
  const SessionId ann = h.member("ann", "class");
  const SessionId ben = h.member("ben", "class");
  h.request(ann, PressRequest{});
  h.request(ann, ReleaseRequest{});
  h.request(ben, PressRequest{});
  CHECK(h.sent<FloorGranted>(ben).size() == 1);  // ann's connection does not keep the floor
}

TEST_CASE("bug: no queue, so denied students had to retry", "[regression]") {
  CoreHarness h;
  const SessionId t = h.member("teacher", "class", Role::instructor);
  const SessionId ann = h.member("ann", "class");
  const SessionId ben = h.member("ben", "class");
  h.request(t, SetPolicyRequest{FloorPolicy::queue});
  h.request(ann, PressRequest{});
  h.request(ben, PressRequest{});
  h.request(ann, ReleaseRequest{});
  CHECK(h.sent<FloorGranted>(ben).size() == 1);  // granted without pressing again
}

TEST_CASE("bug: a tab closed without release (close code 1001) left the floor stuck", "[regression]") {
  CoreHarness h;
  const SessionId ann = h.member("ann", "class");
  const SessionId ben = h.member("ben", "class");
  h.request(ann, PressRequest{});
  h.close(ann);  // any close code arrives as SessionClosed
  CHECK(h.sent<FloorIdle>(ben).size() == 1);
  h.request(ben, PressRequest{});
  CHECK(h.sent<FloorGranted>(ben).size() == 1);
}

TEST_CASE("bug: the student name went into the recording path unsanitized", "[regression]") {
  CoreHarness h;
  const SessionId s = h.open();
  h.request(s, JoinRequest{1, "../../x", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::bad_name);
  CHECK(recording_file_name("../../x", 1).find('/') == std::string::npos);
}

TEST_CASE("bug: two turns in one second overwrote each other's recording", "[regression]") {
  CoreHarness h;
  const SessionId ann = h.member("ann", "class");
  std::vector<std::string> files;
  for (int i = 0; i < 3; ++i) {
    h.request(ann, PressRequest{});
    files.push_back(h.effects<StartRecording>().at(0).file_name);
    h.request(ann, ReleaseRequest{});
  }
  CHECK(files == std::vector<std::string>{"ann_1.wav", "ann_2.wav", "ann_3.wav"});
}

TEST_CASE("bug: media accepted before the grant (Zello's 'channel is not ready')", "[regression]") {
  CoreHarness h;
  const SessionId ann = h.member("ann", "class");
  h.feed(AudioFrame{ann});
  CHECK(h.core.stats().audio_frames_dropped == 1);
  h.request(ann, PressRequest{});
  // The route opens in the same step as the grant, before the grant notice.
  std::size_t route_at = 99, grant_at = 99;
  for (std::size_t i = 0; i < h.last.size(); ++i) {
    if (std::holds_alternative<RouteSpeaker>(h.last[i])) route_at = i;
    const auto* m = std::get_if<SendMessage>(&h.last[i]);
    if (m != nullptr && std::holds_alternative<FloorGranted>(m->message)) grant_at = i;
  }
  CHECK(route_at < grant_at);
}
