// A TLS connection that costs next to nothing while idle: OpenSSL reads and writes the socket
// itself (a socket BIO on the non-blocking descriptor), with SSL_MODE_RELEASE_BUFFERS, so an idle
// connection holds the SSL object and no buffer at all. boost::asio::ssl::stream keeps two 17 KiB
// buffers of its own per connection whatever OpenSSL does, and its BIO pair two more: a class of
// idle students over HTTPS cost 76 KiB each (docs/performance-log.md, "Idle TLS connections").
//
// An Asio AsyncStream (async_read_some, async_write_some) for Beast's HTTP and WebSocket, plus
// async_handshake; the client side serves hailer-load, whose TLS must cost what a lean client's
// does, or the tool, on the same two cores, measures itself instead of the server. The program must ignore SIGPIPE
// (OpenSSL writes with write(2): a peer that is gone must give EPIPE, not a signal). One thread runs it (the
// io_context's), and it is never used concurrently: a read and a write may be pending at once, each an SSL call
// followed, when OpenSSL wants the socket, by a readiness wait on it. Like every Asio operation, a completion never
// runs inside the call that started it.
#pragma once

#include <utility>  // before Boost.Asio with GCC 12 + Boost 1.74

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cstddef>
#include <memory>

namespace hailer::net {

/// Which end of the handshake a TlsSocket plays.
enum class TlsRole : uint8_t { server, client };

/// A TLS connection over a non-blocking TCP socket.
class TlsSocket {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using next_layer_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = boost::asio::ip::tcp::socket;

