// Files that hold secrets or what users said: created with the mode they need from the start
// (never chmod-ed after a window), opened without following a symlink (a link planted at the path
// must not make the server write its key, a token or a recording somewhere else), and kept in
// folders nobody else can write to (a writable folder lets anyone swap the file for a link).
#pragma once

#include <sys/types.h>

#include <string>

namespace hailer {

/// Creates `dir` (and missing parents) with `mode` at most when it does not exist. Throws
/// std::runtime_error naming the folder when it is a symlink, not a folder, or writable by its
/// group or by others.
void ensure_folder(const std::string& dir, mode_t mode);

/// Opens `path` with `flags` (O_CREAT, O_EXCL, O_APPEND, ...) plus O_NOFOLLOW and O_CLOEXEC, a new
/// file getting `mode` at most (the umask may only narrow it). Returns the descriptor, or -1 with
/// errno set (ELOOP for a symlink).
int open_no_follow(const std::string& path, int flags, mode_t mode);

}  // namespace hailer
