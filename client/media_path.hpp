// Which way a call's packets go, sans IO (docs/protocol.md, "The relay"): directly to the peer's
// endpoint while it grants consent (path a), else through the server's relay (path b) when the
// server offers one. The relay is used from the first packet while the direct path is unproven,
// so audio starts on whatever works first; the direct path is taken back the moment its consent
// comes (or comes back), so a call never sticks on the relay after a blip. The client's relay leg
// is kept bound all call long, so the peer can reach it whichever path the peer is on.
#pragma once

#include <cstdint>
#include <optional>

#include "base/time.hpp"

namespace hailer {

/// A path a call's packets can take.
enum class MediaPathKind : uint8_t { none, direct, relay };

/// The name of a path as the CLI's call_stats says it: "none", "direct", "relay".
const char* to_string(MediaPathKind path);

/// A change of path, for the user to be told.
struct MediaPathChange {
  MediaPathKind from = MediaPathKind::none;
  MediaPathKind to = MediaPathKind::none;
};

/// One call's choice of path.
class MediaPath {
 public:
  /// How often the relay leg is refreshed while nothing else goes on it (a binding packet).
  static constexpr int64_t relay_keepalive_ms = 2'000;

  /// A call's path; `relay` when call_connected named a relay port.
  explicit MediaPath(bool relay);

  /// Where the next media packet goes at `now`, given whether the peer's endpoint grants consent.
  /// Counts it on that path; `none` means it is held (no direct consent and no relay).
  MediaPathKind route(Time now, bool direct_consent);
  /// True when the relay leg needs its binding packet at `now` (nothing sent on it for
  /// relay_keepalive_ms, or never); the caller sends one and says so with relay_sent().
  bool relay_keepalive_due(Time now) const;
  /// A packet went on the relay at `now` (media or a binding packet).
  void relay_sent(Time now);
  /// The change of path since the last call, if any (once each).
  std::optional<MediaPathChange> take_change();

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
  std::optional<Time> relay_last_sent_;
  uint64_t packets_[3] = {0, 0, 0};
  uint64_t switches_ = 0;
};

}  // namespace hailer
