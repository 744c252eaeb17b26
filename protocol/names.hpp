// User and room names: what is allowed, how they compare, and how they become file names.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace hailer {

/// Longest user or room name, in bytes (all allowed characters are one byte).
inline constexpr std::size_t max_name_length = 32;

/// True when `name` is 1-32 characters of [A-Za-z0-9_.-] starting with a letter or digit.
/// The narrow alphabet makes every valid name safe in a file name, a URL and a log line.
bool valid_name(std::string_view name);

/// The comparison key of a valid name: ASCII lowercase. "Alice" and "alice" are one user.
std::string name_key(std::string_view name);

/// The same key written into `buffer` and viewed there: a lookup by name without allocating.
std::string_view name_key(std::string_view name, std::array<char, max_name_length>& buffer);

/// The look-alike key of a valid name: two names with one skeleton would pass for each other on
/// a screen, so only one of them may be in use. After Unicode TR39's skeletons, for the name
/// alphabet and with case folded (names compare without case): i, I, 1 and l become l (`aIice`
/// is `alice`), 0 becomes o (`b0b` is `bob`), then rn becomes m and vv becomes w, left to
/// right. The result is not a valid name in general; it is only compared.
std::string name_skeleton(std::string_view name);

/// Reduces any string to the name alphabet ('_' for anything else, cut to 32, "_" if empty);
/// defence in depth for file names even though the core only admits valid names.
std::string sanitize_name(std::string_view raw);

/// The recording file for a turn: "<sanitized name>_<serial>.wav", never a path.
std::string recording_file_name(std::string_view name, uint64_t serial);

/// The one rule for a file name that came from the network (a recording written, a recording
/// served): 1-128 characters of [A-Za-z0-9_.-], not starting with '.'. Without '/' nothing can
/// name another folder, and without a leading dot neither "..", "." nor a hidden file; "a..b"
/// is an ordinary name (a valid user name may hold it). Every recording_file_name passes.
bool safe_file_name(std::string_view name);

}  // namespace hailer
