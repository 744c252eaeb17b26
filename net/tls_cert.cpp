#include "net/tls_cert.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <set>
#include <stdexcept>

#include "media/io/private_files.hpp"

namespace hailer::net {

namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

std::runtime_error failure(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// A file opened without following a link; a new one gets `mode`.
File open_file(const std::string& path, int flags, mode_t mode, const char* fmode) {
  const int fd = open_no_follow(path, flags, mode);
  if (fd < 0) throw failure(errno == ELOOP ? "refusing to follow the symbolic link" : "cannot open", path);
  File f(::fdopen(fd, fmode));
  if (!f) {
    ::close(fd);
    throw failure("cannot open", path);
  }
  return f;
}

bool is_ip(const std::string& name) {
  return name.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
         name.find_first_of(".:") != std::string::npos;
}

// The subjectAltName entries as "DNS:name" / "IP:address".
std::set<std::string> wanted_names(const std::vector<std::string>& names) {
  std::set<std::string> out;
  for (const auto& n : names) out.insert(std::string(is_ip(n) ? "IP:" : "DNS:") + n);
  return out;
}

std::set<std::string> names_of(X509* cert) {
  std::set<std::string> out;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    if (n->type == GEN_DNS) {
      out.insert("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                                      static_cast<std::size_t>(ASN1_STRING_length(n->d.dNSName))));
    } else if (n->type == GEN_IPADD) {
      const int length = ASN1_STRING_length(n->d.iPAddress);
      char text[INET6_ADDRSTRLEN] = {};
      if ((length == 4 || length == 16) &&
          ::inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(n->d.iPAddress), text, sizeof text) !=
              nullptr) {
        out.insert(std::string("IP:") + text);
      }
    }
  }
  GENERAL_NAMES_free(sans);
  return out;
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("bad certificate extension: " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// 128 random bits, positive, as the serial (RFC 5280: unpredictable serials for leaf certificates).
void random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for the certificate's serial");
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  if (serial == nullptr) throw std::runtime_error("cannot set the certificate's serial");
}

Key load_key(const std::string& path) {
  File f = open_file(path, O_RDONLY, 0, "rb");
  struct stat st {};
  if (::fstat(::fileno(f.get()), &st) != 0 || !S_ISREG(st.st_mode))
    throw std::runtime_error(path + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    throw std::runtime_error(path + " is a private key that others may read or change: chmod 600 " + path);
  Key key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) throw std::runtime_error(path + " is not a PEM private key");
  return key;
}

Key make_key(const std::string& path) {
  Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) throw std::runtime_error("cannot make a key");
  // O_EXCL: a file, or a link, already at the path is never written through or replaced.
  File f = open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0600, "wb");
  if (PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 0)
    throw std::runtime_error("cannot write " + path);
  return key;
}

// Why the kept certificate must be made again, or "" when it still serves.
std::string due(X509* cert, EVP_PKEY* key, const std::set<std::string>& names) {
  if (X509_check_private_key(cert, key) != 1) return "it is not for the kept key";
  BASIC_CONSTRAINTS* bc =
      static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_basic_constraints, nullptr, nullptr));
  const bool leaf = bc != nullptr && bc->ca == 0;
  BASIC_CONSTRAINTS_free(bc);
  if (!leaf || (X509_get_extended_key_usage(cert) & XKU_SSL_SERVER) == 0) return "it is not a server leaf certificate";
  int days = 0, seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)) != 1 ||
      days > certificate_days + 1) {
    return "it is valid for longer than browsers accept";
  }
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) != 1 || days < certificate_renew_days) {
    return "it expires in " + std::to_string(std::max(days, 0)) + " days";
  }
  if (names_of(cert) != names) return "the addresses it is for changed";
  return "";
}

Cert make_certificate(EVP_PKEY* key, const std::vector<std::string>& names) {
  Cert cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  random_serial(cert.get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // a client whose clock runs a little behind
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(certificate_days) * 24 * 3600 - 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("hailer classroom"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  std::string san;
  for (const auto& n : wanted_names(names)) san += (san.empty() ? "" : ",") + n;
  if (!san.empty()) add_extension(cert.get(), NID_subject_alt_name, san);
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) throw std::runtime_error("cannot sign the certificate");
  return cert;
}

// Written beside, then renamed over the old one: a reader never sees half a certificate, and a
// link planted at the final name is replaced, not written through.
void write_certificate(X509* cert, const std::string& path) {
  const std::string fresh = path + ".new";
  ::unlink(fresh.c_str());
  {
    File f = open_file(fresh, O_WRONLY | O_CREAT | O_EXCL, 0644, "wb");
    if (PEM_write_X509(f.get(), cert) == 0) throw std::runtime_error("cannot write " + fresh);
  }
  if (::rename(fresh.c_str(), path.c_str()) != 0) throw failure("cannot replace", path);
}

}  // namespace

std::string certificate_fingerprint(const std::string& cert_path) {
  File f = open_file(cert_path, O_RDONLY, 0, "rb");
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
  ensure_folder(dir, 0700);  // refuses a folder others may write to: they could swap the key for a link
  TlsFiles t{dir + "/cert.pem", dir + "/key.pem", "", ""};
  struct stat st {};
  const bool have_key = ::lstat(t.key_path.c_str(), &st) == 0;
  Key key = have_key ? load_key(t.key_path) : make_key(t.key_path);
  Cert cert(nullptr, X509_free);
  if (::lstat(t.cert_path.c_str(), &st) == 0) {
    File f = open_file(t.cert_path, O_RDONLY, 0, "rb");
    cert.reset(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  }
  t.made_because = !cert ? "new" : due(cert.get(), key.get(), wanted_names(names));
  if (!t.made_because.empty()) write_certificate(make_certificate(key.get(), names).get(), t.cert_path);
  t.fingerprint_sha256 = certificate_fingerprint(t.cert_path);
  return t;
}

}  // namespace hailer::net
