#include "adapters/net/tls_cert.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace hailer::net {

namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

File open_file(const std::string& path, const char* mode) {
  File f(std::fopen(path.c_str(), mode));
  if (!f) throw std::runtime_error("cannot open " + path);
  return f;
}

bool is_ip(const std::string& name) { return name.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos && name.find_first_of(".:") != std::string::npos; }

void add_names(X509* cert, const std::vector<std::string>& names) {
  std::string san;
  for (const auto& n : names) san += (san.empty() ? "" : ",") + std::string(is_ip(n) ? "IP:" : "DNS:") + n;
  if (san.empty()) return;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  if (ext == nullptr) throw std::runtime_error("bad certificate names: " + san);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void make(const std::string& cert_path, const std::string& key_path, const std::vector<std::string>& names) {
  Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) throw std::runtime_error("cannot make a key");
  Cert cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("hailer classroom"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_names(cert.get(), names);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw std::runtime_error("cannot sign the certificate");
  {
    File k = open_file(key_path, "wb");
    ::chmod(key_path.c_str(), 0600);  // the key is a secret
    if (PEM_write_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 0) throw std::runtime_error("cannot write " + key_path);
  }
  File c = open_file(cert_path, "wb");
  if (PEM_write_X509(c.get(), cert.get()) == 0) throw std::runtime_error("cannot write " + cert_path);
}

}  // namespace

std::string certificate_fingerprint(const std::string& cert_path) {
  File f = open_file(cert_path, "rb");
  Cert cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) throw std::runtime_error(cert_path + " is not a PEM certificate");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert.get(), EVP_sha256(), md, &n);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, i + 1 < n ? "%02X:" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

TlsFiles ensure_self_signed(const std::string& dir, const std::vector<std::string>& names) {
  std::filesystem::create_directories(dir);
  TlsFiles t{dir + "/cert.pem", dir + "/key.pem", ""};
  if (!std::filesystem::exists(t.cert_path) || !std::filesystem::exists(t.key_path)) make(t.cert_path, t.key_path, names);
  t.fingerprint_sha256 = certificate_fingerprint(t.cert_path);
  return t;
}

}  // namespace hailer::net
