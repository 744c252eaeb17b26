// Call completion on busy: queueing, positions, wake-up on every kind of "free", recall windows,
// suspension of busy waiters, camp-on, cancel, expiry, disconnects and limits.
#include <catch2/catch.hpp>

#include "tests/support/core_harness.hpp"

using namespace hailer;
using hailer::test::CoreHarness;

namespace {
// bob and carol are in a call; waiters queue on bob.
struct Busy {
  CoreHarness h;
  SessionId bob, carol;
  explicit Busy(Config c = {}) : h(c) {
    bob = h.user("bob");
    carol = h.user("carol");
    h.request(carol, CallRequest{"bob", std::nullopt});
    h.request(bob, AcceptRequest{});
  }
  SessionId waiter(const std::string& name, std::optional<bool> auto_connect = std::nullopt) {
    const SessionId w = h.user(name);
    h.request(w, CallRequest{"bob", auto_connect});
    return w;
  }
};
}  // namespace

TEST_CASE("a call to a busy user queues the caller with its position, the callee sees the count", "[wait]") {
  Busy b;
  const SessionId alice = b.waiter("alice");
  auto ok = b.h.sent<OkReply>(alice);
  REQUIRE(ok.size() == 1);
  CHECK(std::get<CallData>(ok[0].data) == CallData{std::nullopt, true});
  CHECK(b.h.sent<WaitUpdate>(alice) == std::vector<WaitUpdate>{{"bob", 1, WaitStatus::queued}});
  CHECK(b.h.sent<WaitingCount>(b.bob) == std::vector<WaitingCount>{{1}});
  CHECK(b.h.core.waiting_on(alice) == b.bob);
}

