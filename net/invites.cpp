#include "net/invites.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

#include "base/assert.hpp"
#include "base/secret.hpp"
#include "media/io/private_files.hpp"
#include "net/os_secrets.hpp"
#include "protocol/names.hpp"

namespace hailer::net {

namespace {

constexpr std::size_t code_bytes = 16;
constexpr std::size_t max_file_bytes = 256;

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  const bool ok = EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) == 1;
  HAILER_ASSERT(ok && length == digest.size());
  return to_hex(digest);
}

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The file's "HASH EXPIRES" line, or nothing when it cannot be read as one.
std::optional<std::pair<std::string, int64_t>> read_invite(const std::string& path) {
  const int fd = open_no_follow(path, O_RDONLY, 0);
  if (fd < 0) return std::nullopt;
  std::array<char, max_file_bytes> buffer{};
  const ssize_t n = ::read(fd, buffer.data(), buffer.size());
  ::close(fd);
  if (n <= 0) return std::nullopt;
  const std::string text(buffer.data(), static_cast<std::size_t>(n));
  const auto space = text.find(' ');
  if (space != 64) return std::nullopt;
  try {
    return std::pair{text.substr(0, space), std::stoll(text.substr(space + 1))};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

InviteFolder::InviteFolder(std::string folder) : folder_(std::move(folder)) { ensure_folder(folder_, 0700); }

std::string InviteFolder::path_of(std::string_view name_key) const {
  HAILER_ASSERT(!name_key.empty() && name_key.front() != '.' && name_key.find('/') == std::string_view::npos);
  return folder_ + "/" + std::string(name_key);
}

MadeInvite InviteFolder::make(const std::string& name, std::chrono::seconds lifetime) {
  HAILER_ASSERT(valid_name(name) && lifetime.count() > 0);
  MadeInvite made{random_hex(code_bytes), unix_ms_now() + lifetime.count() * 1000};
  const std::string path = path_of(name_key(name));
  const std::string temp = path + ".new";
  ::unlink(temp.c_str());  // a leftover of a make that failed half-way
  const int fd = open_no_follow(temp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw std::runtime_error("cannot write the invite " + temp);
  const std::string line = sha256_hex(made.code) + " " + std::to_string(made.expires_unix_ms) + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot write the invite " + path);
  }
  return made;
}

std::optional<bool> InviteFolder::check(std::string_view name_key, std::string_view code) {
  if (name_key.empty() || name_key.front() == '.' || name_key.find('/') != std::string_view::npos) return std::nullopt;
  const auto invite = read_invite(path_of(name_key));
  if (!invite) return std::nullopt;
  if (!constant_time_equal(sha256_hex(code), invite->first)) return std::nullopt;
  return unix_ms_now() >= invite->second;
}

void InviteFolder::used(std::string_view name_key) { ::unlink(path_of(name_key).c_str()); }

}  // namespace hailer::net
