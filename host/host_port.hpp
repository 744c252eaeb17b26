// The server host's door to its transports: messages out, closes, the one timer. hailer-server
// implements it with Asio and Beast; the simulator with its virtual network and clock. Whatever
// the real world can do to the host arrives as a call on ServerHost; whatever the host does to
// its clients leaves through this interface. What the speaker path makes (played audio,
// recordings) leaves through the other one, MediaSink (host/media_sink.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/time.hpp"
#include "core/events.hpp"

namespace hailer {

/// One encoded broadcast, shared by every connection it goes to (encoded once for the room).
using SharedText = std::shared_ptr<const std::string>;

/// The transports as the host sees them. Implementations must not call back into the host
/// from inside these functions: they queue, and report later (the host asserts it).
class HostPort {
 public:
  virtual ~HostPort() = default;
  /// Sends one protocol message to a connection (a line on TCP, a text frame on WebSocket).
  /// `text` lives only for the call (the host encodes every message into one buffer): a port
  /// copies what it keeps, so a message to one connection costs no allocation of its own.
  virtual void send_text(SessionId to, std::string_view text) = 0;
  /// Sends one message to several connections, in this order (a room's broadcast). A port may
  /// defer it behind the messages already sent (the next talker served before the room hears),
  /// but must keep each connection's messages in the order it was given them.
  virtual void send_broadcast(std::span<const SessionId> to, const SharedText& text) {
    for (SessionId s : to) send_text(s, *text);
  }
  /// Closes a connection after what is queued for it, for `reason`; the port reports
  /// ServerHost::closed() for it later, as for any close.
  virtual void close(SessionId session, CloseReason reason) = 0;
  /// Calls ServerHost::timer() at `at` (replacing any earlier request); nothing = no timer. A
  /// request is used up when it fires: the host asks again if it needs another.
  virtual void arm_timer(std::optional<Time> at) = 0;
  /// Sends one datagram from the server's UDP port to `to` (a relayed call packet); a port
  /// without UDP (the demo, the benchmarks) drops it. Best effort, as UDP is.
  virtual void send_datagram(const MediaEndpoint& to, std::span<const uint8_t> bytes) {
    (void)to;
    (void)bytes;
  }
  /// Sends one relayed call packet to a session as a tunnel frame on its connection (path c).
  /// Never ahead of or in the way of its messages: a port keeps few frames and drops the oldest
  /// when a connection is slow; a port without tunnels drops it.
  virtual void send_frame(SessionId to, std::span<const uint8_t> bytes) {
    (void)to;
    (void)bytes;
  }
};

/// Sees every event the host fed to the core and the effects it produced (the journal, the
/// simulator's checks and message log).
class HostObserver {
 public:
  virtual ~HostObserver() = default;
  /// Called after the core handled `event` at `now` and the host applied its effects.
  virtual void fed(Time now, const Event& event, std::span<const Effect> effects) = 0;
};

}  // namespace hailer
