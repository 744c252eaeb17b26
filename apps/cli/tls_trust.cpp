#include "apps/cli/tls_trust.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <sodium.h>

#include "base/secret.hpp"
#include "net/tls_context.hpp"

namespace hailer::cli {

namespace {

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Makes `dir` (and its parent) for the user alone: 0700.
void ensure_private_dir(const std::string& dir) {
  const auto slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) ::mkdir(dir.substr(0, slash).c_str(), 0700);  // ~/.config
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot make " + dir + ": " + std::strerror(errno));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Replaces `path` with `text` in one step (a new file, 0600, renamed over the old), so a reader
// never sees half a file and the file is never readable by others.
void write_private_file(const std::string& path, const std::string& text) {
  const std::string temp = path + ".new";
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + temp + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool closed = ::close(fd) == 0;
  if (!written || !closed || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  }
}

// Pins `fingerprint` for `entry` and rewrites `file` (its folder made private first): the error,
// or empty. A pin that cannot be written leaves the connection or call going on.
std::string write_pin(KnownServers& known, const std::string& entry, const std::string& fingerprint,
                      const std::string& file) {
  known.pin(entry, fingerprint);
  try {
    const auto slash = file.rfind('/');
    if (slash != std::string::npos) ensure_private_dir(file.substr(0, slash));
    write_private_file(file, known.text());
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace

std::string config_dir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/')
    return std::string(xdg) + "/hailer";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.config/hailer";
}

void configure_client_tls_context(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, net::tls12_aead_ciphers);
  SSL_CTX_set_default_verify_paths(ctx);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // the result is read after the handshake
  ERR_clear_error();
}

void expect_server_name(SSL* ssl, const std::string& host) {
  if (is_ip_address(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    // SSL_set_tlsext_host_name, without the macro's C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
    SSL_set1_host(ssl, host.c_str());
  }
  ERR_clear_error();
}

KeyCheck check_server_key(SSL* ssl, const std::string& server, const std::string& known_servers_file,
                          const std::optional<std::string>& trust_ahead) {
  KeyCheck k;
  k.file = known_servers_file;
  X509* cert = SSL_get1_peer_certificate(ssl);
  k.seen = net::public_key_fingerprint(cert);
  X509_free(cert);
  if (k.seen.empty()) return k;  // no certificate: nothing to trust
  const bool ca_verified = SSL_get_verify_result(ssl) == X509_V_OK;
  KnownServers known = KnownServers::parse(read_file(known_servers_file));
  const auto pinned = known.find(server);
  k.pinned = pinned.value_or("");
  k.verdict = decide_trust(ca_verified, k.seen, pinned, trust_ahead);
  if (pin_it(k.verdict)) k.write_error = write_pin(known, server, k.seen, known_servers_file);
  return k;
}

PeerKeyCheck check_peer_key(const std::string& entry, const std::array<uint8_t, 32>& account_key,
                            const std::string& known_peers_file) {
  PeerKeyCheck k;
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(account_key.data(), account_key.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) return k;
  k.seen = "SHA256:" + to_hex(digest);
  KnownServers known = KnownServers::parse(read_file(known_peers_file));
  const auto pinned = known.find(entry);
  k.pinned = pinned.value_or("");
  k.verdict = decide_trust(false, k.seen, pinned, std::nullopt);
  if (k.verdict == TrustVerdict::first_use) k.write_error = write_pin(known, entry, k.seen, known_peers_file);
  return k;
}

LoginKey load_or_make_identity(const std::string& path, bool& made) {
  made = false;
  std::array<uint8_t, 32> seed{};
  const std::string text = read_file(path);
  if (!text.empty()) {
    const auto end = text.find_last_not_of(" \n\r\t");
    if (!from_hex(text.substr(0, end == std::string::npos ? 0 : end + 1), seed))
      throw std::runtime_error("the key file " + path + " is not a key (64 hex digits): restore it from a backup");
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
      throw std::runtime_error("the key file " + path +
                               " may be read by others: chmod 600 it (and think whether it leaked)");
    return login_key_from_seed(seed);
  }
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    // Linked into place by another CLI between our read and this look: read it again.
    if (existing.st_size > 0 && !read_file(path).empty()) return load_or_make_identity(path, made);
    throw std::runtime_error("the key file " + path + " is empty or unreadable: restore it from a backup");
  }
  const auto slash = path.rfind('/');
  if (slash != std::string::npos) ensure_private_dir(path.substr(0, slash));
  // Written whole under a name of its own, then linked into place: two CLIs starting at once
  // never see half a key, and the second takes the first one's key instead of failing.
  randombytes_buf(seed.data(), seed.size());
  const std::string temp = path + ".new." + std::to_string(::getpid());
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot make the key file " + path + ": " + std::strerror(errno));
  const std::string hex = to_hex(seed) + "\n";
  const bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  const bool linked = written && ::link(temp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (!linked && written && link_errno == EEXIST) return load_or_make_identity(path, made);  // another CLI made it
  if (!linked) throw std::runtime_error("cannot write the key file " + path + ": " + std::strerror(link_errno));
  made = true;
  return login_key_from_seed(seed);
}

}  // namespace hailer::cli
