// One TCP client of NetServer, as both of its files see it: net_server.cpp (the hub: sends,
// closes, links, UDP, the timer) and tcp_transport.cpp (accepting, reading, framing, writing).
// Internal to hailer_net.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <string>

#include "host/transport_rules.hpp"
#include "net/net_server.hpp"

namespace hailer::net {

struct NetServer::Connection {
  Connection(boost::asio::ip::tcp::socket s, SessionId session) : socket(std::move(s)), id(session) {}

  boost::asio::ip::tcp::socket socket;
  SessionId id;
  LineFramer in;  // bytes read and not yet a whole line
  // Lines waiting for the socket, each with its newline: a message is copied here when sent,
  // the next write takes them all. No heap while idle: the buffer comes from the spare pool.
  std::string pending;
  std::size_t sent = 0;        // bytes at the front of `pending` the socket already took
  bool write_pending = false;  // the socket's buffer was full: waiting until it takes more
  bool reading = false;        // in the read set (until closing: what a closing client sends is not read)
  bool dirty = false;          // queued messages wait for flush_dirty (one write for a whole feed)
  bool closing = false;        // close once the queue is flushed
  bool finished = false;       // socket closed and the host told (or about to be)
  CloseReason close_reason = CloseReason::peer_closed;
};

}  // namespace hailer::net
