#include "base/prng.hpp"

#include "base/assert.hpp"

namespace hailer {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

uint64_t derive_seed(uint64_t root, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL ^ root;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

Prng::Prng(uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

uint64_t Prng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Prng::below(uint64_t bound) {
  HAILER_ASSERT(bound > 0);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;  // reject the biased tail
  for (int tries = 0; tries < 1000; ++tries) {
    const uint64_t x = next();
    if (x < limit) return x % bound;
  }
  HAILER_ASSERT(false && "rejection sampling never ends with a working generator");
  return 0;
}

int64_t Prng::between(int64_t lo, int64_t hi) {
  HAILER_ASSERT(lo <= hi);
  return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
}

bool Prng::chance(uint64_t numerator, uint64_t denominator) {
  HAILER_ASSERT(denominator > 0 && numerator <= denominator);
  return below(denominator) < numerator;
}

double Prng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

Prng Prng::fork() { return Prng(next()); }

}  // namespace hailer
