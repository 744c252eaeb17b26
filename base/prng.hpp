// A small seeded PRNG of our own (xoshiro256** seeded by SplitMix64), so that every random
// choice in tests and the simulator is reproducible from one seed on every platform.
// std::*_distribution is implementation-defined and therefore never used.
#pragma once

#include <cstdint>
#include <string_view>

namespace hailer {

/// A seed for a named sub-stream (a link, a participant) of a root seed: FNV-1a over the name,
/// started from the root. Stable whatever order the sub-streams are created in.
uint64_t derive_seed(uint64_t root, std::string_view name);

/// Deterministic pseudo-random generator; the same seed gives the same sequence everywhere.
class Prng {
 public:
  /// A generator whose whole state derives from `seed`.
  explicit Prng(uint64_t seed);

  /// The next 64 random bits.
  uint64_t next();
  /// A uniform integer in [0, bound); bound must be positive. Unbiased (rejection sampling).
  uint64_t below(uint64_t bound);
  /// A uniform integer in [lo, hi] (inclusive).
  int64_t between(int64_t lo, int64_t hi);
  /// True with probability numerator/denominator.
  bool chance(uint64_t numerator, uint64_t denominator);
  /// A uniform double in [0, 1), from the top 53 bits.
  double unit();
  /// An independent generator derived from this one's next output, for a sub-stream.
  Prng fork();

 private:
  uint64_t s_[4];
};

}  // namespace hailer
