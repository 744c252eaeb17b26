// What goes into the core (events) and what comes out (effects). Adapters and the simulator
// turn the world into events and apply effects; they never decide.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/secret.hpp"
#include "protocol/login.hpp"
#include "protocol/media_probe.hpp"
#include "protocol/messages.hpp"

namespace hailer {

/// Why a session ended: told by the adapter (SessionClosed) or decided by the core (CloseSession).
enum class CloseReason : uint8_t {
  peer_closed,        ///< the peer closed cleanly (TCP FIN, WebSocket close frame, any code)
  reset,              ///< the connection broke (RST, I/O error, abrupt loss)
  heartbeat_timeout,  ///< the core: nothing heard for heartbeat_timeout_ms
  server_full,        ///< the core: max_sessions reached
  slow_reader,        ///< the adapter: the peer stopped reading and its outbound queue overflowed
  protocol_error,     ///< the adapter: framing the protocol cannot recover from (a line too long, a bad frame)
  shutdown,           ///< the server is stopping
};

/// Number of close reasons, for tables indexed by them.
inline constexpr std::size_t close_reason_count = static_cast<std::size_t>(CloseReason::shutdown) + 1;

/// The wire and log name of a close reason, e.g. "slow_reader".
std::string_view to_string(CloseReason reason);

/// A connection was accepted; `peer_address` is the peer's host as the adapter observed it.
/// `secrets` were drawn for it by the host (OS CSPRNG; seeded stand-ins in simulations).
struct SessionOpened {
  SessionId session;
  std::string peer_address;
  SessionSecrets secrets;
  /// The connection was opened with the instructor's cookie (the web face checked it), so it may
  /// join as instructor without a token.
  bool instructor_cookie = false;
  /// The connection's channel binding (TLS exporter, protocol/login.hpp); all zero without TLS.
  /// Logins are signed over it, so none made for another connection verifies here.
  ChannelBinding binding{};
};
/// The connection is gone, for `reason`. After the core's own CloseSession it is an echo.
struct SessionClosed {
  SessionId session;
  CloseReason reason = CloseReason::peer_closed;
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
/// A media proof (docs/protocol.md, "Media endpoint") reached the server's UDP port from
/// `observed`, not yet verified: when its MAC is right and its counter new, the session whose
/// media id it names has proven its media endpoint (as seen through any NAT).
struct MediaProbe {
  MediaProbeDatagram probe;
  MediaEndpoint observed;
};
/// One frame of PTT audio arrived from the session (it proves the session alive; the core
/// tallies frames from anyone but the holder as dropped).
struct AudioFrame {
  SessionId session;
};
/// A frame of the session's turn was played at `level_dbfs` (see level_dbfs()); voice above
/// the silence threshold keeps the floor.
struct AudioPlayed {
  SessionId session;
  int32_t level_dbfs = -100;
};
/// The port could not record the talker's turn, or no longer (the recordings folder is full or
/// its disk nearly so, or the file could not be written): the room's instructors are told.
struct RecordingFailed {
  SessionId talker;
  RecordingStopReason reason = RecordingStopReason::error;
};
/// A deadline from next_deadline() has passed (spurious wake-ups are harmless).
struct TimerFired {};
/// One account: a name (as first claimed) and a key that may log in to it.
struct Account {
  std::string name;
  std::array<uint8_t, 32> key{};
  bool operator==(const Account&) const = default;
};
/// The accounts kept from earlier runs, given to the core before any session (hailer-server's
/// accounts database); journaled, so a replay knows who owns what.
struct AccountsLoaded {
  std::vector<Account> accounts;
};
/// The host checked the invite code a session's register carries, against the invites the
/// operator made (`--accounts invite`): it is the one for `name_key`, unused, and `expired` or
/// not. The code itself never reaches the core; a wrong code gives no event. Journaled.
struct InviteChecked {
  SessionId session;
  std::string name_key;
  bool expired = false;
};
/// The server is stopping: every session is told (server_closing) and closed (shutdown).
struct Shutdown {};

/// Any input to the core.
using Event = std::variant<SessionOpened, SessionClosed, RequestReceived, BadRequest, MediaProbe, AudioFrame,
                           AudioPlayed, RecordingFailed, TimerFired, AccountsLoaded, InviteChecked, Shutdown>;

/// Send one message to a session.
struct SendMessage {
  SessionId to;
  ServerMessage message;
};
/// Send one message to several sessions (a room): encoded once by the adapter, in this order.
struct Broadcast {
  std::vector<SessionId> to;
  ServerMessage message;
};
/// Close a session; the core already treats it as gone (the adapter still reports SessionClosed).
struct CloseSession {
  SessionId session;
  CloseReason reason = CloseReason::heartbeat_timeout;
};
/// Open or close the media path between two call peers (RTP flows peer to peer; the route
/// says who may send to whom). Media on a closed path is dropped.
struct RouteMedia {
  SessionId from;
  SessionId to;
  bool open = false;
};
/// Open or close a connected call's relay legs (path b of its media, on the server's UDP port).
/// Each leg's id is derived from its session's media key (relay_leg_id): never written down.
struct RelayCall {
  uint64_t call_id = 0;
  SessionId a;
  RelayLegId leg_a{};
  SessionId b;
  RelayLegId leg_b{};
  bool open = false;
};
/// Open or close the path from a PTT talker to its room's speaker and recorder; frames from a
/// session without an open route are dropped.
struct RouteSpeaker {
  SessionId talker;
  std::string room;
  AudioFormat format;  ///< how the talker's frames are encoded (declared at join)
  bool open = false;
};
/// Start recording the session's turn to `file_name` (a bare name, never a path).
struct StartRecording {
  SessionId session;
  std::string room;
  std::string file_name;
};
/// Stop recording the session's turn: when its turn ends (what is still buffered for it is
/// recorded first), or `at_once` (a budget ran out mid-turn: not a frame more).
struct StopRecording {
  SessionId session;
  bool at_once = false;
};

/// A key now owns a name: its first (a claim, accounts on) or another of its owner's devices
/// (add_key). The adapter keeps it (the database).
struct AccountClaimed {
  Account account;
};
/// An invite was used to claim its name: the host forgets it (one use only).
struct InviteUsed {
  std::string name_key;
};

/// Any output of the core.
using Effect = std::variant<SendMessage, Broadcast, CloseSession, RouteMedia, RouteSpeaker, StartRecording,
                            StopRecording, AccountClaimed, InviteUsed, RelayCall>;

}  // namespace hailer
