// Secrets from the operating system's CSPRNG (getrandom(2)): what hailer-server hands the core
// with every new session, and what the CLI's consent checks are made of. Never a seeded PRNG.
#pragma once

#include <span>
#include <string>

#include "base/secret.hpp"

namespace hailer::net {

/// The OS CSPRNG as a SecretSource. Blocks only until the kernel's pool is first seeded (boot).
class OsSecrets final : public SecretSource {
 public:
  /// Fills `out` from getrandom(2); aborts the program when the kernel cannot give randomness
  /// (nothing secret may be made without it).
  void fill(std::span<uint8_t> out) override;
};

/// `bytes` fresh random bytes from the OS as lowercase hex (2 * bytes digits).
std::string random_hex(std::size_t bytes);

}  // namespace hailer::net
