// Which server keys a client trusts, SSH-style. A server whose certificate chains to a system CA
// for the name the user typed is trusted as any TLS client trusts it. Otherwise (hailer-server's
// self-signed certificate) the first key seen for a server is pinned in the user's known_servers
// file, and every later connection must show the same key: a changed key is refused, with a
// message that names the file to edit. `--trust FINGERPRINT` pins a key ahead of the first use.
//
// A fingerprint is the SHA-256 of the certificate's public key (SubjectPublicKeyInfo), written
// "SHA256:" and 64 lowercase hex digits: a renewed certificate with the same key keeps it.
//
// known_servers holds one line per server: "HOST:PORT SHA256:<hex>"; '#' starts a comment.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailer {

/// A fingerprint in its one written form ("SHA256:" + 64 lowercase hex digits), from what a user
/// may type: with or without "SHA256:", hex in either case, with or without ':' between bytes.
/// Nothing when it is not 32 bytes of hex.
std::optional<std::string> normalize_fingerprint(std::string_view text);

/// The pins of a known_servers file, in file order (comments and unreadable lines are kept as
/// they are, so rewriting the file changes only the line that changed).
class KnownServers {
 public:
  /// Reads the file's text; never fails (a line it cannot read is kept and ignored).
  static KnownServers parse(std::string_view text);
  /// The fingerprint pinned for `server` ("HOST:PORT"), if any.
  std::optional<std::string> find(std::string_view server) const;
  /// Pins `fingerprint` (normalized) for `server`, replacing its pin or adding a line.
  void pin(std::string_view server, std::string_view fingerprint);
  /// The file's text, one line per entry, each ending in a newline.
  std::string text() const;

 private:
  struct Line {
    std::string server;       ///< empty for a comment or an unreadable line
    std::string fingerprint;  ///< normalized
    std::string raw;          ///< the line as read (comments, unreadable lines)
  };
  std::vector<Line> lines_;
};

/// What a client does with the key a server showed.
enum class TrustVerdict {
  ca_verified,    ///< the certificate chains to a system CA for the server's name: go on
  pinned,         ///< the key is the one pinned for this server: go on
  first_use,      ///< no pin yet: go on, and pin it (tell the user the fingerprint)
  trusted_ahead,  ///< the key is the one given with --trust: go on, and pin it
  changed,        ///< the key differs from the pin: refuse (someone may be in the middle)
  not_trusted,    ///< the key differs from the one given with --trust: refuse
};

/// Decides from the CA check, the key seen, the pin on file and --trust (all fingerprints
/// normalized). The --trust key, when given, decides alone: it is the user's word now.
TrustVerdict decide_trust(bool ca_verified, std::string_view seen, const std::optional<std::string>& pinned,
                          const std::optional<std::string>& trust_ahead);

/// The verdict's name in the CLI's JSON: ca, pinned, first_use, trusted_ahead, changed, not_trusted.
std::string_view to_string(TrustVerdict v);

/// True when the verdict lets the connection go on.
constexpr bool trusted(TrustVerdict v) { return v != TrustVerdict::changed && v != TrustVerdict::not_trusted; }

/// True when the verdict asks for the key to be written to known_servers.
constexpr bool pin_it(TrustVerdict v) { return v == TrustVerdict::first_use || v == TrustVerdict::trusted_ahead; }

}  // namespace hailer
