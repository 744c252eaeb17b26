// The classroom's TLS certificate: browsers give the microphone only to secure origins, so a
// server students reach over the network must speak HTTPS. Without a certificate of its own the
// server makes a self-signed one and keeps it, so its fingerprint stays the one the instructor
// told the students to accept, for as long as browsers accept the certificate.
//
// The key is made once (EC P-256) in a folder only the server may write to, with
// O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, and kept. The certificate is a leaf a browser takes:
// a random 128-bit serial, CA:FALSE, keyUsage digitalSignature, extendedKeyUsage serverAuth, a
// subjectAltName for every address and name the server is reached by, valid 397 days (browsers
// refuse longer). It is made again, with the same key, when those names change, when under 30
// days are left, or when it is not such a leaf (an older server's).
#pragma once

#include <string>
#include <vector>

namespace hailer::net {

/// A certificate and key on disk, and the certificate's SHA-256 fingerprint (AA:BB:...).
struct TlsFiles {
  std::string cert_path;
  std::string key_path;
  std::string fingerprint_sha256;
  /// Why the certificate was just made (empty when the kept one still serves): "new", or what
  /// was wrong with the old one.
  std::string made_because;
};

/// Days a self-signed certificate is valid, and how many must be left at start.
inline constexpr int certificate_days = 397;
inline constexpr int certificate_renew_days = 30;

/// Loads `dir`/cert.pem and `dir`/key.pem, or makes what is missing or due (above) for `names`
/// (host names and IP addresses). Throws std::runtime_error naming the file or folder when it
/// cannot, or when the folder or the key could be changed by others (or is a link).
TlsFiles ensure_self_signed(const std::string& dir, const std::vector<std::string>& names);

/// The fingerprint of the PEM certificate at `cert_path`. Throws std::runtime_error.
std::string certificate_fingerprint(const std::string& cert_path);

}  // namespace hailer::net
