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
  }
  HAILER_ASSERT(false && "unknown path");
  return "";
}

MediaPath::MediaPath(bool relay) : relay_(relay) {}

MediaPathKind MediaPath::route(Time now, bool direct_consent) {
  // Direct whenever it is proven (it costs the server nothing and is the shortest); the relay
  // while it is not; held only when there is neither.
  const MediaPathKind next = direct_consent ? MediaPathKind::direct
                             : relay_       ? MediaPathKind::relay
                                            : MediaPathKind::none;
  if (next != current_) {
    if (current_ != MediaPathKind::none && next != MediaPathKind::none) ++switches_;
    change_ = MediaPathChange{current_, next};
    current_ = next;
  }
  ++packets_[static_cast<int>(next)];
  if (next == MediaPathKind::relay) relay_sent(now);
  return next;
}

bool MediaPath::relay_keepalive_due(Time now) const {
  if (!relay_) return false;
  return !relay_last_sent_ || now - *relay_last_sent_ >= Duration::from_ms(relay_keepalive_ms);
}

void MediaPath::relay_sent(Time now) {
  HAILER_ASSERT(relay_);
  relay_last_sent_ = now;
}

std::optional<MediaPathChange> MediaPath::take_change() { return std::exchange(change_, std::nullopt); }

uint64_t MediaPath::packets_on(MediaPathKind path) const { return packets_[static_cast<int>(path)]; }

}  // namespace hailer
