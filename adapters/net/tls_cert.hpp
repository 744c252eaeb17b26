// The classroom's TLS certificate: browsers give the microphone only to secure origins, so a
// server students reach over the network must speak HTTPS. Without a certificate of its own the
// server makes a self-signed one on first start and keeps it, so its fingerprint stays the one
// the instructor told the students to accept.
#pragma once

#include <string>
#include <vector>

namespace hailer::net {

/// A certificate and key on disk, and the certificate's SHA-256 fingerprint (AA:BB:...).
struct TlsFiles {
  std::string cert_path;
  std::string key_path;
  std::string fingerprint_sha256;
};

/// Loads `dir`/cert.pem and `dir`/key.pem, or makes them (EC P-256, self-signed, valid 10 years,
/// for `names`: host names and IP addresses). Throws std::runtime_error when it cannot.
TlsFiles ensure_self_signed(const std::string& dir, const std::vector<std::string>& names);

/// The fingerprint of the PEM certificate at `cert_path`. Throws std::runtime_error.
std::string certificate_fingerprint(const std::string& cert_path);

}  // namespace hailer::net