  /// Takes the connected `socket` and makes its SSL object from `ctx`; nothing is read yet.
  TlsSocket(boost::asio::ip::tcp::socket socket, SSL_CTX* ctx, TlsRole role = TlsRole::server)
      : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    if (ssl_) {
      SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle()));
      if (role == TlsRole::server) {
        SSL_set_accept_state(ssl_.get());
      } else {
        SSL_set_connect_state(ssl_.get());
        // One read(2) takes whatever the socket holds, not a record's header and then its body.
        SSL_set_read_ahead(ssl_.get(), 1);
      }
    }
  }

  /// The executor the socket's operations run on.
  executor_type get_executor() { return socket_.get_executor(); }
  /// The TCP socket (timeouts, shutdown, close).
  next_layer_type& next_layer() { return socket_; }
  /// The TCP socket.
  lowest_layer_type& lowest_layer() { return socket_; }
  /// The SSL object (the exporter, the peer's certificate).
  SSL* native_handle() { return ssl_.get(); }

  /// The handshake, from the side the role says; `handler(error_code)`.
  template <class Handler>
  auto async_handshake(Handler&& handler) {
    return run(Handshake{}, std::forward<Handler>(handler));
  }

  /// Reads some decrypted bytes into the first non-empty buffer; `handler(error_code, bytes)`.
  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    const boost::asio::mutable_buffer b = first_buffer(buffers);
    return run(Read{b}, std::forward<Handler>(handler));
  }

  /// Writes some bytes of the first non-empty buffer (a record at a time); `handler(error_code, bytes)`.
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    const boost::asio::const_buffer b = first_buffer(buffers);
    return run(Write{b}, std::forward<Handler>(handler));
  }

  /// Sends close_notify if the socket takes it now (never waits: the peer may be gone).
  void shutdown_now() {
    if (ssl_ && SSL_is_init_finished(ssl_.get())) SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }

 private:
  // What one SSL call did: `bytes` (or 0), or that OpenSSL wants the socket readable/writable,
  // or how it failed.
  struct Outcome {
    std::size_t bytes = 0;
    int want = 0;  // 0, SSL_ERROR_WANT_READ or SSL_ERROR_WANT_WRITE
    boost::system::error_code ec;
  };

  static Outcome outcome_of(SSL* ssl, int result) {
    Outcome o;
    if (result > 0) {
      o.bytes = static_cast<std::size_t>(result);
      return o;
    }
    const int error = SSL_get_error(ssl, result);
    const unsigned long queued = ERR_get_error();
    ERR_clear_error();  // the error queue is per thread: never leave it to the next connection
    switch (error) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        o.want = error;
        break;
      case SSL_ERROR_ZERO_RETURN:
        o.ec = boost::asio::error::eof;
        break;  // close_notify
      case SSL_ERROR_SYSCALL:
        // An end of stream without close_notify, or a socket error: the connection is over.
        o.ec = errno != 0 && queued == 0 ? boost::system::error_code(errno, boost::system::system_category())
                                         : boost::system::error_code(boost::asio::error::eof);
        break;
      default:
        o.ec = queued != 0 ? boost::system::error_code(static_cast<int>(queued), boost::asio::error::get_ssl_category())
                           : boost::system::error_code(boost::asio::ssl::error::stream_truncated);
        break;
    }
    return o;
  }

  struct Handshake {
    Outcome operator()(SSL* ssl) const {
      Outcome o = outcome_of(ssl, SSL_do_handshake(ssl));
      o.bytes = 0;
      return o;
    }
  };
  struct Read {
    boost::asio::mutable_buffer buffer;
    Outcome operator()(SSL* ssl) const {
      if (buffer.size() == 0) return Outcome{};
      return outcome_of(ssl,
                        SSL_read(ssl, buffer.data(), static_cast<int>(std::min<std::size_t>(buffer.size(), 1 << 30))));
    }
  };
  struct Write {
    boost::asio::const_buffer buffer;
    Outcome operator()(SSL* ssl) const {
      if (buffer.size() == 0) return Outcome{};
      return outcome_of(ssl,
                        SSL_write(ssl, buffer.data(), static_cast<int>(std::min<std::size_t>(buffer.size(), 1 << 30))));
    }
  };

  // One SSL call, retried after each readiness wait OpenSSL asks for. A result on the first try
  // is delivered through a post: never from inside the initiating call.
  template <class Call>
  struct Op {
    TlsSocket& tls;
    Call call;
    enum class Step : uint8_t { first, retry, deliver } step = Step::first;
    Outcome result{};

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (step == Step::deliver) return finish(self, result);
      if (ec) return finish(self, Outcome{0, 0, ec});  // the wait failed: the socket was closed
      if (!tls.ssl_) return finish(self, Outcome{0, 0, boost::asio::error::no_memory});
      const bool first = step == Step::first;
      step = Step::retry;
      const Outcome o = call(tls.ssl_.get());
      if (o.want == SSL_ERROR_WANT_READ)
        return tls.socket_.async_wait(boost::asio::ip::tcp::socket::wait_read, std::move(self));
      if (o.want == SSL_ERROR_WANT_WRITE)
        return tls.socket_.async_wait(boost::asio::ip::tcp::socket::wait_write, std::move(self));
      if (!first) return finish(self, o);
      step = Step::deliver;
      result = o;
      boost::asio::post(tls.socket_.get_executor(), std::move(self));
    }

    template <class Self>
    void finish(Self& self, const Outcome& o) {
      if constexpr (std::is_same_v<Call, Handshake>)
        self.complete(o.ec);
      else
        self.complete(o.ec, o.bytes);
    }
  };

  template <class Call, class Handler>
  auto run(Call call, Handler&& handler) {
    using Signature = std::conditional_t<std::is_same_v<Call, Handshake>, void(boost::system::error_code),
                                         void(boost::system::error_code, std::size_t)>;
    return boost::asio::async_compose<Handler, Signature>(Op<Call>{*this, call}, handler, socket_);
  }

  template <class Buffers>
  static auto first_buffer(const Buffers& buffers) {
    auto it = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (; it != end; ++it) {
      if (boost::asio::buffer_size(*it) > 0) return *it;
    }
    using Buffer = std::decay_t<decltype(*it)>;
    return Buffer();
  }

  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

}  // namespace hailer::net
