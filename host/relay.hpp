// The call relay, a call's media paths (b) and (c) when the two peers cannot reach each other
// directly: it forwards packets between the two legs of a live call and nowhere else, found by a
// secret leg id in a small header, within a call's packet rate. A leg's packets come and go on
// the server's UDP port (path b) or as tunnel frames on its own signaling connection (path c);
// each leg is sent to where its last good packet came from, and over its tunnel until it has
// sent one. What it forwards is SRTP under keys the two ends agreed; the relay has no key and
// never looks inside. Pure: time is passed in, and the caller does the I/O receive() decides.
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
  malformed,    ///< shorter than the header, another version, or not a relay header at all
  unknown_leg,  ///< no live call has that leg (the call ended, the id was never given, or a
                ///< tunnel frame naming a leg of another session)
  oversized,    ///< larger than relay_max_datagram_bytes
  too_fast,     ///< over the leg's packet rate (twice a call's 50 packets a second)
};
/// Number of RelayDrop values.
inline constexpr std::size_t relay_drop_kinds = 4;

/// Where a relay packet came from, or goes: a UDP endpoint (path b) or a session's own signaling
/// connection (path c, a tunnel frame).
struct RelayHop {
  bool tunnel = false;
  MediaEndpoint udp;  ///< when not tunnel
  SessionId session;  ///< when tunnel
  friend bool operator==(const RelayHop&, const RelayHop&) = default;
};

/// Limits of the relay; every one is per leg or in total.
struct RelayLimits {
  uint32_t max_calls = 10'000;    ///< calls relayed at once
  BucketRate per_leg{100, 1000};  ///< packets per leg: 2x Opus at 20 ms, one second's burst
};

/// What receive() decided for one datagram.
struct RelayVerdict {
  std::optional<RelayDrop> drop;    ///< set when dropped
  RelayHop to;                      ///< where the datagram goes (its header names that hop's leg)
  bool answer = false;              ///< a binding packet, going back to its sender as it came
  uint64_t call_id = 0;             ///< the leg's call, when the leg is known
  std::optional<SessionId> sender;  ///< the leg's session, when the leg is known (to be told)
};

/// Counts of what the relay did.
struct RelayStats {
  uint64_t forwarded = 0;
  uint64_t answered = 0;  ///< binding packets answered
  uint64_t rebinds = 0;   ///< a leg moved: another UDP address (a NAT rebinding), or UDP <-> tunnel
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

  /// One relay datagram from `from`: the header is rewritten for the peer and the verdict says
  /// where to send `datagram`, or why it is dropped. A packet moves its leg to `from`; a binding
  /// packet goes back to `from` and moves only a leg that never sent on UDP. A tunnel frame
  /// counts only from the leg's own session.
  RelayVerdict receive(Time now, const RelayHop& from, std::span<uint8_t> datagram);

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
    // fresh: nothing sent yet; udp: its last good packet came from `udp`; tunnel: from its tunnel.
    // A fresh leg is sent over its tunnel, the one way to it known to work.
    enum class Path : uint8_t { fresh, udp, tunnel };
    Path path = Path::fresh;
    MediaEndpoint udp;
    TokenBucket bucket;
  };
  // Legs are found by the id's first 8 bytes; the whole id is then compared in constant time, so
  // the lookup's timing tells a guesser nothing about the bytes that matter.
  static uint64_t index_of(const RelayLegId& id);
  Leg* find(const RelayLegId& id);
  RelayVerdict drop(RelayDrop why, const Leg* leg);
  void move(Leg& leg, const RelayHop& from, bool binding);
  static RelayHop hop_of(const Leg& leg);

  RelayLimits limits_;
  std::unordered_map<uint64_t, Leg> legs_;
  std::unordered_map<uint64_t, std::array<RelayLegId, 2>> calls_;
  RelayStats stats_;
};

}  // namespace hailer
