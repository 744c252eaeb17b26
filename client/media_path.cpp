#include "client/media_path.hpp"

#include <utility>

#include "base/assert.hpp"

namespace hailer {

const char* to_string(MediaPathKind path) {
  switch (path) {
    case MediaPathKind::none:
      return "none";
    case MediaPathKind::direct:
      return "direct";
    case MediaPathKind::relay:
      return "relay";
    case MediaPathKind::tunnel:
      return "tunnel";
  }
  HAILER_ASSERT(false && "unknown path");
  return "";
}

MediaPath::MediaPath(bool relay) : relay_(relay) {}

bool MediaPath::direct_fresh(Time now, std::optional<Time> answered_at) {
  return answered_at.has_value() && now - *answered_at < Duration::from_ms(direct_fresh_ms);
}

MediaPathKind MediaPath::route(Time now, bool direct_consent) {
  // Direct whenever it is proven (it costs the server nothing and is the shortest); the relay's
  // UDP port while it answers; the tunnel otherwise (it rides the signaling connection, so it
  // works wherever signaling does); held only when the server relays nothing.
  const MediaPathKind next = direct_consent      ? MediaPathKind::direct
                             : !relay_           ? MediaPathKind::none
                             : relay_proven(now) ? MediaPathKind::relay
                                                 : MediaPathKind::tunnel;
  if (next != current_) {
    if (current_ != MediaPathKind::none && next != MediaPathKind::none) ++switches_;
    change_ = MediaPathChange{current_, next};
    current_ = next;
  }
  ++packets_[static_cast<int>(next)];
  HAILER_ASSERT(relay_ || next == MediaPathKind::direct || next == MediaPathKind::none);
  return next;
}

bool MediaPath::binding_due(Time now) const {
  if (!relay_) return false;
  if (!binding_sent_at_) return true;
  const int64_t every_ms = current_ == MediaPathKind::direct ? binding_keepalive_ms : binding_interval_ms;
  return now - *binding_sent_at_ >= Duration::from_ms(every_ms);
}

void MediaPath::binding_sent(Time now) {
  HAILER_ASSERT(relay_);
  binding_sent_at_ = now;
}

void MediaPath::relay_answered(Time now) {
  HAILER_ASSERT(relay_);
  answered_at_ = now;
}

bool MediaPath::relay_proven(Time now) const {
  return answered_at_.has_value() && now - *answered_at_ < Duration::from_ms(relay_proof_ms);
}

std::optional<MediaPathChange> MediaPath::take_change() { return std::exchange(change_, std::nullopt); }

uint64_t MediaPath::packets_on(MediaPathKind path) const { return packets_[static_cast<int>(path)]; }

}  // namespace hailer
