#include "base/time.hpp"

#include <catch2/catch.hpp>

using namespace hailer;

TEST_CASE("time arithmetic is integer microseconds", "[time]") {
  const Time t = Time::from_ms(1500);
  CHECK(t.us == 1'500'000);
  CHECK((t + Duration::from_ms(20)).ms() == 1520);
  CHECK((Time::from_ms(2000) - t) == Duration::from_ms(500));
  CHECK(Duration::from_s(2).ms() == 2000);
  CHECK(t < t + Duration{1});
}
