// The CLI's side of TLS on the calls port: its OpenSSL context, where the user's known_servers
// file lives, and the check of the key a server showed (client/known_servers.hpp decides; this
// reads the certificate and the file, and writes the pin, 0600).
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "client/known_servers.hpp"
#include "protocol/login.hpp"

namespace hailer::cli {

/// The user's hailer folder: $XDG_CONFIG_HOME/hailer, else $HOME/.config/hailer.
std::string config_dir();

/// Sets up a client context: TLS 1.3, or 1.2 with forward-secret AEAD suites; the system CAs
/// loaded. The handshake never stops on the CA check: its result is read after (check_server_key).
void configure_client_tls_context(SSL_CTX* ctx);

/// Sets on `ssl` the name the certificate must carry for a CA to vouch for it (a host name, with
/// SNI, or an IP address).
void expect_server_name(SSL* ssl, const std::string& host);

/// The outcome of checking a server's key after the handshake.
struct KeyCheck {
  TrustVerdict verdict = TrustVerdict::not_trusted;
  std::string seen;         ///< the key's fingerprint
  std::string pinned;       ///< the fingerprint on file before, if any
  std::string file;         ///< the known_servers file
  std::string write_error;  ///< a pin that could not be written (the connection goes on)
};

/// Checks the key `ssl`'s server showed for `server` ("HOST:PORT") against the CAs, the pin in
/// `known_servers_file` and `trust_ahead` (normalized), and pins it when the verdict says so.
KeyCheck check_server_key(SSL* ssl, const std::string& server, const std::string& known_servers_file,
                          const std::optional<std::string>& trust_ahead);

/// The outcome of checking a peer's account key against the user's known_peers file.
struct PeerKeyCheck {
  TrustVerdict verdict = TrustVerdict::first_use;  ///< first_use, pinned or changed
  std::string seen;                                ///< the fingerprint of the key the peer signed with
  std::string pinned;                              ///< the fingerprint on file before, if any
  std::string write_error;                         ///< a pin that could not be written
};

/// Checks the account key a peer signed its call key with, for `entry` ("HOST:PORT/name"),
/// against `known_peers_file` (known_servers' format; the fingerprint is the SHA-256 of the key):
/// the first key seen for a peer is pinned; a later different one is reported, never re-pinned.
PeerKeyCheck check_peer_key(const std::string& entry, const std::array<uint8_t, 32>& account_key,
                            const std::string& known_peers_file);

/// The user's account key (Ed25519, protocol/login.hpp) kept at `path` as the hex of its 32-byte
/// seed: read, or made from the OS CSPRNG on first use (0600, never through a link; `made` says
/// so). Throws std::runtime_error naming the file.
LoginKey load_or_make_identity(const std::string& path, bool& made);

}  // namespace hailer::cli
