#include "core/wait_queue.hpp"

#include <catch2/catch.hpp>

#include "base/assert.hpp"

using namespace hailer;

namespace {
Waiter waiter(uint64_t caller, uint64_t seq) {
  Waiter w;
  w.caller = SessionId{caller};
  w.seq = seq;
  return w;
}
}  // namespace

TEST_CASE("wait queue keeps FIFO order and 1-based positions", "[wait_queue]") {
  WaitQueue q(3);
  q.push(waiter(1, 1));
  q.push(waiter(2, 2));
  q.push(waiter(3, 3));
  CHECK(q.full());
  CHECK(q.position_of(SessionId{2}) == 2);
  REQUIRE(q.remove(SessionId{1}).has_value());
  CHECK(q.position_of(SessionId{2}) == 1);
  CHECK(q.position_of(SessionId{3}) == 2);
  CHECK_FALSE(q.remove(SessionId{1}).has_value());
  q.check_invariants();
}

TEST_CASE("wait queue refuses duplicates and overflow as programmer errors", "[wait_queue]") {
  WaitQueue q(1);
  q.push(waiter(1, 1));
  CHECK_THROWS_AS(q.push(waiter(1, 2)), AssertionFailure);
  CHECK_THROWS_AS(q.push(waiter(2, 3)), AssertionFailure);
}

TEST_CASE("first_eligible: only a waiter with nobody unsuspended ahead may be woken", "[wait_queue]") {
  WaitQueue q(4);
  q.push(waiter(1, 1));
  q.push(waiter(2, 2));
  CHECK(q.first_eligible(SessionId{1}));
  CHECK_FALSE(q.first_eligible(SessionId{2}));
  q.find(SessionId{1})->state = WaitState::suspended;
  CHECK(q.first_eligible(SessionId{2}));
  CHECK(q.notified() == nullptr);
  q.find(SessionId{2})->state = WaitState::notified;
  CHECK(q.notified()->caller == SessionId{2});
}
