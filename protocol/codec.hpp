// The wire codec: one JSON object per message (a line on TCP, a text frame on WebSocket).
// Pure: text in, typed messages out, and back. One table (codec.cpp, `Wire<T>`) gives every
// message its name, its fields, and where it may be sent; decoding, encoding and the core's
// dispatch all read that table. Strict in both directions: every numeric field is checked for
// type and range, and the JSON rules of protocol/json.hpp apply (no duplicate keys, no NUL, no BOM).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/messages.hpp"

namespace hailer {

/// Largest request id accepted: the largest integer a JavaScript number holds exactly.
inline constexpr uint64_t max_request_id = (1ULL << 53) - 1;

/// Longest string field a client may send, in bytes; names are validated further by the core.
inline constexpr std::size_t max_request_string_bytes = 256;

/// Where a request may be sent: first on a session (register/join), on one face, or on any.
enum class RequestScope : uint8_t { hello, calls, ptt, any };

/// A request, or why the text is not one.
using DecodeResult = std::variant<Request, DecodeError>;

/// A server message, or why the text is not one.
using ServerDecodeResult = std::variant<ServerMessage, DecodeError>;

/// Tells the decoder of server messages which data the ok reply to request `id` carries;
/// nothing when the client never sent that id (the reply is then refused).
using ReplyKinds = std::function<std::optional<ReplyKind>(uint64_t id)>;

/// Decodes a client's text strictly: size, UTF-8, JSON object, type, id, every field's type and range.
/// Unknown extra fields are ignored so that newer clients can talk to this server.
DecodeResult decode_request(std::string_view text, uint32_t max_message_bytes);

/// Encodes a request as a client sends it (no trailing newline).
std::string encode_request(const Request& request);

/// Encodes a server message as the server sends it (no trailing newline).
std::string encode(const ServerMessage& message);

/// Appends the encoding of `message` to `out` (no trailing newline), without a temporary.
void encode_to(std::string& out, const ServerMessage& message);

/// Decodes a server message with the same strictness as requests get; `kinds` says what each
/// ok reply carries. Unknown extra fields are ignored, for newer servers.
ServerDecodeResult decode_server_message(std::string_view text, const ReplyKinds& kinds,
                                         uint32_t max_message_bytes = 16u << 20);

/// A ReplyKinds that answers `kind` for every id (tests and tools that send one kind of request).
ReplyKinds any_reply_is(ReplyKind kind);

/// The data kind of the ok reply to `body` on a session of `face`.
ReplyKind reply_kind(const RequestBody& body, Face face);

/// The data kind an ok reply carries.
ReplyKind reply_kind(const ReplyData& data);

/// Where `body` may be sent.
RequestScope request_scope(const RequestBody& body);

/// The wire name of a request's "type", e.g. "call".
std::string_view request_type(const RequestBody& body);

/// The wire name of a server message's "type", e.g. "call_ringing".
std::string_view message_type(const ServerMessage& message);

/// True when `type` is the wire name of some server message.
bool is_server_message_type(std::string_view type);

/// One field of a server message, as tools that check expectations against the protocol see it.
struct FieldSchema {
  /// The JSON shape of the field.
  enum class Kind : uint8_t { string, nullable_string, integer, nullable_integer, boolean, object, array };
  std::string name;
  Kind kind = Kind::string;
  std::vector<std::string> values;  ///< a string field's allowed values (an enum); empty = any text
  std::vector<FieldSchema> fields;  ///< an object field's own fields
};

/// The fields a server message of `type` carries (for "ok": those of every reply kind, and
/// "id"); nothing when `type` is not a server message. Derived from the codec's own table.
std::optional<std::vector<FieldSchema>> server_message_fields(std::string_view type);

/// Wire names of the enums used in messages.
std::string_view to_string(PresenceState v);
std::string_view to_string(Role v);
std::string_view to_string(AudioCodec v);
std::string_view to_string(FloorPolicy v);
std::string_view to_string(CallRole v);
std::string_view to_string(EndReason v);
std::string_view to_string(WaitStatus v);
std::string_view to_string(WaitEndReason v);
std::string_view to_string(DenyReason v);
std::string_view to_string(RevokeReason v);
std::string_view to_string(DequeueReason v);
/// The wire name of a recording stop reason, e.g. "disk_full".
std::string_view to_string(RecordingStopReason v);

}  // namespace hailer
