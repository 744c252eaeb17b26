// One call's end-to-end key agreement as one client sees it: its own fresh X25519 key pair, the
// signed media_key it sends, and, once the peer's signed key arrives and checks out, the SRTP
// keys of both directions and the safety number the two users can compare. The server relays
// both messages and holds nothing that opens the audio (protocol/call_keys.hpp has the maths).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/call_keys.hpp"
#include "protocol/login.hpp"
#include "protocol/messages.hpp"

namespace hailer {

/// What a connected call's media is protected with.
struct CallCrypto {
  SrtpKeys keys;
  AccountKey peer_account;    ///< the account key the peer's call key was signed with
  std::string safety_number;  ///< "12345 67890 13579 24680": the same on both sides, unless a key was swapped
};

/// Why the peer's key was refused.
struct CallKeyError {
  std::string reason;
};

/// The key agreement of one call (move-only; the secret half is wiped when it ends).
class CallKeyAgreement {
 public:
  /// A fresh agreement for `call_id`, where we play `role`, signed with `account`; `seed` (32
  /// bytes from the OS CSPRNG, or a simulator's stand-in) makes this call's key pair.
  CallKeyAgreement(uint64_t call_id, CallRole role, const LoginKey& account, std::span<const uint8_t, 32> seed);
  CallKeyAgreement(CallKeyAgreement&& other) noexcept;
  CallKeyAgreement& operator=(CallKeyAgreement&&) = delete;
  CallKeyAgreement(const CallKeyAgreement&) = delete;
  CallKeyAgreement& operator=(const CallKeyAgreement&) = delete;
  ~CallKeyAgreement();

  /// The call this agreement is for.
  uint64_t call_id() const { return call_id_; }
  /// Our media_key request for the call, signed for `own_name_key` (our name's key).
  MediaKeyRequest request(std::string_view own_name_key) const;
  /// The peer's key arrived (for `peer_name_key`): the call's keys and safety number, or why
  /// the key is refused (a bad signature, a malformed or unusable key).
  std::variant<CallCrypto, CallKeyError> accept(const PeerMediaKey& m, std::string_view peer_name_key) const;

 private:
  uint64_t call_id_ = 0;
  CallRole role_ = CallRole::caller;
  LoginKey account_;
  CallKeyPair own_;
};

}  // namespace hailer
