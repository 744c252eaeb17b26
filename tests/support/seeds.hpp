// Reproducible key seeds for the tests of keys and signatures: 32 bytes of one value.
#pragma once

#include <array>
#include <cstdint>

namespace hailer::test {

/// A 32-byte seed of `fill` repeated (distinct fills give distinct keys).
inline std::array<uint8_t, 32> seed_of(uint8_t fill) {
  std::array<uint8_t, 32> s{};
  s.fill(fill);
  return s;
}

}  // namespace hailer::test
