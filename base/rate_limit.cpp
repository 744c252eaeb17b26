#include "base/rate_limit.hpp"

#include <algorithm>
#include <cstdint>

#include "base/assert.hpp"

namespace hailer {

namespace {
constexpr uint32_t max_tokens = 100'000;
constexpr int64_t max_period_ms = 3'600'000;
}  // namespace

bool valid(BucketRate rate) {
  return rate.tokens >= 1 && rate.tokens <= max_tokens && rate.period_ms >= 1 && rate.period_ms <= max_period_ms;
}

TokenBucket::TokenBucket(BucketRate rate) : rate_(rate) { HAILER_ASSERT(valid(rate)); }

// In scaled time a token costs period_us and the bucket holds tokens x period_us: all integers.
// Time since the epoch (a server's start) times 100,000 tokens fits 64 bits for 2.9 years.
int64_t TokenBucket::scaled(Time now) const {
  HAILER_ASSERT(now.us >= 0 && now.us <= INT64_MAX / rate_.tokens);
  return now.us * rate_.tokens;
}

bool TokenBucket::take(Time now) {
  const int64_t t = scaled(now);
  const int64_t cost = rate_.period_ms * 1000;
  const int64_t next_due = std::max(due_, t) + cost;
  if (next_due - t > cost * rate_.tokens) return false;  // every token is spent: nothing changes
  due_ = next_due;
  return true;
}

bool TokenBucket::full(Time now) const { return due_ <= scaled(now); }

uint32_t TokenBucket::tokens(Time now) const {
  const int64_t t = scaled(now);
  const int64_t cost = rate_.period_ms * 1000;
  const int64_t spent = std::max<int64_t>(0, due_ - t);  // scaled time until full
  return static_cast<uint32_t>((cost * rate_.tokens - spent) / cost);
}

KeyedLimiter::KeyedLimiter(BucketRate rate, std::size_t max_keys) : rate_(rate), max_keys_(max_keys) {
  HAILER_ASSERT(valid(rate) && max_keys > 0);
}

bool KeyedLimiter::take(Time now, std::string_view key) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    // Forgetting a full bucket loses nothing: it would be full again for its next event.
    if (buckets_.size() >= max_keys_) std::erase_if(buckets_, [&](const auto& kv) { return kv.second.full(now); });
    if (buckets_.size() >= max_keys_) return false;
    it = buckets_.emplace(std::string(key), TokenBucket(rate_)).first;
  }
  const bool allowed = it->second.take(now);
  HAILER_ASSERT(buckets_.size() <= max_keys_);
  return allowed;
}

bool KeyedLimiter::has_token(Time now, std::string_view key) const {
  const auto it = buckets_.find(key);
  return it == buckets_.end() || it->second.tokens(now) >= 1;
}

}  // namespace hailer
