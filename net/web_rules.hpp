// The classroom web server's rules that need no Beast and no socket: what type a page is, the
// instructor's cookie and how a request carries it, which pages may open the WebSocket, the
// bearer token. web_server.cpp applies them to Beast's requests; tests check them directly.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hailer::net {

/// The Content-Type of a served file, by its extension (application/octet-stream if unknown).
std::string_view content_type(std::string_view path);

/// The instructor's cookie value: a SHA-256 digest of the token (hex), so the token itself never
/// sits in a browser's cookie jar and a restarted server with the same token knows its cookies.
/// Empty for an empty token (no instructor secret: no cookie).
std::string instructor_cookie(std::string_view token);

/// The value of cookie `name` in one Cookie header (`a=1; b=2`), if present.
std::optional<std::string> cookie_in_header(std::string_view header, std::string_view name);

/// Whether a page from `origin` (the Origin header, absent for a non-browser client) may open
/// the WebSocket: no header, or one of `allowed` (lowercase origins), compared case-insensitively.
bool origin_allowed(std::optional<std::string_view> origin, std::span<const std::string> allowed);

/// The token of an `Authorization: Bearer TOKEN` header, if it is one.
std::optional<std::string_view> bearer_token(std::string_view authorization);

/// ASCII lowercase.
std::string lowercase(std::string_view text);

}  // namespace hailer::net
