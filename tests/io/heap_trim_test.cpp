// hailer-server trims the heap once after a burst or a crowd leaving, never during traffic.
#include <catch2/catch.hpp>

#include "host/heap_trim.hpp"

using namespace hailer;

TEST_CASE("heap trim: once when a burst has ended, never during it, never for light traffic", "[host]") {
  HeapTrimSchedule s;  // burst 20,000 writes a period, quiet at most 2,000
  uint64_t total = 0;
  auto period = [&](uint64_t sent, uint64_t sessions = 1000) {
    total += sent;
    return s.due(total, sessions);
  };
  CHECK_FALSE(period(1'999));   // light traffic: nothing to give back
  CHECK_FALSE(period(19'999));  // just under a burst
  CHECK_FALSE(period(0));
  CHECK_FALSE(period(20'000));  // a burst...
  CHECK_FALSE(period(50'000));  // ...still going: no trim in the middle of it
  CHECK_FALSE(period(2'001));   // not quiet yet
  CHECK(period(2'000));         // quiet: trim now
  CHECK_FALSE(period(0));       // and only once
  CHECK_FALSE(period(0));
}

TEST_CASE("heap trim: steady heavy load never trims, its end does", "[host]") {
  HeapTrimSchedule s;
  uint64_t total = 0;
  for (int i = 0; i < 100; ++i) {
    total += 90'000;  // 64 pairs cycling calls
    CHECK_FALSE(s.due(total, 130));
  }
  CHECK(s.due(total, 130));
}

TEST_CASE("heap trim: a crowd leaving is worth one trim once quiet", "[host]") {
  HeapTrimSchedule s;
  CHECK_FALSE(s.due(0, 1000));
  CHECK_FALSE(s.due(0, 745));  // 255 left: not enough
  CHECK(s.due(0, 744));        // 256 left since the peak
  CHECK_FALSE(s.due(0, 744));
  CHECK_FALSE(s.due(0, 489));      // counted from the last trim: 255 more
  CHECK_FALSE(s.due(100'000, 0));  // everyone left in a storm of goodbyes: wait for quiet
  CHECK(s.due(100'000, 0));
}

TEST_CASE("heap trim: a running total that goes back is a bug", "[host]") {
  HeapTrimSchedule s;
  CHECK_FALSE(s.due(10, 1));
  CHECK_THROWS(s.due(9, 1));
}
