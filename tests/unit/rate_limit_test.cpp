// Token buckets in total and per key: refills pinned on both sides of each boundary, and the
// bound on the keys kept.
#include "base/rate_limit.hpp"

#include <catch2/catch.hpp>

using namespace hailer;

TEST_CASE("a bucket allows its burst at once, then one token per period / tokens, not a microsecond sooner",
          "[rate_limit]") {
  TokenBucket b(BucketRate{4, 1000});
  const Time t0 = Time::from_ms(5'000);
  for (int k = 0; k < 4; ++k) CHECK(b.take(t0));
  CHECK_FALSE(b.take(t0));
  CHECK_FALSE(b.take(t0 + Duration{249'999}));
  CHECK(b.take(t0 + Duration{250'000}));
  CHECK_FALSE(b.take(t0 + Duration{250'000}));
  CHECK_FALSE(b.full(t0 + Duration{999'999}));
  CHECK(b.full(t0 + Duration{1'250'000}));
  CHECK(b.tokens(t0 + Duration::from_s(3600)) == 4);  // never more than one period's worth
}

TEST_CASE("a refused take spends nothing, and a clock read out of order never adds tokens", "[rate_limit]") {
  TokenBucket b(BucketRate{1, 60'000});
  CHECK(b.take(Time::from_ms(100)));
  for (int k = 0; k < 100; ++k) CHECK_FALSE(b.take(Time::from_ms(100 + k)));
  CHECK_FALSE(b.take(Time::from_ms(50)));  // earlier than the last take: nothing gained
  CHECK_FALSE(b.take(Time::from_ms(60'099)));
  CHECK(b.take(Time::from_ms(60'100)));
}

TEST_CASE("a keyed limiter keeps a bucket per key, forgets idle ones when full, refuses new keys when none is idle",
          "[rate_limit]") {
  KeyedLimiter l(BucketRate{2, 1000}, 3);
  const Time t0{0};
  CHECK(l.take(t0, "a"));
  CHECK(l.take(t0, "a"));
  CHECK_FALSE(l.take(t0, "a"));
  CHECK(l.take(t0, "b"));  // another key has its own bucket
  CHECK(l.take(t0, "c"));
  CHECK(l.size() == 3);
  CHECK_FALSE(l.take(t0, "d"));  // full, and every kept bucket is in use: a fourth key is refused
  CHECK(l.has_token(t0, "b"));
  CHECK_FALSE(l.has_token(t0, "a"));
  CHECK(l.has_token(t0, "never-seen"));
  // A second later every bucket is full again: idle keys are forgotten to make room.
  CHECK(l.take(Time::from_ms(1000), "d"));
  CHECK(l.size() == 1);
}

TEST_CASE("bucket rates outside 1..100000 tokens per 1 ms..1 h are not valid", "[rate_limit]") {
  CHECK(valid(BucketRate{1, 1}));
  CHECK(valid(BucketRate{100'000, 3'600'000}));
  CHECK_FALSE(valid(BucketRate{0, 1000}));
  CHECK_FALSE(valid(BucketRate{100'001, 1000}));
  CHECK_FALSE(valid(BucketRate{1, 0}));
  CHECK_FALSE(valid(BucketRate{1, 3'600'001}));
}