TEST_CASE("the head waiter is told when the busy user hangs up", "[wait]") {
  Busy b;
  const SessionId alice = b.waiter("alice");
  b.h.request(b.bob, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(alice) == std::vector<CalleeAvailable>{{"bob", 15'000, false}});
}

TEST_CASE("the head waiter is told when the OTHER party hangs up", "[wait][regression]") {
  Busy b;
  const SessionId alice = b.waiter("alice");
  b.h.request(b.carol, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(alice).size() == 1);
}

TEST_CASE("reject, ring timeout and the peer's disconnect all free the callee for its waiters", "[wait]") {
  SECTION("reject") {
    CoreHarness h;
    const SessionId bob = h.user("bob");
    const SessionId carol = h.user("carol");
    const SessionId alice = h.user("alice");
    h.request(carol, CallRequest{"bob", std::nullopt});
    h.request(alice, CallRequest{"bob", std::nullopt});
    h.request(bob, RejectRequest{});
    CHECK(h.sent<CalleeAvailable>(alice).size() == 1);
  }
  SECTION("ring timeout") {
    Config c;
    c.heartbeat_timeout_ms = 60'000;  // the clients here send no pings
    CoreHarness h(c);
    h.user("bob");
    const SessionId carol = h.user("carol");
    const SessionId alice = h.user("alice");
    h.request(carol, CallRequest{"bob", std::nullopt});
    h.request(alice, CallRequest{"bob", std::nullopt});
    h.advance(Duration::from_ms(29'999));
    CHECK(h.sent<CalleeAvailable>(alice).empty());
    h.advance(Duration::from_ms(1));
    CHECK(h.sent<CalleeAvailable>(alice).size() == 1);
  }
  SECTION("peer disconnect") {
    Busy b;
    const SessionId alice = b.waiter("alice");
    b.h.close(b.carol);
    CHECK(b.h.sent<CalleeAvailable>(alice).size() == 1);
  }
}

TEST_CASE("three waiters are served in FIFO order with positions re-told as they change", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  const SessionId w3 = b.waiter("w3");
  CHECK(b.h.sent<WaitUpdate>(w3).at(0).position == 3);
  CHECK(b.h.sent<WaitingCount>(b.bob).at(0).count == 3);

  b.h.request(b.bob, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w1).size() == 1);
  CHECK(b.h.sent<CalleeAvailable>(w2).empty());  // only the head: no broadcast race
  CHECK(b.h.sent<CalleeAvailable>(w3).empty());

  b.h.request(w1, CallRequest{"bob", std::nullopt});  // w1 uses its window
  CHECK(b.h.sent<WaitEnded>(w1) == std::vector<WaitEnded>{{"bob", WaitEndReason::completed}});
  CHECK(b.h.sent<WaitUpdate>(w2) == std::vector<WaitUpdate>{{"bob", 1, WaitStatus::queued}});
  CHECK(b.h.sent<WaitUpdate>(w3) == std::vector<WaitUpdate>{{"bob", 2, WaitStatus::queued}});
  CHECK(b.h.sent<CallRinging>(b.bob).size() == 1);
  b.h.request(b.bob, AcceptRequest{});
  b.h.request(b.bob, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w2).size() == 1);
  b.h.request(w2, CallRequest{"bob", std::nullopt});
  b.h.request(w2, CancelRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w3).size() == 1);
}

TEST_CASE("the recall window is exclusive: anyone else calling the freed callee is queued", "[wait]") {
  Busy b;
  const SessionId alice = b.waiter("alice");
  b.h.request(b.bob, HangupRequest{});
  REQUIRE(b.h.sent<CalleeAvailable>(alice).size() == 1);
  const SessionId dave = b.h.user("dave");
  b.h.request(dave, CallRequest{"bob", std::nullopt});
  CHECK(std::get<CallData>(b.h.sent<OkReply>(dave).at(0).data).queued);
  CHECK(b.h.sent<WaitUpdate>(dave).at(0).position == 2);
  CHECK(b.h.core.presence(b.bob) == PresenceState::available);
}

TEST_CASE("the window expires: the waiter leaves and the next one is notified", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  b.h.request(b.bob, HangupRequest{});
  b.h.advance(Duration::from_ms(14'999));
  CHECK(b.h.sent<WaitEnded>(w1).empty());
  b.h.advance(Duration::from_ms(1));
  CHECK(b.h.sent<WaitEnded>(w1) == std::vector<WaitEnded>{{"bob", WaitEndReason::window_expired}});
  CHECK(b.h.sent<CalleeAvailable>(w2).size() == 1);
  CHECK_FALSE(b.h.core.waiting_on(w1).has_value());
}

TEST_CASE("a waiter busy at notify time is suspended and skipped, then served when both are free", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  const SessionId x = b.h.user("x");
  b.h.request(w1, CallRequest{"x", std::nullopt});  // a waiter may call someone free
  b.h.request(x, AcceptRequest{});
  b.h.request(b.bob, HangupRequest{});
  CHECK(b.h.sent<WaitUpdate>(w1) == std::vector<WaitUpdate>{{"bob", 1, WaitStatus::suspended}});
  CHECK(b.h.sent<CalleeAvailable>(w2).size() == 1);
  b.h.request(w2, CallRequest{"bob", std::nullopt});  // w2 takes bob; w1 still suspended
  b.h.request(b.bob, AcceptRequest{});
  b.h.request(w1, HangupRequest{});  // w1 free, bob busy: resumed, not yet notified
  CHECK(b.h.sent<WaitUpdate>(w1) == std::vector<WaitUpdate>{{"bob", 1, WaitStatus::queued}});
  CHECK(b.h.sent<CalleeAvailable>(w1).empty());
  b.h.request(b.bob, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w1).size() == 1);
}

TEST_CASE("a suspended waiter freed while the callee is free is notified at once", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId x = b.h.user("x");
  b.h.request(w1, CallRequest{"x", std::nullopt});
  b.h.request(x, AcceptRequest{});
  b.h.request(b.bob, HangupRequest{});  // w1 busy: suspended, nobody else waits
  CHECK(b.h.sent<WaitUpdate>(w1).at(0).status == WaitStatus::suspended);
  b.h.request(x, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w1).size() == 1);
}

TEST_CASE("a window holder who becomes busy is suspended and the window passes on", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  const SessionId x = b.h.user("x");
  b.h.request(b.bob, HangupRequest{});
  REQUIRE(b.h.sent<CalleeAvailable>(w1).size() == 1);
  b.h.request(x, CallRequest{"w1", std::nullopt});  // someone rings w1 during its window
  CHECK(b.h.sent<WaitUpdate>(w1).at(0).status == WaitStatus::suspended);
  CHECK(b.h.sent<CalleeAvailable>(w2).size() == 1);
}

TEST_CASE("a callee who calls out during a window puts the holder back in the queue", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  b.h.user("x");
  b.h.request(b.bob, HangupRequest{});
  REQUIRE(b.h.sent<CalleeAvailable>(w1).size() == 1);
  b.h.request(b.bob, CallRequest{"x", std::nullopt});
  CHECK(b.h.sent<WaitUpdate>(w1) == std::vector<WaitUpdate>{{"bob", 1, WaitStatus::queued}});
  b.h.request(b.bob, CancelRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w1).size() == 1);
}

TEST_CASE("the callee calling its waiter completes the wait", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  b.h.request(b.bob, HangupRequest{});
  b.h.request(b.bob, CallRequest{"w1", std::nullopt});
  CHECK(b.h.sent<WaitEnded>(w1) == std::vector<WaitEnded>{{"bob", WaitEndReason::completed}});
  CHECK(b.h.core.waiters_of(b.bob).empty());
}

TEST_CASE("camp-on: the server rings the callee for the waiter the moment it frees", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1", true);
  b.h.request(b.bob, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w1) == std::vector<CalleeAvailable>{{"bob", 0, true}});
  CHECK(b.h.sent<WaitEnded>(w1).at(0).reason == WaitEndReason::completed);
  CHECK(b.h.sent<CallRinging>(b.bob).at(0).peer == "w1");
  CHECK(b.h.core.presence(w1) == PresenceState::ringing);
}

