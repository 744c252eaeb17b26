// What goes into the core (events) and what comes out (effects). Adapters and the simulator
// turn the world into events and apply effects; they never decide.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "codec.hpp"
#include "messages.hpp"

namespace hailer {

/// A connection was accepted; `peer_address` is the peer's host as the adapter observed it.
struct SessionOpened {
  SessionId session;
  std::string peer_address;
};
/// The peer closed the connection, or the adapter lost it (any close code).
struct SessionClosed {
  SessionId session;
};
/// A request decoded from the session's text.
struct RequestReceived {
  SessionId session;
  Request request;
};
/// Text from the session that did not decode; the core answers it with an error.
struct BadRequest {
  SessionId session;
  DecodeError error;
};
/// One frame of PTT audio arrived from the session, at the given level (see level_dbfs()).
struct AudioFrame {
  SessionId session;
  int32_t level_dbfs = -100;
};
/// A deadline from next_deadline() has passed (spurious wake-ups are harmless).
struct TimerFired {};

/// Any input to the core.
using Event = std::variant<SessionOpened, SessionClosed, RequestReceived, BadRequest, AudioFrame, TimerFired>;

/// Send one message to a session.
struct SendMessage {
  SessionId to;
  ServerMessage message;
};
/// Why the core closes a session.
enum class CloseReason : uint8_t { heartbeat_timeout, server_full };
/// Close a session; the core already treats it as gone (the adapter still reports SessionClosed).
struct CloseSession {
  SessionId session;
  CloseReason reason = CloseReason::heartbeat_timeout;
};
/// Open or close a media path: from a session to a peer session (calls) or to the room's
/// speaker and recorder (PTT, `to_peer` empty). Media on a closed path is dropped.
struct RouteMedia {
  SessionId from;
  std::optional<SessionId> to_peer;
  bool open = false;
};
/// Start recording the session's turn to `file_name` (a bare name, never a path).
struct StartRecording {
  SessionId session;
  std::string room;
  std::string file_name;
};
/// Stop recording the session's turn.
struct StopRecording {
  SessionId session;
};

/// Any output of the core.
using Effect = std::variant<SendMessage, CloseSession, RouteMedia, StartRecording, StopRecording>;

/// The wire name of a close reason.
std::string_view to_string(CloseReason reason);

}  // namespace hailer
