// Token buckets, one in total and one per key (a peer address, a session), with a bound on the
// keys kept. Pure: time is passed in. Used wherever one client must not spend what belongs to
// everyone: joins, upgrades, media proofs, instructor-token tries.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/time.hpp"

namespace hailer {

/// `tokens` per `period_ms`, refilled evenly; a full bucket holds one period's tokens (the burst).
struct BucketRate {
  uint32_t tokens = 1;
  int64_t period_ms = 1000;
};

/// True when a rate can be used: 1..100,000 tokens per 1 ms..1 h.
bool valid(BucketRate rate);

/// One token bucket, kept as the time its next token is due (GCRA, RFC 2697's cousin): a refused
/// take changes nothing, so no refill is lost however often it is asked. Time is scaled by the
/// rate's tokens so that one token is exactly period_ms of scaled time: no rounding anywhere.
class TokenBucket {
 public:
  /// A full bucket.
  explicit TokenBucket(BucketRate rate);
  /// Spends a token when one is left at `now` (true), else refuses (false, nothing spent).
  bool take(Time now);
  /// True when the bucket is full at `now` (an idle key: forgetting it loses nothing).
  bool full(Time now) const;
  /// Whole tokens left at `now`.
  uint32_t tokens(Time now) const;

 private:
  int64_t scaled(Time now) const;  // now in us x tokens
  BucketRate rate_;
  int64_t due_ = 0;  // scaled time at which the bucket is full again (never earlier than needed)
};

/// A bucket per key, at most `max_keys` kept: when full, idle keys (full buckets) are forgotten;
/// if none is idle, a new key is refused (an attack from that many addresses at once).
class KeyedLimiter {
 public:
  /// Buckets of `rate` per key.
  KeyedLimiter(BucketRate rate, std::size_t max_keys);
  /// Spends a token of `key`'s bucket at `now`.
  bool take(Time now, std::string_view key);
  /// True when `key` has a token left at `now` (spends nothing; a key not kept has a full bucket).
  bool has_token(Time now, std::string_view key) const;
  /// Keys kept now.
  std::size_t size() const { return buckets_.size(); }

 private:
  BucketRate rate_;
  std::size_t max_keys_;
  std::map<std::string, TokenBucket, std::less<>> buckets_;
};

}  // namespace hailer
