// The wire codec: one JSON object per message (a line on TCP, a text frame on WebSocket).
// Pure: text in, typed messages out, and back. Strict on what clients send.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "errors.hpp"
#include "messages.hpp"

namespace hailer {

/// Largest request id accepted: the largest integer a JavaScript number holds exactly.
inline constexpr uint64_t max_request_id = (1ULL << 53) - 1;

/// Why a client's text is not a request, with the request id when it could be read.
struct DecodeError {
  std::optional<uint64_t> id;
  ErrorCode code = ErrorCode::bad_json;
  std::string detail;  ///< which field, for the human message
  bool operator==(const DecodeError&) const = default;
};

/// A request, or why the text is not one.
using DecodeResult = std::variant<Request, DecodeError>;

/// Decodes a client's text strictly: size, UTF-8, JSON object, type, id, every field's type and range.
/// Unknown extra fields are ignored so that newer clients can talk to this server.
DecodeResult decode_request(std::string_view text, uint32_t max_message_bytes);

/// Encodes a request as a client sends it (no trailing newline).
std::string encode_request(const Request& request);

/// Encodes a server message as the server sends it (no trailing newline).
std::string encode(const ServerMessage& message);

/// Decodes a server message (for clients and tests); nothing when the text is not one.
std::optional<ServerMessage> decode_server_message(std::string_view text);

/// The wire name of a server message's "type", e.g. "call_ringing".
std::string_view message_type(const ServerMessage& message);

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

}  // namespace hailer
