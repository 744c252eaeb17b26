// The protocol's messages as plain types: requests from clients, replies and events from the server.
// The JSON shape of each is in docs/protocol.md; codec.hpp converts.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/errors.hpp"

namespace hailer {

/// The protocol version this server speaks; register and join must carry it.
inline constexpr int64_t protocol_version = 1;

/// A connection, numbered by the adapter that opened it.
struct SessionId {
  uint64_t value = 0;
  auto operator<=>(const SessionId&) const = default;
};

/// Which face a session speaks, fixed by its first request: register (calls) or join (PTT).
enum class Face : uint8_t { calls, ptt };
/// PTT contention policy of a room: refuse a press while someone talks, or queue it.
enum class FloorPolicy : uint8_t { deny, queue };
/// Role of a push-to-talk member.
enum class Role : uint8_t { student, instructor };
/// Audio encoding a PTT client sends in its binary frames.
enum class AudioCodec : uint8_t { opus, pcm16 };
/// How a PTT client encodes its audio, declared at join.
struct AudioFormat {
  AudioCodec codec = AudioCodec::pcm16;
  uint32_t sample_rate_hz = 48'000;  ///< pcm16 only; Opus is always 48 kHz
  bool operator==(const AudioFormat&) const = default;
};
/// Presence of a connected calls user (offline users are simply not listed).
enum class PresenceState : uint8_t { available, ringing, in_call };

// ---------------------------------------------------------------- requests (client -> server)

/// Registers a calls user; the first request of a calls session.
struct RegisterRequest {
  int64_t version = protocol_version;
  std::string name;
  uint16_t media_port = 0;  ///< UDP port for RTP on the client's host; 0 = no media
  std::string key;          ///< the account's Ed25519 public key, 64 hex digits (accounts on); empty = none
  std::string signature;    ///< login_signature() under that key, 128 hex digits; empty = none
  std::string invite;       ///< `--accounts invite`: the one-time code to claim the name; empty = none
  bool operator==(const RegisterRequest&) const = default;
};
/// Sends this side's call key to the peer (end-to-end media): the server checks the signature
/// and relays it as peer_media_key; it never sees a key that opens the audio.
struct MediaKeyRequest {
  uint64_t call_id = 0;
  std::string key;          ///< this call's X25519 public key, 64 hex digits
  std::string account_key;  ///< the sender's Ed25519 account key, 64 hex digits
  std::string signature;    ///< call_key_signature() under that account key, 128 hex digits
  bool operator==(const MediaKeyRequest&) const = default;
};
/// Adds another device's key to the account this session logged in to (accounts on): from then
/// on that key may log in to the name too.
struct AddKeyRequest {
  std::string key;  ///< the other device's Ed25519 public key, 64 hex digits
  bool operator==(const AddKeyRequest&) const = default;
};
/// Lists connected calls users (or room members, on a PTT session).
struct WhoRequest {
  bool operator==(const WhoRequest&) const = default;
};
/// Calls a user by name; queues on them when they are busy.
struct CallRequest {
  std::string to;
  std::optional<bool> auto_connect;  ///< camp-on when queued; nothing = server default
  bool operator==(const CallRequest&) const = default;
};
/// Accepts the call ringing for this user (optionally naming it).
struct AcceptRequest {
  std::optional<uint64_t> call_id;
  bool operator==(const AcceptRequest&) const = default;
};
/// Rejects the call ringing for this user (optionally naming it).
struct RejectRequest {
  std::optional<uint64_t> call_id;
  bool operator==(const RejectRequest&) const = default;
};
/// Ends the connected call.
struct HangupRequest {
  bool operator==(const HangupRequest&) const = default;
};
/// Cancels this user's outgoing call while it rings.
struct CancelRequest {
  bool operator==(const CancelRequest&) const = default;
};
/// Leaves the waiting queue this user is in.
struct CancelWaitRequest {
  bool operator==(const CancelWaitRequest&) const = default;
};
/// Lists this user's missed calls.
struct MissedRequest {
  bool operator==(const MissedRequest&) const = default;
};
/// Keeps the session alive; any request does, this one does nothing else.
struct PingRequest {
  bool operator==(const PingRequest&) const = default;
};
/// Joins a push-to-talk room; the first request of a PTT session.
struct JoinRequest {
  int64_t version = protocol_version;
  std::string name;
  std::string room;
  Role role = Role::student;
  AudioCodec codec = AudioCodec::pcm16;
  uint32_t sample_rate_hz = 48'000;
  std::string token;  ///< instructor token, when the server requires one
  bool operator==(const JoinRequest&) const = default;
};
/// Asks for the floor (button pressed).
struct PressRequest {
  bool operator==(const PressRequest&) const = default;
};
/// Gives up the floor or leaves the floor queue (button released).
struct ReleaseRequest {
  bool operator==(const ReleaseRequest&) const = default;
};
/// Takes the floor from the current talker (instructor only).
struct RevokeRequest {
  bool operator==(const RevokeRequest&) const = default;
};
/// Changes the room's contention policy (instructor only).
struct SetPolicyRequest {
  FloorPolicy policy = FloorPolicy::deny;
  bool operator==(const SetPolicyRequest&) const = default;
};

/// Gives the floor now to a student waiting in the queue (instructor only): the current turn,
/// if any, ends as revoked by the instructor.
struct GrantRequest {
  std::string name;
  bool operator==(const GrantRequest&) const = default;
};
/// Takes a student out of the floor queue (instructor only); those behind move up.
struct SkipRequest {
  std::string name;
  bool operator==(const SkipRequest&) const = default;
};

/// Asks for the connection's channel binding, what a login signs: a page cannot read the TLS
/// exporter, so the server says it (docs/protocol.md, "Accounts").
struct ChannelBindingRequest {
  bool operator==(const ChannelBindingRequest&) const = default;
};

/// Any request body.
using RequestBody = std::variant<RegisterRequest, WhoRequest, CallRequest, AcceptRequest, RejectRequest, HangupRequest,
                                 CancelRequest, CancelWaitRequest, MissedRequest, PingRequest, JoinRequest,
                                 PressRequest, ReleaseRequest, RevokeRequest, SetPolicyRequest, MediaKeyRequest,
                                 AddKeyRequest, GrantRequest, SkipRequest, ChannelBindingRequest>;

/// A decoded request: the client's request id and what it asks.
struct Request {
  uint64_t id = 0;
  RequestBody body;
  bool operator==(const Request&) const = default;
};

// ---------------------------------------------------------------- replies (server -> client)

/// One row of a calls `who` listing.
struct UserInfo {
  std::string name;
  PresenceState state = PresenceState::available;
  uint32_t waiting = 0;         ///< callers queued on this user
  std::optional<bool> in_line;  ///< true while this user waits in line for someone (sent only then)
  bool operator==(const UserInfo&) const = default;
};
/// One missed call.
struct MissedCallInfo {
  std::string from;
  int64_t at_ms = 0;  ///< server clock when the ring timed out
  bool operator==(const MissedCallInfo&) const = default;
};
/// One member of a PTT room.
struct MemberInfo {
  std::string name;
  Role role = Role::student;
  bool operator==(const MemberInfo&) const = default;
};

/// Data of a successful register.
struct RegisteredData {
  std::string name;
  int64_t heartbeat_ms = 0;
  std::string media_token;  ///< the secret key (32 hex digits) the client's UDP proofs are MACs under; never sent back
  std::string media_id;     ///< the public id (16 hex digits) a proof names the key by
  std::optional<uint16_t> rendezvous_port;  ///< the server's UDP port for that proof (absent: none)
  bool operator==(const RegisteredData&) const = default;
};
/// Data of a successful call: the ringing call's id, or that the caller was queued.
struct CallData {
  std::optional<uint64_t> call_id;
  bool queued = false;
  bool operator==(const CallData&) const = default;
};
/// Data of a calls `who`.
struct WhoData {
  std::vector<UserInfo> users;
  bool operator==(const WhoData&) const = default;
};
/// Data of `missed`.
struct MissedData {
  std::vector<MissedCallInfo> calls;
  std::optional<int64_t> now_ms;  ///< the server's clock when it answered (at_ms is on the same clock)
  bool operator==(const MissedData&) const = default;
};
/// Data of a successful join, and of `who` on a PTT session.
struct RoomData {
  std::string room;
  FloorPolicy policy = FloorPolicy::deny;
  std::string talker;  ///< empty when the floor is idle
  std::vector<MemberInfo> members;
  int64_t max_talk_ms = 0;
  bool operator==(const RoomData&) const = default;
};

/// Data of `channel_binding`.
struct ChannelBindingData {
  std::string binding;  ///< 64 hex digits
  bool operator==(const ChannelBindingData&) const = default;
};

/// What an ok reply carries.
using ReplyData =
    std::variant<std::monostate, RegisteredData, CallData, WhoData, MissedData, RoomData, ChannelBindingData>;

/// Which data an ok reply carries, in ReplyData's order. A client knows it from the request it
/// sent (see reply_kind()), so the decoder never guesses it from the fields present.
enum class ReplyKind : uint8_t { none, registered, call, who, missed, room, channel_binding };

/// Success answer to request `id`.
struct OkReply {
  uint64_t id = 0;
  ReplyData data;
  bool operator==(const OkReply&) const = default;
};
/// Failure answer to request `id` (absent when the request's id could not be read).
struct ErrorReply {
  std::optional<uint64_t> id;
  ErrorCode code = ErrorCode::bad_json;
  std::string message;
  bool operator==(const ErrorReply&) const = default;
};

// ---------------------------------------------------------------- events (server -> client)

/// The server saw the recipient's media endpoint (its UDP proof) at this address and port;
/// calls use it from now on.
struct MediaReady {
  std::string address;
  uint16_t port = 0;
  bool operator==(const MediaReady&) const = default;
};

/// Which side of a call the recipient is.
enum class CallRole : uint8_t { caller, callee };
/// Why a call ended.
enum class EndReason : uint8_t { hangup, rejected, no_answer, cancelled, peer_disconnected };
/// Where to send RTP to reach the peer, as the server observed the peer's host.
struct MediaEndpoint {
  std::string address;
  uint16_t port = 0;
  bool operator==(const MediaEndpoint&) const = default;
};

/// A call starts ringing (to both parties).
struct CallRinging {
  uint64_t call_id = 0;
  std::string peer;
  CallRole role = CallRole::caller;
  bool operator==(const CallRinging&) const = default;
};
/// A call is connected (to both parties), with the peer's media endpoint.
struct CallConnected {
  uint64_t call_id = 0;
  std::string peer;
  MediaEndpoint peer_media;
  std::optional<uint16_t> relay_port;  ///< the server relays this call on this UDP port (absent: no relay)
  bool operator==(const CallConnected&) const = default;
};
/// The peer's call key (end-to-end media), as it sent it: the recipient checks the signature
/// itself and derives the call's SRTP keys.
struct PeerMediaKey {
  uint64_t call_id = 0;
  std::string peer;
  std::string key;          ///< the peer's X25519 public key for this call, 64 hex digits
  std::string account_key;  ///< the peer's Ed25519 account key, 64 hex digits
  std::string signature;    ///< the peer's signature of `key`, 128 hex digits
  bool operator==(const PeerMediaKey&) const = default;
};
/// A call ended (to both parties); `by` names who ended it, empty for a timeout.
struct CallEnded {
  uint64_t call_id = 0;
  std::string peer;
  EndReason reason = EndReason::hangup;
  std::string by;
  bool operator==(const CallEnded&) const = default;
};
/// A call rang out unanswered (to the callee).
struct MissedCall {
  std::string from;
  int64_t at_ms = 0;
  bool operator==(const MissedCall&) const = default;
};

/// State of a waiter in a callee's queue.
enum class WaitStatus : uint8_t { queued, suspended };
/// Why a wait ended.
enum class WaitEndReason : uint8_t { completed, cancelled, expired, window_expired, callee_offline };

/// A waiter's place or status changed (position is 1-based, counting suspended waiters).
struct WaitUpdate {
  std::string callee;
  uint32_t position = 0;
  WaitStatus status = WaitStatus::queued;
  bool operator==(const WaitUpdate&) const = default;
};
/// The waited-for callee is free; the recipient holds the exclusive recall window.
struct CalleeAvailable {
  std::string callee;
  int64_t window_ms = 0;
  bool auto_connect = false;  ///< the server is ringing the callee on the waiter's behalf
  bool operator==(const CalleeAvailable&) const = default;
};
/// A wait ended; the waiter is in no queue any more.
struct WaitEnded {
  std::string callee;
  WaitEndReason reason = WaitEndReason::completed;
  bool operator==(const WaitEnded&) const = default;
};
/// How many callers wait for the recipient (sent when it changes).
struct WaitingCount {
  uint32_t count = 0;
  bool operator==(const WaitingCount&) const = default;
};

/// Why a floor request was refused.
enum class DenyReason : uint8_t { floor_taken, queue_full, receive_only };
/// Why the floor was taken away.
enum class RevokeReason : uint8_t { max_talk_time, silence, instructor };
/// Why a queued floor request was dropped.
enum class DequeueReason : uint8_t { released, policy_changed, skipped };
/// Why a turn is not recorded, or no longer: the recordings folder's free-space floor or total
/// size, the talker's or its address's hourly budget, or the file could not be written.
enum class RecordingStopReason : uint8_t { disk_full, quota, student_budget, address_budget, error };

/// The recipient may talk now, for at most `remaining_ms`.
struct FloorGranted {
  int64_t remaining_ms = 0;
  bool operator==(const FloorGranted&) const = default;
};
/// The recipient's press was refused.
struct FloorDenied {
  DenyReason reason = DenyReason::floor_taken;
  std::string talker;
  bool operator==(const FloorDenied&) const = default;
};
/// The recipient's press is queued at `position` (1 = next), re-sent when it changes.
struct FloorQueued {
  uint32_t position = 0;
  bool operator==(const FloorQueued&) const = default;
};
/// Someone else holds the floor.
struct FloorTaken {
  std::string talker;
  bool operator==(const FloorTaken&) const = default;
};
/// Nobody holds the floor.
struct FloorIdle {
  bool operator==(const FloorIdle&) const = default;
};
/// The recipient lost the floor against its will.
struct FloorRevoked {
  RevokeReason reason = RevokeReason::max_talk_time;
  bool operator==(const FloorRevoked&) const = default;
};
/// The recipient's queued request was dropped.
struct FloorDequeued {
  DequeueReason reason = DequeueReason::released;
  bool operator==(const FloorDequeued&) const = default;
};
/// One student waiting in a floor queue.
struct QueueEntry {
  std::string name;
  bool operator==(const QueueEntry&) const = default;
};
/// The room's floor queue changed, head first (told to the room's instructors; students learn only
/// their own position, from floor_queued).
struct FloorQueue {
  std::vector<QueueEntry> queue;
  bool operator==(const FloorQueue&) const = default;
};
/// A member joined the recipient's room.
struct MemberJoined {
  std::string name;
  Role role = Role::student;
  bool operator==(const MemberJoined&) const = default;
};
/// A member left the recipient's room.
struct MemberLeft {
  std::string name;
  bool operator==(const MemberLeft&) const = default;
};
/// The room's contention policy changed.
struct PolicyChanged {
  FloorPolicy policy = FloorPolicy::deny;
  bool operator==(const PolicyChanged&) const = default;
};

/// The talker's turn is not recorded, or no longer (told to the room's instructors); the floor
/// and the playback go on.
struct RecordingStopped {
  std::string talker;
  RecordingStopReason reason = RecordingStopReason::error;
  bool operator==(const RecordingStopped&) const = default;
};

/// Why the relay dropped the recipient's packets.
enum class RelayDropReason : uint8_t { oversized, too_fast };
/// The relay dropped packets the recipient sent on call `call_id`'s leg (told at most once a
/// second a leg); the call goes on.
struct RelayDropped {
  uint64_t call_id = 0;
  RelayDropReason reason = RelayDropReason::too_fast;
  bool operator==(const RelayDropped&) const = default;
};

/// The server is stopping: the connection closes next; reconnect later.
struct ServerClosing {
  bool operator==(const ServerClosing&) const = default;
};

/// Anything the server sends.
using ServerMessage =
    std::variant<OkReply, ErrorReply, MediaReady, CallRinging, CallConnected, CallEnded, MissedCall, WaitUpdate,
                 CalleeAvailable, WaitEnded, WaitingCount, FloorGranted, FloorDenied, FloorQueued, FloorTaken,
                 FloorIdle, FloorRevoked, FloorDequeued, MemberJoined, MemberLeft, PolicyChanged, RecordingStopped,
                 ServerClosing, PeerMediaKey, FloorQueue, RelayDropped>;

// ---------------------------------------------------------------- decode failures

/// Why a peer's text is not a message, with the request id when it could be read.
struct DecodeError {
  std::optional<uint64_t> id;
  ErrorCode code = ErrorCode::bad_json;
  std::string detail;  ///< which field, for the human message
  bool operator==(const DecodeError&) const = default;
};

}  // namespace hailer
