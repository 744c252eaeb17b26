#include "client/call_crypto.hpp"

#include <sodium.h>

#include "base/assert.hpp"
#include "base/secret.hpp"

namespace hailer {

CallKeyAgreement::CallKeyAgreement(uint64_t call_id, CallRole role, const LoginKey& account,
                                   std::span<const uint8_t, 32> seed)
    : call_id_(call_id), role_(role), account_(account), own_(call_key_pair_from_seed(seed)) {
  HAILER_ASSERT(call_id != 0);
}

CallKeyAgreement::CallKeyAgreement(CallKeyAgreement&& other) noexcept
    : call_id_(other.call_id_), role_(other.role_), account_(other.account_), own_(other.own_) {
  sodium_memzero(other.own_.secret_key.data(), other.own_.secret_key.size());
  sodium_memzero(other.account_.secret_key.data(), other.account_.secret_key.size());
}

CallKeyAgreement::~CallKeyAgreement() {
  sodium_memzero(own_.secret_key.data(), own_.secret_key.size());
  sodium_memzero(account_.secret_key.data(), account_.secret_key.size());
}

MediaKeyRequest CallKeyAgreement::request(std::string_view own_name_key) const {
  return MediaKeyRequest{call_id_, to_hex(own_.public_key), to_hex(account_.public_key),
                         call_key_signature(account_, call_id_, own_name_key, own_.public_key)};
}

std::variant<CallCrypto, CallKeyError> CallKeyAgreement::accept(const PeerMediaKey& m,
                                                                std::string_view peer_name_key) const {
  HAILER_ASSERT(m.call_id == call_id_);
  const auto key = parse_key32(m.key);
  const auto account = parse_key32(m.account_key);
  if (!key || !account) return CallKeyError{"its key is not 64 hex digits"};
  if (!verify_call_key(*account, m.signature, call_id_, peer_name_key, *key))
    return CallKeyError{"its key's signature does not verify (a forged or altered key)"};
  const auto keys = derive_srtp_keys(role_, own_, *key);
  if (!keys) return CallKeyError{"its key is not a usable X25519 key"};
  const bool caller = role_ == CallRole::caller;
  const std::string number = caller ? safety_number(account_.public_key, own_.public_key, *account, *key)
                                    : safety_number(*account, *key, account_.public_key, own_.public_key);
  return CallCrypto{*keys, *account, number};
}

}  // namespace hailer
