#include "net/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "media/io/private_files.hpp"
#include "net/os_secrets.hpp"

namespace hailer::net {

namespace {
std::runtime_error failure(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

std::string load_or_make_secret(const std::string& path, std::size_t bytes) {
  int fd = open_no_follow(path, O_RDONLY, 0);
  if (fd < 0 && errno == ENOENT) {
    const std::string secret = random_hex(bytes);
    fd = open_no_follow(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) throw failure("cannot create", path);
    const std::string line = secret + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written) throw failure("cannot write", path);
    return secret;
  }
  if (fd < 0) throw failure(errno == ELOOP ? "refusing to follow the symbolic link" : "cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    throw std::runtime_error(path + " holds a secret but others may read or change it: chmod 600 " + path);
  }
  char buffer[512];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  if (n < 0) throw failure("cannot read", path);
  std::string secret(buffer, static_cast<std::size_t>(n));
  secret = secret.substr(0, secret.find_first_of("\r\n"));
  if (secret.empty()) throw std::runtime_error(path + " is empty: delete it to have a new secret made");
  return secret;
}

}  // namespace hailer::net
