#include "protocol/errors.hpp"

#include <array>

#include "base/assert.hpp"

namespace hailer {

namespace {
struct ErrorText {
  std::string_view name;
  std::string_view message;
};

constexpr std::array<ErrorText, error_code_count> error_texts{{
    {"bad_json", "the message is not valid JSON"},
    {"invalid_utf8", "the message is not valid UTF-8"},
    {"message_too_large", "the message is larger than the server accepts"},
    {"not_an_object", "the message must be a JSON object"},
    {"unknown_type", "the message type is not known"},
    {"missing_field", "a required field is missing"},
    {"bad_field", "a field has the wrong type or an out-of-range value"},
    {"unsupported_version", "this server speaks protocol version 1"},
    {"not_registered", "register (calls) or join (push-to-talk) first"},
    {"already_registered", "this connection is already registered"},
    {"wrong_face", "this request belongs to the other face (calls vs push-to-talk)"},
    {"bad_name", "names are 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit"},
    {"name_taken", "that name is in use"},
    {"name_confusable", "that name looks like a name in use (i, l and 1, 0 and o, rn and m, vv and w read alike)"},
    {"login_required", "this server has accounts: log in with your key over the TLS calls port"},
    {"bad_signature",
     "the signature does not verify for that key (login: on this connection; media_key: for this call)"},
    {"invite_required",
     "this server gives names by invitation: ask its operator for an invite (hailer-server invite NAME)"},
    {"bad_invite", "that invite code is wrong, used already, or for another name"},
    {"invite_expired", "that invite has expired (invites last 24 hours): ask for a new one"},
    {"too_many_keys", "your account holds the most device keys it may: ask the operator to reset it"},
    {"server_full", "the server has no room for another connection"},
    {"too_many_connections", "your address holds the most connections one address may: close one and try again"},
    {"user_not_found", "no connected user has that name"},
    {"self_call", "you cannot call yourself"},
    {"caller_busy", "you are already in a call or ringing"},
    {"no_pending_call", "no call is ringing for you"},
    {"not_in_call", "you are not in a call"},
    {"no_outgoing_call", "you have no outgoing call ringing"},
    {"already_waiting", "you already wait for another user; cancel_wait first"},
    {"queue_full", "too many callers already wait for that user"},
    {"not_waiting", "you are not waiting for anyone"},
    {"key_already_sent", "you already sent your key for this call: a call's media keys do not change"},
    {"bad_room", "room names are 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit"},
    {"room_full", "the room is full"},
    {"too_many_rooms", "the server has no room for another room"},
    {"not_instructor", "only an instructor may do that"},
    {"bad_token", "the instructor token is wrong"},
    {"too_many_attempts", "too many wrong instructor tokens from your address: try again in a minute"},
    {"not_queued", "that student is not waiting in line for the floor"},
    {"bad_frame", "a binary audio frame is malformed or not allowed here"},
    {"tls_required",
     "this port speaks TLS: connect with a hailer client that uses TLS (drop --plaintext), or start the server "
     "with --plaintext"},
}};

const ErrorText& text_of(ErrorCode code) {
  const auto index = static_cast<std::size_t>(code);
  HAILER_ASSERT(index < error_texts.size());
  return error_texts[index];
}
}  // namespace

std::string_view to_string(ErrorCode code) { return text_of(code).name; }
std::string_view default_message(ErrorCode code) { return text_of(code).message; }

}  // namespace hailer
