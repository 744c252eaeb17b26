// Which way a call's packets go, sans IO (docs/protocol.md, "Paths"): (a) directly to the peer's
// endpoint while it grants consent; else, when the server relays the call, (b) through the
// relay's UDP port while the relay answers its binding packets; else (c) as tunnel frames on the
// signaling connection, which works wherever signaling does. Audio starts at once on the tunnel
// and moves up the moment a better path proves itself, and down the moment one lapses, so a call
// never sticks on a worse path after a blip (Mumble's tunnel did).
#pragma once

#include <cstdint>
#include <optional>

#include "base/time.hpp"

namespace hailer {

/// A path a call's packets can take.
enum class MediaPathKind : uint8_t { none, direct, relay, tunnel };

/// The name of a path as the CLI's call_stats says it: "none", "direct", "relay", "tunnel".
const char* to_string(MediaPathKind path);

/// A change of path, for the user to be told.
struct MediaPathChange {
  MediaPathKind from = MediaPathKind::none;
  MediaPathKind to = MediaPathKind::none;
};

/// One call's choice of path.
class MediaPath {
 public:
  /// Binding packets go to the relay's UDP port this often while the call is not direct (probing
  /// the way up, and watching the relay path it is on)...
  static constexpr int64_t binding_interval_ms = 250;
  /// ...and this often while it is direct (the relay leg and its NAT binding kept warm).
  static constexpr int64_t binding_keepalive_ms = 2'000;
  /// The relay's UDP path counts as working this long after its last answer (three bindings).
  static constexpr int64_t relay_proof_ms = 750;
  /// The direct path is taken only while the peer answered a consent check this recently (checks
  /// go every 800 ms: one lost answer is forgiven). Consent itself lasts 4 s; a call does not
  /// wait that long in silence before it falls back.
  static constexpr int64_t direct_fresh_ms = 1'700;

  /// True when a direct path whose consent was last answered at `answered_at` is fresh at `now`.
  static bool direct_fresh(Time now, std::optional<Time> answered_at);

  /// A call's path; `relay` when call_connected named a relay port (paths b and c).
  explicit MediaPath(bool relay);

  /// Where the next media packet goes at `now`, given whether the peer's endpoint grants consent.
  /// Counts it on that path; `none` means it is held (no direct consent and no relay).
  MediaPathKind route(Time now, bool direct_consent);
  /// True when a binding packet to the relay's UDP port is due at `now`; the caller sends one and
  /// says so with binding_sent().
  bool binding_due(Time now) const;
  /// A binding packet went to the relay's UDP port at `now`.
  void binding_sent(Time now);
  /// The relay answered a binding packet at `now`: its UDP path works both ways.
  void relay_answered(Time now);
  /// True while the relay's UDP path is proven at `now`.
  bool relay_proven(Time now) const;
  /// The change of path since the last call, if any (once each).
  std::optional<MediaPathChange> take_change();

  /// True when the server relays the call.
  bool relayed() const { return relay_; }
  /// The path of the last packet routed.
  MediaPathKind current() const { return current_; }
  /// Packets routed on `path` so far.
  uint64_t packets_on(MediaPathKind path) const;
  /// Times the path changed (from one that carried packets to another).
  uint64_t switches() const { return switches_; }

 private:
  bool relay_;
  MediaPathKind current_ = MediaPathKind::none;
  std::optional<MediaPathChange> change_;
  std::optional<Time> binding_sent_at_;
  std::optional<Time> answered_at_;
  uint64_t packets_[4] = {0, 0, 0, 0};
  uint64_t switches_ = 0;
};

}  // namespace hailer
