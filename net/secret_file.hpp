// A secret the server keeps across restarts (the instructor token): made once from the OS CSPRNG,
// kept in a 0600 file that is never reached through a symlink.
#pragma once

#include <cstddef>
#include <string>

namespace hailer::net {

/// The secret kept in `path` (its first line), or a new one of `bytes` random bytes (hex) from the
/// OS CSPRNG, written there 0600 with O_CREAT|O_EXCL|O_NOFOLLOW. Throws std::runtime_error naming
/// the file when it is a symlink, readable or writable by anyone but its owner, empty, or cannot
/// be read or made.
std::string load_or_make_secret(const std::string& path, std::size_t bytes);

}  // namespace hailer::net
