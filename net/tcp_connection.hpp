// One TCP client of NetServer, as both of its files see it: net_server.cpp (the hub: sends,
// closes, links, UDP, the timer) and tcp_transport.cpp (accepting, reading, framing, writing).
// Internal to hailer_net.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "host/transport_rules.hpp"
#include "net/net_server.hpp"

namespace hailer::net {

struct NetServer::Connection {
  Connection(boost::asio::ip::tcp::socket s, SessionId session) : socket(std::move(s)), id(session) {}

  /// Frees the SSL object with the connection.
  struct SslFree {
    void operator()(SSL* object) const { SSL_free(object); }
  };

  boost::asio::ip::tcp::socket socket;
  SessionId id;
  // TLS (null on a plaintext port). OpenSSL reads and writes the descriptor itself; with
  // SSL_MODE_RELEASE_BUFFERS an idle connection holds no record buffer.
  std::unique_ptr<SSL, SslFree> ssl;
  // A busy TLS connection keeps its record buffers between messages (NetServer::note_tls_read).
  std::chrono::steady_clock::time_point last_tls_read{};
  bool buffers_kept = false;      // out of SSL_MODE_RELEASE_BUFFERS, listed in kept_buffers_
  bool read_since_sweep = false;  // read since the last sweep of kept buffers
  bool handshaking = false;       // TLS not yet up: the host does not know this connection
  bool first_read = true;         // nothing read yet (the first byte tells TLS from plaintext)
  std::string address;            // the peer's address while handshaking (its place in the caps)
  LineFramer in;                  // bytes read and not yet a whole line
  // Lines waiting for the socket, each with its newline: a message is copied here when sent,
  // the next write takes them all. No heap while idle: the buffer comes from the spare pool.
  std::string pending;
  std::size_t sent = 0;  // bytes at the front of `pending` the socket already took
  // Tunnel frames waiting for `pending` to be written (NetServer::send_frame); no heap while none.
  std::vector<std::string> frames;
  bool write_pending = false;  // the socket's buffer was full: waiting until it takes more
  bool reading = false;        // in the read set (until closing: what a closing client sends is not read)
  bool dirty = false;          // queued messages wait for flush_dirty (one write for a whole feed)
  bool closing = false;        // close once the queue is flushed
  bool finished = false;       // socket closed and the host told (or about to be)
  CloseReason close_reason = CloseReason::peer_closed;
};

}  // namespace hailer::net
