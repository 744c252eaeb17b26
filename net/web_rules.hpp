// The classroom web server's rules that need no Beast and no socket: what type a page is, the
// instructor's cookie and how a request carries it, which pages may open the WebSocket, the
// bearer token. web_server.cpp applies them to Beast's requests; tests check them directly.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

/// The request methods the classroom tells apart.
enum class Method : uint8_t { get, head, post, del, other };

/// What a request asks for, decided from its method and target alone.
struct Route {
  enum class Kind : uint8_t {
    instructor_session,  ///< POST trades the token for the cookie, GET checks the cookie
    method_not_allowed,  ///< anything but GET or HEAD elsewhere (405)
    recordings_list,     ///< GET /api/recordings: the instructor's list (JSON)
    recording,           ///< GET /recordings/NAME: one recording, if NAME is safe and exists
    recording_delete,    ///< DELETE /recordings/NAME: the instructor removes one recording
    page,                ///< a file under the web root
    not_found,           ///< a name no file under the web root may have
  };
  Kind kind = Kind::not_found;
  std::string file;               ///< recording: the name asked for; page: the file under the web root
  bool needs_instructor = false;  ///< the instructor's cookie or token is checked first
};

/// The route of `target` (its query is ignored): "/" is index.html, "/instructor" instructor.html,
/// recordings need the instructor, and a page name must be a safe file name.
Route route_of(Method method, std::string_view target);

/// A byte range asked for by a `Range` header, inclusive, within a body of known size.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
};

/// How a `Range` header stands against a body of `size` bytes.
struct RangeAnswer {
  enum class Kind : uint8_t {
    whole,          ///< no header, or one we do not serve (several ranges, another unit): 200 with all
    part,           ///< one satisfiable range: 206 with `range`
    unsatisfiable,  ///< a range wholly past the end: 416
  };
  Kind kind = Kind::whole;
  ByteRange range;
};

/// Reads `bytes=FIRST-`, `bytes=FIRST-LAST` or `bytes=-SUFFIX` (RFC 9110 14.1.2) against `size`.
/// A media player asks for ranges to seek and to resume; anything else gets the whole body.
RangeAnswer byte_range(std::optional<std::string_view> header, uint64_t size);

/// One recording in the instructor's list.
struct RecordingEntry {
  std::string file;
  uint64_t bytes = 0;
  int64_t audio_ms = 0;
  int64_t modified_ms = 0;  ///< when the file was last written (the end of the turn), Unix ms
};

/// The list as GET /api/recordings answers it: a JSON array, newest first (then by file name),
/// with a newline.
std::string recordings_json(std::vector<RecordingEntry> entries);

}  // namespace hailer::net
