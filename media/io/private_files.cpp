#include "media/io/private_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace hailer {

namespace {
std::runtime_error failure(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

void ensure_folder(const std::string& dir, mode_t mode) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) throw failure("cannot look at the folder", dir);
    const auto parent = std::filesystem::path(dir).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
    }
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) throw failure("cannot create the folder", dir);
    if (::lstat(dir.c_str(), &st) != 0) throw failure("cannot look at the folder", dir);
  }
  if (S_ISLNK(st.st_mode)) throw std::runtime_error(dir + " is a symbolic link: give the real folder");
  if (!S_ISDIR(st.st_mode)) throw std::runtime_error(dir + " is not a folder");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw std::runtime_error(dir + " is writable by others (anyone could swap its files for links): chmod go-w " + dir);
  }
}

int open_no_follow(const std::string& path, int flags, mode_t mode) {
  return ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

}  // namespace hailer
