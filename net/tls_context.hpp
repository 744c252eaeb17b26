// The server's TLS settings, one place for both ports (the calls port and the classroom's
// HTTPS/WSS): TLS 1.3, and TLS 1.2 with forward-secret AEAD suites only; idle connections give
// their buffers back; no renegotiation; no server-side session cache.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "net/tls_cert.hpp"
#include "protocol/login.hpp"

namespace hailer::net {

/// The TLS 1.2 suites both ends allow: ECDHE with an AEAD (TLS 1.3 has nothing else).
inline constexpr const char* tls12_aead_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// An OpenSSL context shared by every connection made from it.
using SslContext = std::shared_ptr<SSL_CTX>;

/// The server context for `files` (certificate chain and key). Throws std::runtime_error naming
/// the file OpenSSL refused.
SslContext make_server_tls_context(const TlsFiles& files);

/// The SHA-256 fingerprint of a certificate's public key (SubjectPublicKeyInfo), as
/// "SHA256:" and 64 lowercase hex digits: what a client pins (it survives a renewed certificate
/// with the same key).
std::string public_key_fingerprint(X509* certificate);

/// public_key_fingerprint() of the first certificate in the PEM file at `cert_path`. Throws
/// std::runtime_error naming the file.
std::string public_key_fingerprint_of_file(const std::string& cert_path);

/// The channel binding of `ssl`'s connection (the TLS exporter a login signs, protocol/login.hpp),
/// the same on both ends; all zero when it cannot be had (no login then succeeds).
ChannelBinding channel_binding(SSL* ssl);

}  // namespace hailer::net
