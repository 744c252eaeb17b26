// What TLS costs per message apart from the sockets: the server's context (net/tls_context.hpp)
// and a client, joined by memory BIOs, one calls-face line (about 120 bytes) each way per
// iteration. The server side is set up as the calls port sets it (no tickets, read-ahead, its
// buffers given back while idle or kept), so the figure is OpenSSL's work per record.
#include <benchmark/benchmark.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <unistd.h>
#include <array>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "net/tls_cert.hpp"
#include "net/tls_context.hpp"

namespace {

using hailer::net::SslContext;

// A temp folder removed with the program.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("hailer-tls-bench-" + std::to_string(::getpid()));
  TempDir() {
    std::filesystem::create_directories(path);
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// A self-signed certificate made once, in a temp folder, for every benchmark of this file.
const hailer::net::TlsFiles& certificate() {
  static const TempDir dir;
  static const hailer::net::TlsFiles files =
      hailer::net::ensure_self_signed((dir.path / "tls").string(), {"localhost"});
  return files;
}

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// A server and a client SSL with the handshake done, each writing into the other's read BIO.
// The two contexts, made once: a handshake's figure leaves out loading the certificate.
SSL_CTX* server_context() {
  static const SslContext ctx = hailer::net::make_server_tls_context(certificate());
  return ctx.get();
}
SSL_CTX* client_context() {
  static const std::shared_ptr<SSL_CTX> ctx{SSL_CTX_new(TLS_client_method()), SSL_CTX_free};
  return ctx.get();
}

struct Pair {
  std::unique_ptr<SSL, SslFree> server{SSL_new(server_context())};
  std::unique_ptr<SSL, SslFree> client{SSL_new(client_context())};

  explicit Pair(bool release_buffers) {
    SSL_set_num_tickets(server.get(), 0);
    SSL_set_read_ahead(server.get(), 1);
    if (!release_buffers) SSL_clear_mode(server.get(), SSL_MODE_RELEASE_BUFFERS);
    BIO* to_server = BIO_new(BIO_s_mem());
    BIO* to_client = BIO_new(BIO_s_mem());
    BIO_up_ref(to_server);
    BIO_up_ref(to_client);
    SSL_set_bio(server.get(), to_server, to_client);  // reads what the client wrote, writes for the client
    SSL_set_bio(client.get(), to_client, to_server);
    SSL_set_accept_state(server.get());
    SSL_set_connect_state(client.get());
    for (int i = 0; i < 20 && !(SSL_is_init_finished(server.get()) && SSL_is_init_finished(client.get())); ++i) {
      SSL_do_handshake(client.get());
      SSL_do_handshake(server.get());
    }
    ERR_clear_error();
    if (!SSL_is_init_finished(server.get()) || !SSL_is_init_finished(client.get()))
      throw std::runtime_error("no handshake");
  }
};

// One line out of the server and one in: SSL_write on the server, SSL_read on the client, and
// back. Counts the server's two operations and the client's two.
void tls_line_each_way(benchmark::State& state) {
  Pair p(state.range(0) != 0);
  std::string line(120, 'x');
  line.back() = '\n';
  std::array<char, 4096> buffer{};
  for (auto _ : state) {
    SSL_write(p.server.get(), line.data(), static_cast<int>(line.size()));
    benchmark::DoNotOptimize(SSL_read(p.client.get(), buffer.data(), static_cast<int>(buffer.size())));
    SSL_write(p.client.get(), line.data(), static_cast<int>(line.size()));
    benchmark::DoNotOptimize(SSL_read(p.server.get(), buffer.data(), static_cast<int>(buffer.size())));
  }
  state.SetLabel(state.range(0) != 0 ? "buffers released while idle" : "buffers kept");
}
BENCHMARK(tls_line_each_way)->Arg(1)->Arg(0);

// A whole handshake between the server's context and a client, in memory (no sockets).
void tls_handshake(benchmark::State& state) {
  server_context();
  for (auto _ : state) {
    Pair p(true);
    benchmark::DoNotOptimize(p.server.get());
  }
}
BENCHMARK(tls_handshake)->Unit(benchmark::kMicrosecond);

}  // namespace
