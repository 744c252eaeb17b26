// Consent to receive media (after RFC 7675, as ICE uses it): a call's audio goes to an endpoint
// only while that endpoint keeps answering checks that carry a fresh random nonce. The server
// tells each peer where the other is; consent is how a sender makes sure that address wants the
// audio, so nobody can aim a call's RTP at a third party by moving a media endpoint there: an
// address that never answers gets a few small checks and no audio, and one that stops answering
// stops getting audio within Consent::expiry_ms.
//
// Wire (UDP, on the media socket, to and from the peer's media endpoint):
//   "hailer-consent <nonce>"     a check: 32 hex digits of fresh randomness
//   "hailer-consent-ok <nonce>"  its answer, the same nonce
// An off-path attacker cannot answer for an address it cannot read: it never sees the nonce.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "base/time.hpp"

namespace hailer {

/// The timing of consent checks (defaults: docs/protocol.md, "Consent").
struct ConsentConfig {
  int64_t retry_ms = 200;           ///< checks this often until the first answer...
  int64_t retry_for_ms = 2'000;     ///< ...for this long after start (then at check_interval_ms)
  int64_t check_interval_ms = 800;  ///< checks this often afterwards, answered or not
  int64_t expiry_ms = 4'000;        ///< consent lasts this long after the last answer
};

/// A nonce: 128 fresh random bits (the caller draws them from a CSPRNG, or a seeded stand-in).
using ConsentNonce = std::array<uint8_t, 16>;

/// The consent of one media destination, sans IO: the caller sends what poll() returns, feeds
/// answers to on_answer(), and sends media only while granted().
class Consent {
 public:
  /// No destination yet: nothing is granted.
  explicit Consent(ConsentConfig config = {});

  /// Media to a new destination starts at `now`: consent must be earned afresh.
  void start(Time now);
  /// No destination: nothing to check, nothing granted.
  void stop();
  /// The check to send at `now`, if one is due; `fresh` is used as its nonce.
  std::optional<std::string> poll(Time now, const ConsentNonce& fresh);
  /// A datagram from the destination at `now`; true when it answered one of our recent checks.
  bool on_answer(Time now, std::string_view datagram);
  /// True when media may be sent to the destination at `now`.
  bool granted(Time now) const;
  /// When the destination last answered a check (nothing: never, since start).
  std::optional<Time> answered_at() const { return answered_at_; }
  /// When poll() has something to send next (nothing when stopped).
  std::optional<Time> next_deadline() const;
  /// Checks sent since start.
  uint64_t checks_sent() const { return checks_sent_; }
  /// Times consent was granted after not being (the first answer, and after each lapse).
  uint64_t grants() const { return grants_; }

 private:
  static constexpr std::size_t remembered_nonces = 8;  // answers to the last few checks count
  ConsentConfig config_;
  bool active_ = false;
  Time started_;
  std::optional<Time> next_check_;
  std::optional<Time> answered_at_;
  std::deque<std::string> outstanding_;  // hex nonces of the last checks, newest last
  uint64_t checks_sent_ = 0;
  uint64_t grants_ = 0;
};

/// True when `datagram` is a consent check or answer (not RTP).
bool is_consent_datagram(std::string_view datagram);
/// The answer to a consent check, or nothing when `datagram` is not a well-formed check.
std::optional<std::string> consent_answer(std::string_view datagram);

}  // namespace hailer
