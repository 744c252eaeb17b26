// The call relay on the server's UDP port, a call's media path (b) when the two peers cannot reach
// each other directly: it forwards packets between the two legs of a live call and nowhere else,
// found by a secret leg id in a small header, within a call's packet rate. What it forwards is
// SRTP under keys the two ends agreed; the relay has no key and never looks inside.
// Pure: time is passed in, and the caller does the socket I/O with what receive() decides.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>

#include "base/rate_limit.hpp"
#include "base/time.hpp"
#include "protocol/messages.hpp"
#include "protocol/relay_packet.hpp"  // the header; RelayLegId, relay_leg_id()

namespace hailer {

/// Why a datagram was not forwarded.
enum class RelayDrop : uint8_t {
  malformed,     ///< shorter than the header, another version, or not a relay header at all
  unknown_leg,   ///< no live call has that leg (the call ended, or the id was never given)
  oversized,     ///< larger than relay_max_datagram_bytes
  too_fast,      ///< over the leg's packet rate (twice a call's 50 packets a second)
  peer_unbound,  ///< the other leg has not sent anything yet: nowhere to send it
};
/// Number of RelayDrop values.
inline constexpr std::size_t relay_drop_kinds = 5;

/// Limits of the relay; every one is per leg or in total.
struct RelayLimits {
  uint32_t max_calls = 10'000;    ///< calls relayed at once
  BucketRate per_leg{100, 1000};  ///< packets per leg: 2x Opus at 20 ms, one second's burst
};

/// What receive() decided for one datagram.
struct RelayVerdict {
  std::optional<RelayDrop> drop;    ///< set when dropped
  MediaEndpoint to;                 ///< forwarded: where (the datagram's header now names that leg)
  uint64_t call_id = 0;             ///< the leg's call, when the leg is known
  std::optional<SessionId> sender;  ///< the leg's session, when the leg is known (to be told)
};

/// Counts of what the relay did.
struct RelayStats {
  uint64_t forwarded = 0;
  uint64_t rebinds = 0;  ///< a leg's packets came from a new address (a NAT rebinding)
  std::array<uint64_t, relay_drop_kinds> dropped{};
};

/// The relay's legs: opened when a call connects, closed when it ends.
class Relay {
 public:
  /// An empty relay with these limits.
  explicit Relay(RelayLimits limits = {});

  /// Relays call `call_id` between leg `a` (session `session_a`) and leg `b`. False when the relay
  /// already holds max_calls (the call then has its other paths only).
  bool open(uint64_t call_id, const RelayLegId& a, SessionId session_a, const RelayLegId& b, SessionId session_b);
  /// Stops relaying `call_id`; its legs' packets are unknown_leg from now on. Idempotent.
  void close(uint64_t call_id);

  /// One datagram from `from`: the header is rewritten for the peer and the verdict says where
  /// to send `datagram`, or why it is dropped. The sender's leg is bound to `from`.
  RelayVerdict receive(Time now, const MediaEndpoint& from, std::span<uint8_t> datagram);

  /// Calls relayed now.
  std::size_t calls() const { return calls_.size(); }
  /// What the relay did so far.
  const RelayStats& stats() const { return stats_; }
  /// Asserts the relay's invariants (two legs per call, each the other's peer).
  void check_invariants() const;

 private:
  struct Leg {
    RelayLegId id{};
    RelayLegId peer{};
    uint64_t call_id = 0;
    SessionId session;
    std::optional<MediaEndpoint> bound;  // where its packets came from last
    TokenBucket bucket;
  };
  // Legs are found by the id's first 8 bytes; the whole id is then compared in constant time, so
  // the lookup's timing tells a guesser nothing about the bytes that matter.
  static uint64_t index_of(const RelayLegId& id);
  Leg* find(const RelayLegId& id);
  RelayVerdict drop(RelayDrop why, const Leg* leg);

  RelayLimits limits_;
  std::unordered_map<uint64_t, Leg> legs_;
  std::unordered_map<uint64_t, std::array<RelayLegId, 2>> calls_;
  RelayStats stats_;
};

}  // namespace hailer
