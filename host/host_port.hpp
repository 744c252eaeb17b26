// The server host's only door to the outside world. hailer-server implements it with Asio,
// Beast, PortAudio and libsndfile; the simulator with its virtual network, clock and memory.
// Whatever the real world can do to the host arrives as a call on ServerHost; whatever the host
// does to the world leaves through this interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/time.hpp"
#include "core/events.hpp"
#include "media/jitter_buffer.hpp"
#include "media/stream_stats.hpp"

namespace hailer {

/// One encoded broadcast, shared by every connection it goes to (encoded once for the room).
using SharedText = std::shared_ptr<const std::string>;

/// What one talker contributed to a speaker frame.
struct TalkerFrame {
  SessionId talker;
  PlayoutKind kind = PlayoutKind::normal;
  uint32_t timestamp = 0;  ///< the frame's position in the talker's stream (sequence x 960)
  std::span<const int16_t> pcm;
};

/// 20 ms for the speaker: the mix to play, and who is in it.
struct SpeakerFrame {
  Time at;
  std::span<const int16_t> mix;  ///< 960 samples, 48 kHz mono
  std::span<const TalkerFrame> talkers;
};

/// The outside world as the host sees it. Implementations must not call back into the host
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
  /// Plays 20 ms on the speaker.
  virtual void play(const SpeakerFrame& frame) = 0;
  /// Starts recording turn `recording` to `file_name` (a bare name) for `room`.
  virtual void record_start(uint64_t recording, const std::string& room, const std::string& file_name) = 0;
  /// Appends played audio (48 kHz mono) to a recording.
  virtual void record_append(uint64_t recording, std::span<const int16_t> pcm) = 0;
  /// Finishes a recording.
  virtual void record_stop(uint64_t recording) = 0;
  /// A talker's turn finished playing (its tail included), with how it went.
  virtual void turn_ended(SessionId talker, const StreamStats& stats) = 0;
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
