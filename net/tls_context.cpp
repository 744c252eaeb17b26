#include "net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <stdexcept>
#include <string>

namespace hailer::net {

namespace {

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  std::array<char, 256> text{};
  ERR_error_string_n(e, text.data(), text.size());
  return text.data();
}

}  // namespace

SslContext make_server_tls_context(const TlsFiles& files) {
  SslContext ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) throw std::runtime_error("cannot make a TLS context: " + openssl_error());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  // TLS 1.2 with AEAD suites and forward secrecy only (1.3 has nothing else).
  SSL_CTX_set_cipher_list(c, tls12_aead_ciphers);
  // TLS 1.3: AES-128-GCM first (the cheapest with AES-NI, and as strong as a call needs),
  // ChaCha20 for machines without AES instructions; the server's order decides.
  SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
  // Buffers given back while idle (about 70 kB a connection otherwise); a write may complete a
  // record at a time and be retried from another address (the pending bytes move as they grow).
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // No server-side session cache: it kept every connection's session (20,480 by default) long
  // after the connection closed. Resumption still works from tickets, which the server does not keep.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(c, files.cert_path.c_str()) != 1)
    throw std::runtime_error("cannot use the certificate " + files.cert_path + ": " + openssl_error());
  if (SSL_CTX_use_PrivateKey_file(c, files.key_path.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot use the key " + files.key_path + ": " + openssl_error());
  if (SSL_CTX_check_private_key(c) != 1)
    throw std::runtime_error("the key " + files.key_path + " does not match the certificate " + files.cert_path);
  return ctx;
}

std::string public_key_fingerprint(X509* certificate) {
  if (certificate == nullptr) return {};
  unsigned char* der = nullptr;
  const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &der);
  if (n <= 0) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const bool ok = EVP_Digest(der, static_cast<std::size_t>(n), digest.data(), &length, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "SHA256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

std::string public_key_fingerprint_of_file(const std::string& cert_path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> file(BIO_new_file(cert_path.c_str(), "r"), BIO_free);
  if (!file) throw std::runtime_error("cannot read the certificate " + cert_path + ": " + openssl_error());
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(file.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) throw std::runtime_error("no PEM certificate in " + cert_path + ": " + openssl_error());
  std::string fingerprint = public_key_fingerprint(cert.get());
  if (fingerprint.empty()) throw std::runtime_error("cannot read the public key of " + cert_path);
  return fingerprint;
}

ChannelBinding channel_binding(SSL* ssl) {
  ChannelBinding binding{};
  if (SSL_export_keying_material(ssl, binding.data(), binding.size(), login_exporter_label.data(),
                                 login_exporter_label.size(), nullptr, 0, 0) != 1)
    binding = {};
  ERR_clear_error();
  return binding;
}

}  // namespace hailer::net