TEST_CASE("no duplicates: calling again while queued re-tells the position", "[wait][regression]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  b.waiter("w2");
  b.h.request(w1, CallRequest{"bob", std::nullopt});
  CHECK(b.h.sent<WaitUpdate>(w1) == std::vector<WaitUpdate>{{"bob", 1, WaitStatus::queued}});
  CHECK(b.h.core.waiters_of(b.bob).size() == 2);
}

TEST_CASE("one active wait per caller, queue length bounded per callee", "[wait][limits]") {
  Config c;
  c.max_waiters_per_callee = 1;
  Busy b(c);
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  CHECK(b.h.error_to(w2) == ErrorCode::queue_full);
  CHECK_FALSE(b.h.core.waiting_on(w2).has_value());
  const SessionId x = b.h.user("x");
  const SessionId y = b.h.user("y");
  b.h.request(x, CallRequest{"y", std::nullopt});  // x and y busy
  b.h.request(w1, CallRequest{"x", std::nullopt});
  CHECK(b.h.error_to(w1) == ErrorCode::already_waiting);
  CHECK(b.h.core.waiting_on(w1) == b.bob);
  (void)y;
}

TEST_CASE("cancel_wait leaves the queue, the others move up, without a wait it is refused", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  b.h.request(w1, CancelWaitRequest{});
  CHECK(b.h.ok_to(w1));
  CHECK(b.h.sent<WaitEnded>(w1) == std::vector<WaitEnded>{{"bob", WaitEndReason::cancelled}});
  CHECK(b.h.sent<WaitUpdate>(w2).at(0).position == 1);
  CHECK(b.h.sent<WaitingCount>(b.bob).at(0).count == 1);
  b.h.request(w1, CancelWaitRequest{});
  CHECK(b.h.error_to(w1) == ErrorCode::not_waiting);
}

TEST_CASE("cancelling the window passes it to the next waiter", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  b.h.request(b.bob, HangupRequest{});
  b.h.request(w1, CancelWaitRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w2).size() == 1);
}

TEST_CASE("a wait does not expire before wait_expiry_ms, and expires at it", "[wait]") {
  Config c;
  c.wait_expiry_ms = 60'000;
  c.heartbeat_timeout_ms = 120'000;
  Busy b(c);
  const SessionId w1 = b.waiter("w1");
  b.h.advance(Duration::from_ms(59'999));
  CHECK(b.h.sent<WaitEnded>(w1).empty());
  CHECK(b.h.core.waiting_on(w1) == b.bob);
  b.h.advance(Duration::from_ms(1));
  CHECK(b.h.sent<WaitEnded>(w1) == std::vector<WaitEnded>{{"bob", WaitEndReason::expired}});
  CHECK(b.h.sent<WaitingCount>(b.bob).at(0).count == 0);
  CHECK_FALSE(b.h.core.waiting_on(w1).has_value());
}

TEST_CASE("auto_connect false opens a recall window and never rings", "[wait]") {
  Config c;
  c.auto_connect_default = true;  // the request's explicit false must win over the server default
  c.recall_window_ms = 5'000;
  Busy b(c);
  const SessionId w = b.h.user("w");
  b.h.request(w, CallRequest{"bob", false});
  b.h.request(b.carol, HangupRequest{});
  CHECK(b.h.sent<CalleeAvailable>(w) == std::vector<CalleeAvailable>{{"bob", 5'000, false}});
  CHECK(b.h.sent<CallRinging>(w).empty());
  CHECK(b.h.sent<CallRinging>(b.bob).empty());
  CHECK(b.h.core.presence(b.bob) == PresenceState::available);
  b.h.advance(Duration::from_ms(4'999));
  CHECK(b.h.sent<CallRinging>(b.bob).empty());
  CHECK(b.h.sent<WaitEnded>(w).empty());
  b.h.advance(Duration::from_ms(1));
  CHECK(b.h.sent<WaitEnded>(w) == std::vector<WaitEnded>{{"bob", WaitEndReason::window_expired}});
  CHECK(b.h.sent<CallRinging>(b.bob).empty());
}

TEST_CASE("a waiter who disconnects leaves, one holding the window passes it on", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  const SessionId w3 = b.waiter("w3");
  b.h.close(w2);
  CHECK(b.h.sent<WaitUpdate>(w3).at(0).position == 2);
  b.h.request(b.bob, HangupRequest{});
  REQUIRE(b.h.sent<CalleeAvailable>(w1).size() == 1);
  b.h.close(w1);
  CHECK(b.h.sent<CalleeAvailable>(w3).size() == 1);
}

TEST_CASE("a callee who disconnects ends every wait on it with callee_offline", "[wait]") {
  Busy b;
  const SessionId w1 = b.waiter("w1");
  const SessionId w2 = b.waiter("w2");
  b.h.close(b.bob);
  CHECK(b.h.sent<WaitEnded>(w1) == std::vector<WaitEnded>{{"bob", WaitEndReason::callee_offline}});
  CHECK(b.h.sent<WaitEnded>(w2) == std::vector<WaitEnded>{{"bob", WaitEndReason::callee_offline}});
  CHECK(b.h.sent<CallEnded>(b.carol).at(0).reason == EndReason::peer_disconnected);
}
