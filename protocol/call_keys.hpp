// End-to-end keys of a call's media: what two clients agree over the signaling so that the
// server, which relays their messages, never holds a key that opens the audio.
//
// For every call, each client makes a fresh X25519 key pair (libsodium's crypto_kx) and sends the
// public half in a `media_key` request, signed with its account key (Ed25519) over
// "hailer-call-key-v1", a zero byte, the call id (8 bytes, big-endian), the sender's name key, a
// zero byte and the public key. The peer checks that signature against the account key the
// message names. Both sides then derive one SRTP master key and salt per direction (AEAD
// AES-128-GCM: 16 + 12 bytes) from the X25519 shared secret, and a safety number from both
// account keys and both call keys: a server that swaps keys gives the two users different numbers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/login.hpp"
#include "protocol/messages.hpp"

namespace hailer {

/// An X25519 public key (crypto_kx), 32 bytes.
using CallPublicKey = std::array<uint8_t, 32>;
/// An Ed25519 account public key, 32 bytes.
using AccountKey = std::array<uint8_t, 32>;

/// One call's X25519 key pair; the secret half never leaves the client.
struct CallKeyPair {
  CallPublicKey public_key{};
  std::array<uint8_t, 32> secret_key{};
};

/// The key pair of a 32-byte seed: the CLI's seed comes from the OS CSPRNG, the simulator's from
/// its seeded stand-in.
CallKeyPair call_key_pair_from_seed(std::span<const uint8_t, 32> seed);

/// The bytes a `media_key` signature covers (above).
std::vector<uint8_t> call_key_message(uint64_t call_id, std::string_view name_key, const CallPublicKey& key);

/// The signature (128 hex digits) of `key` for call `call_id` by the owner of `name_key`.
std::string call_key_signature(const LoginKey& account, uint64_t call_id, std::string_view name_key,
                               const CallPublicKey& key);

/// True when `signature_hex` is `account`'s signature of `key` for `call_id` and `name_key`.
bool verify_call_key(const AccountKey& account, std::string_view signature_hex, uint64_t call_id,
                     std::string_view name_key, const CallPublicKey& key);

/// A key as it travels: 64 hex digits, or nothing.
std::optional<std::array<uint8_t, 32>> parse_key32(std::string_view hex);

/// SRTP AEAD_AES_128_GCM master key (16 bytes) followed by its master salt (12 bytes).
using SrtpMasterKey = std::array<uint8_t, 28>;

/// The master keys of one side of a call: what it protects with, what it unprotects with.
struct SrtpKeys {
  SrtpMasterKey send{};
  SrtpMasterKey receive{};
};

/// The two directions' keys for the side playing `role`, from its own key pair and the peer's
/// public key; nothing when the peer's key is not a usable X25519 point (all zero, low order).
std::optional<SrtpKeys> derive_srtp_keys(CallRole role, const CallKeyPair& own, const CallPublicKey& peer);

/// The safety number both users of a call see: 20 decimal digits in four groups of five
/// ("12345 67890 13579 24680"), from BLAKE2b over both account keys and both call keys, the
/// caller's first. The same on both sides unless someone swapped a key in between.
std::string safety_number(const AccountKey& caller_account, const CallPublicKey& caller_key,
                          const AccountKey& callee_account, const CallPublicKey& callee_key);

}  // namespace hailer
