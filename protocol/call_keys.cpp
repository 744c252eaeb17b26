#include "protocol/call_keys.hpp"

#include <sodium.h>

#include "base/assert.hpp"
#include "base/secret.hpp"

namespace hailer {

namespace {

constexpr std::string_view key_context = "hailer-call-key-v1";
constexpr std::string_view safety_context = "hailer-safety-v1";
// crypto_kdf's context is exactly 8 characters; one subkey id per purpose.
constexpr char kdf_context[crypto_kdf_CONTEXTBYTES + 1] = "hailSRTP";
constexpr uint64_t srtp_subkey_id = 1;

void init_sodium() { HAILER_ASSERT(sodium_init() >= 0); }

SrtpMasterKey srtp_master_key(const std::array<uint8_t, crypto_kx_SESSIONKEYBYTES>& session_key) {
  static_assert(sizeof(SrtpMasterKey) >= crypto_kdf_BYTES_MIN && sizeof(SrtpMasterKey) <= crypto_kdf_BYTES_MAX);
  static_assert(crypto_kx_SESSIONKEYBYTES == crypto_kdf_KEYBYTES);
  SrtpMasterKey out{};
  crypto_kdf_derive_from_key(out.data(), out.size(), srtp_subkey_id, kdf_context, session_key.data());
  return out;
}

}  // namespace

CallKeyPair call_key_pair_from_seed(std::span<const uint8_t, 32> seed) {
  static_assert(crypto_kx_SEEDBYTES == 32 && crypto_kx_PUBLICKEYBYTES == 32 && crypto_kx_SECRETKEYBYTES == 32);
  init_sodium();
  CallKeyPair k;
  HAILER_ASSERT(crypto_kx_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data()) == 0);
  return k;
}

std::vector<uint8_t> call_key_message(uint64_t call_id, std::string_view name_key, const CallPublicKey& key) {
  HAILER_ASSERT(!name_key.empty());
  std::vector<uint8_t> m(key_context.begin(), key_context.end());
  m.push_back(0);
  for (int shift = 56; shift >= 0; shift -= 8) m.push_back(static_cast<uint8_t>(call_id >> shift));
  m.insert(m.end(), name_key.begin(), name_key.end());
  m.push_back(0);
  m.insert(m.end(), key.begin(), key.end());
  HAILER_ASSERT(m.size() == key_context.size() + 1 + 8 + name_key.size() + 1 + key.size());
  return m;
}

std::string call_key_signature(const LoginKey& account, uint64_t call_id, std::string_view name_key,
                               const CallPublicKey& key) {
  init_sodium();
  const auto message = call_key_message(call_id, name_key, key);
  std::array<uint8_t, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), account.secret_key.data());
  return to_hex(signature);
}

bool verify_call_key(const AccountKey& account, std::string_view signature_hex, uint64_t call_id,
                     std::string_view name_key, const CallPublicKey& key) {
  init_sodium();
  std::array<uint8_t, crypto_sign_BYTES> signature{};
  if (signature_hex.size() != 2 * signature.size() || !from_hex(signature_hex, signature)) return false;
  if (name_key.empty()) return false;
  const auto message = call_key_message(call_id, name_key, key);
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), account.data()) == 0;
}

std::optional<std::array<uint8_t, 32>> parse_key32(std::string_view hex) {
  std::array<uint8_t, 32> key{};
  if (hex.size() != 64 || !from_hex(hex, key)) return std::nullopt;
  return key;
}

std::optional<SrtpKeys> derive_srtp_keys(CallRole role, const CallKeyPair& own, const CallPublicKey& peer) {
  init_sodium();
  std::array<uint8_t, crypto_kx_SESSIONKEYBYTES> rx{};
  std::array<uint8_t, crypto_kx_SESSIONKEYBYTES> tx{};
  // crypto_kx: the caller plays its client, the callee its server; each side's tx is the other's rx.
  const int rc = role == CallRole::caller ? crypto_kx_client_session_keys(rx.data(), tx.data(), own.public_key.data(),
                                                                          own.secret_key.data(), peer.data())
                                          : crypto_kx_server_session_keys(rx.data(), tx.data(), own.public_key.data(),
                                                                          own.secret_key.data(), peer.data());
  if (rc != 0) return std::nullopt;  // a low-order or otherwise unusable point
  SrtpKeys keys{srtp_master_key(tx), srtp_master_key(rx)};
  sodium_memzero(rx.data(), rx.size());
  sodium_memzero(tx.data(), tx.size());
  HAILER_ASSERT(keys.send != keys.receive);
  return keys;
}

std::string safety_number(const AccountKey& caller_account, const CallPublicKey& caller_key,
                          const AccountKey& callee_account, const CallPublicKey& callee_key) {
  init_sodium();
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  const auto feed = [&](std::span<const uint8_t> bytes) {
    crypto_generichash_update(&state, bytes.data(), bytes.size());
  };
  feed({reinterpret_cast<const uint8_t*>(safety_context.data()), safety_context.size()});
  feed(caller_account);
  feed(caller_key);
  feed(callee_account);
  feed(callee_key);
  std::array<uint8_t, 32> digest{};
  crypto_generichash_final(&state, digest.data(), digest.size());
  // Four groups of five digits, each from 40 bits of the digest (reduced mod 100000: the bias
  // of 2^40 mod 10^5 is below 10^-7).
  std::string out;
  for (std::size_t group = 0; group < 4; ++group) {
    uint64_t v = 0;
    for (std::size_t i = 0; i < 5; ++i) v = (v << 8) | digest[group * 5 + i];
    const std::string digits = std::to_string(v % 100000);
    if (group > 0) out += ' ';
    out += std::string(5 - digits.size(), '0') + digits;
  }
  HAILER_ASSERT(out.size() == 23);
  return out;
}

}  // namespace hailer
