// Stable error codes: the wire names never change once published (docs/protocol.md lists them).
#pragma once

#include <cstdint>
#include <string_view>

namespace hailer {

/// Why a request was refused. Each value has a stable wire name and a default human message.
enum class ErrorCode : uint8_t {
  // decoding
  bad_json,           ///< not parseable as JSON
  invalid_utf8,       ///< not well-formed UTF-8
  message_too_large,  ///< over Config::max_message_bytes
  not_an_object,      ///< JSON, but not an object
  unknown_type,       ///< "type" names no request
  missing_field,      ///< a required field is absent
  bad_field,          ///< a field has the wrong JSON type or is out of range
  // session
  unsupported_version,   ///< register/join with a protocol version this server does not speak
  not_registered,        ///< a request before register/join
  already_registered,    ///< register/join twice on one session
  wrong_face,            ///< a calls request on a PTT session or the reverse
  bad_name,              ///< a name outside the allowed alphabet or length
  name_taken,            ///< the name is in use by another connected session
  name_confusable,       ///< the name looks like one in use (name_skeleton): `aIice` beside `alice`
  login_required,        ///< accounts are on: register with key and signature, over the TLS calls port
  bad_signature,         ///< the login signature does not verify for this key and this connection
  invite_required,       ///< `--accounts invite`: an unowned name is claimed only with an invite
  bad_invite,            ///< the invite code is wrong, used already, or for another name
  invite_expired,        ///< the invite code was right but is past its 24 hours
  too_many_keys,         ///< add_key: the account holds the most keys one may
  server_full,           ///< Config::max_sessions reached
  too_many_connections,  ///< the peer's address holds the most sessions one address may (the host's cap)
  // calls
  user_not_found,    ///< no connected user of that name
  self_call,         ///< calling yourself
  caller_busy,       ///< you are already ringing or in a call
  no_pending_call,   ///< accept/reject with no call ringing for you (or another call id)
  not_in_call,       ///< hangup with no connected call
  no_outgoing_call,  ///< cancel with no outgoing call ringing
  already_waiting,   ///< one active wait per caller: you wait on someone else
  queue_full,        ///< the callee's waiting queue is full
  not_waiting,       ///< cancel_wait with no wait
  key_already_sent,  ///< a second media_key for the same call
  // push-to-talk
  bad_room,           ///< a room name outside the allowed alphabet or length
  room_full,          ///< Config::max_room_members reached
  too_many_rooms,     ///< Config::max_rooms reached
  not_instructor,     ///< an instructor-only request from a student
  bad_token,          ///< joining as instructor with a wrong token
  too_many_attempts,  ///< too many wrong instructor tokens from this address: wait a minute
  not_queued,         ///< grant/skip naming someone who is not in the room's floor queue
  // audio frames
  bad_frame,  ///< a binary audio frame that is malformed, or sent before joining
  // transport
  tls_required,  ///< plaintext on a calls port that speaks TLS (sent in plaintext, then closed)
};

/// The wire name of a code, e.g. "name_taken".
std::string_view to_string(ErrorCode code);

/// A default human-readable explanation of a code.
std::string_view default_message(ErrorCode code);

/// Number of error codes, for exhaustive tests.
inline constexpr int error_code_count = static_cast<int>(ErrorCode::tls_required) + 1;

}  // namespace hailer
