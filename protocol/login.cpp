#include "protocol/login.hpp"

#include <sodium.h>

#include "base/assert.hpp"
#include "base/secret.hpp"
#include "protocol/call_keys.hpp"

namespace hailer {

namespace {
constexpr std::string_view context = "hailer-login-v1";
}  // namespace

bool has_binding(const ChannelBinding& binding) {
  uint8_t any = 0;
  for (const uint8_t b : binding) any |= b;
  return any != 0;
}

LoginKey make_login_key() {
  HAILER_ASSERT(sodium_init() >= 0);
  LoginKey k;
  crypto_sign_keypair(k.public_key.data(), k.secret_key.data());
  return k;
}

LoginKey login_key_from_seed(std::span<const uint8_t, 32> seed) {
  HAILER_ASSERT(sodium_init() >= 0);
  LoginKey k;
  crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
  return k;
}

std::vector<uint8_t> login_message(const ChannelBinding& binding, std::string_view name_key) {
  std::vector<uint8_t> m(context.begin(), context.end());
  m.push_back(0);
  m.insert(m.end(), binding.begin(), binding.end());
  m.insert(m.end(), name_key.begin(), name_key.end());
  HAILER_ASSERT(m.size() == context.size() + 1 + binding.size() + name_key.size());
  return m;
}

std::string login_key_hex(const LoginKey& key) { return to_hex(key.public_key); }

std::string login_signature(const LoginKey& key, const ChannelBinding& binding, std::string_view name_key) {
  HAILER_ASSERT(sodium_init() >= 0);
  const auto message = login_message(binding, name_key);
  std::array<uint8_t, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), key.secret_key.data());
  return to_hex(signature);
}

std::optional<std::array<uint8_t, 32>> parse_login_key(std::string_view hex) { return parse_key32(hex); }

bool verify_login(const std::array<uint8_t, 32>& key, std::string_view signature_hex, const ChannelBinding& binding,
                  std::string_view name_key) {
  HAILER_ASSERT(sodium_init() >= 0);
  std::array<uint8_t, crypto_sign_BYTES> signature{};
  if (signature_hex.size() != 2 * signature.size() || !from_hex(signature_hex, signature)) return false;
  const auto message = login_message(binding, name_key);
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key.data()) == 0;
}

}  // namespace hailer
