// Secrets the core holds but never makes: media keys, later session keys and nonces. The core
// is deterministic, so it has no randomness worth the name; a secret is drawn by the host from
// the OS CSPRNG and handed in with the event that needs it (SessionOpened). The simulator, the
// tests and journal replays hand in seeded stand-ins instead, so their runs stay byte-identical.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/prng.hpp"

namespace hailer {

/// 128 secret bits.
struct SecretKey {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const SecretKey&) const = default;
};

/// What the host draws for every new connection: the key a calls session proves its media
/// endpoint with, and the public id that names that key in a UDP proof.
struct SessionSecrets {
  SecretKey media_key;
  uint64_t media_id = 0;
  bool operator==(const SessionSecrets&) const = default;
};

/// Where secrets come from: the OS CSPRNG in hailer-server (OsSecrets), a seeded stand-in in
/// the simulator, tests and replays (SeededSecrets).
class SecretSource {
 public:
  virtual ~SecretSource() = default;
  /// Fills `out` with fresh random bytes.
  virtual void fill(std::span<uint8_t> out) = 0;
  /// A fresh key and id for a new session.
  SessionSecrets session_secrets();
};

/// Reproducible stand-ins from a seed. Never for a real server: a seeded generator is
/// invertible from a few of its outputs.
class SeededSecrets final : public SecretSource {
 public:
  /// Stand-ins derived from `seed`.
  explicit SeededSecrets(uint64_t seed) : rng_(seed) {}
  void fill(std::span<uint8_t> out) override;

 private:
  Prng rng_;
};

/// The stand-in secrets of one session, derived from the session id alone (journal replay
/// gives every session the same key whatever order the sessions came in).
SessionSecrets stand_in_secrets(uint64_t session);

/// Lowercase hex of `bytes`.
std::string to_hex(std::span<const uint8_t> bytes);
/// `text` as bytes when it is exactly 2 * out.size() hex digits (either case); false otherwise.
bool from_hex(std::string_view text, std::span<uint8_t> out);

/// True when `a` and `b` are equal, in time that depends on their lengths only, never on where
/// they differ (secret comparisons: tokens, cookies, MACs).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace hailer
