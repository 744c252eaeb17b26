#include "base/prng.hpp"

#include <catch2/catch.hpp>

using hailer::Prng;

TEST_CASE("the same seed gives the same sequence, different seeds differ", "[prng]") {
  Prng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    CHECK(x == b.next());
    differs = differs || x != c.next();
  }
  CHECK(differs);
}

TEST_CASE("the sequence matches the reference xoshiro256** with SplitMix64 seeding", "[prng]") {
  // Values computed independently from the published algorithms (seed 1). Recorded scenario
  // seeds depend on this sequence never changing.
  Prng p(1);
  CHECK(p.next() == 0xb3f2af6d0fc710c5ULL);
  CHECK(p.next() == 0x853b559647364ceaULL);
  CHECK(p.next() == 0x92f89756082a4514ULL);
}

TEST_CASE("below and between stay in range and cover it", "[prng]") {
  Prng p(7);
  int seen[6] = {0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 6000; ++i) {
    const auto v = p.below(6);
    REQUIRE(v < 6);
    ++seen[v];
  }
  for (int count : seen) CHECK(count > 800);  // roughly uniform: expected 1000 each
  for (int i = 0; i < 1000; ++i) {
    const auto v = p.between(-3, 3);
    REQUIRE(v >= -3);
    REQUIRE(v <= 3);
  }
  const double u = p.unit();
  CHECK(u >= 0.0);
  CHECK(u < 1.0);
}
