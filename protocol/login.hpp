// Logging in to a name (accounts): an Ed25519 signature over what makes this connection unique.
// The client signs "hailer-login-v1", a zero byte, the connection's channel binding and the
// name's key (name_key). The binding is a TLS exporter value (RFC 5705/8446, label
// "EXPORTER-hailer-login", 32 bytes): both ends derive it from the handshake, in which both
// contributed fresh randomness, so a signature made for one connection verifies on no other. A
// signature seen on the wire (by whoever can read it) cannot be replayed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hailer {

/// A connection's channel binding: 32 bytes of TLS exporter; all zero = none (no TLS).
using ChannelBinding = std::array<uint8_t, 32>;

/// The exporter label both ends use for the binding.
inline constexpr std::string_view login_exporter_label = "EXPORTER-hailer-login";

/// True when `binding` holds a value (not all zero).
bool has_binding(const ChannelBinding& binding);

/// An account's Ed25519 key pair (libsodium's crypto_sign).
struct LoginKey {
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 64> secret_key{};
};

/// A fresh key pair from the OS CSPRNG (libsodium's randombytes).
LoginKey make_login_key();

/// The key pair of a 32-byte seed (the simulator's and tests' reproducible keys).
LoginKey login_key_from_seed(std::span<const uint8_t, 32> seed);

/// The bytes a login signs (above).
std::vector<uint8_t> login_message(const ChannelBinding& binding, std::string_view name_key);

/// The public key as the register request carries it: 64 lowercase hex digits.
std::string login_key_hex(const LoginKey& key);

/// The signature of a login for `name_key` on the connection of `binding`: 128 hex digits.
std::string login_signature(const LoginKey& key, const ChannelBinding& binding, std::string_view name_key);

/// The public key of `hex` (64 hex digits), or nothing.
std::optional<std::array<uint8_t, 32>> parse_login_key(std::string_view hex);

/// True when `signature_hex` is `key`'s signature of the login for `name_key` on `binding`.
bool verify_login(const std::array<uint8_t, 32>& key, std::string_view signature_hex, const ChannelBinding& binding,
                  std::string_view name_key);

}  // namespace hailer
