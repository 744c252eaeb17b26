#include "core/floor.hpp"

#include <catch2/catch.hpp>

using namespace hailer;
using R = Floor::PressResult;

namespace {
const SessionId a{1}, b{2}, c{3};
}

TEST_CASE("an idle floor is granted at once, deny refuses others while taken", "[floor]") {
  Floor f(FloorPolicy::deny, 4);
  CHECK(f.press(a).result == R::granted);
  CHECK(f.holder() == a);
  CHECK(f.press(a).result == R::already_holder);
  CHECK(f.press(b).result == R::denied_taken);
  CHECK(f.queue().empty());
  auto out = f.release(a);
  CHECK(out.was_holder);
  CHECK_FALSE(out.granted.has_value());
  CHECK_FALSE(f.holder().has_value());
}

TEST_CASE("queue policy: FIFO positions, repeat press returns the position, release hands over", "[floor]") {
  Floor f(FloorPolicy::queue, 2);
  REQUIRE(f.press(a).result == R::granted);
  auto pb = f.press(b);
  CHECK(pb.result == R::queued);
  CHECK(pb.position == 1);
  CHECK(f.press(c).position == 2);
  CHECK(f.press(b).position == 1);  // repeat: same place, no duplicate
  CHECK(f.press(SessionId{4}).result == R::denied_queue_full);
  auto out = f.release(a);
  CHECK(out.granted == b);
  CHECK(f.holder() == b);
  CHECK(f.position_of(c) == 1);
}

TEST_CASE("a queued member who releases leaves the queue, a stranger's release does nothing", "[floor]") {
  Floor f(FloorPolicy::queue, 4);
  f.press(a);
  f.press(b);
  f.press(c);
  auto out = f.release(b);
  CHECK(out.was_queued);
  CHECK_FALSE(out.was_holder);
  CHECK(f.position_of(c) == 1);
  auto none = f.release(SessionId{9});
  CHECK_FALSE(none.was_holder);
  CHECK_FALSE(none.was_queued);
}

TEST_CASE("switching to deny empties the queue and reports who was dropped", "[floor]") {
  Floor f(FloorPolicy::queue, 4);
  f.press(a);
  f.press(b);
  f.press(c);
  auto dropped = f.set_policy(FloorPolicy::deny);
  CHECK(dropped == std::vector<SessionId>{b, c});
  CHECK(f.holder() == a);
  CHECK(f.queue().empty());
  CHECK(f.set_policy(FloorPolicy::queue).empty());
}
