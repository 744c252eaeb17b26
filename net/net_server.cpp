#include "net/net_server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "base/assert.hpp"
#include "host/transport_rules.hpp"
#include "net/handler_memory.hpp"
#include "net/os_secrets.hpp"
#include "net/tcp_connection.hpp"

namespace hailer::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {
// The largest write buffer that is reused (kept by a busy connection, or put back in the spare
// pool): a reply and its events fit; a burst's (a long `who`, a backlog) is given back.
constexpr std::size_t out_kept_bytes = 1024;
// Spare write buffers kept for connections that become busy: at most this many of at most
// out_kept_bytes each (256 KiB in all), whatever the number of sessions.
constexpr std::size_t max_spare_buffers = 256;

// The epoll set of the TCP connections' reads (see read_ready), owned by a stream_descriptor.
int new_epoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  return fd;
}

Config with_rendezvous(Config config, uint16_t udp_port) {
  config.rendezvous_udp_port = udp_port;
  return config;
}
}  // namespace

NetServer::NetServer(asio::io_context& io, NetConfig net, const Config& config, SecretSource& secrets,
                     HostConfig host_config, MediaSink* media)
    : io_(io),
      net_(std::move(net)),
      start_(std::chrono::steady_clock::now()),
      acceptor_(io),
      udp_(io),
      timer_(io),
      flush_deadline_(io),
      accept_pause_(io),
      readable_(io, new_epoll()),
      handshake_timer_(io),
      buffer_sweep_(io),
      max_line_bytes_(config.max_message_bytes),
      host_(with_rendezvous(config, bind()), secrets, host_config, *this, media != nullptr ? *media : no_media_) {
  spare_.reserve(max_spare_buffers);  // giving a buffer back never allocates
}

// Binds both sockets before the host exists, so the register reply can tell the UDP port.
uint16_t NetServer::bind() {
  const auto address = asio::ip::make_address(net_.host);
  const tcp::endpoint tcp_ep(address, net_.tcp_port);
  try {
    acceptor_.open(tcp_ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp_ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("the calls port " + net_.host + ":" + std::to_string(net_.tcp_port) +
                             " (TCP, --port): " + e.code().message());
  }
  const udp::endpoint udp_ep(address, net_.udp_port);
  try {
    udp_.open(udp_ep.protocol());
    udp_.bind(udp_ep);
    udp_.non_blocking(true);  // a relayed packet the kernel cannot take now is dropped, never waited for
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("the rendezvous port " + net_.host + ":" + std::to_string(net_.udp_port) +
                             " (UDP, --udp-port): " + e.code().message());
  }
  return udp_.local_endpoint().port();
}

NetServer::~NetServer() = default;

Time NetServer::now() const {
  const auto d = std::chrono::steady_clock::now() - start_;
  return Time{std::chrono::duration_cast<std::chrono::microseconds>(d).count()};
}

tcp::endpoint NetServer::tcp_endpoint() const { return acceptor_.local_endpoint(); }

udp::endpoint NetServer::udp_endpoint() const { return udp_.local_endpoint(); }

void NetServer::start() {
  accept();
  receive();
}

void NetServer::stop(std::function<void()> stopped) {
  if (stopping_) return;
  stopping_ = true;
  stopped_ = std::move(stopped);
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_pause_.cancel();
  udp_.close(ignored);
  // Handshakes in progress are dropped: nobody there has been told anything yet.
  std::vector<std::shared_ptr<Connection>> handshaking;
  for (const auto& [id, c] : connections_)
    if (c->handshaking) handshaking.push_back(c);
  for (const auto& c : handshaking) drop_handshake(c);
  handshake_timer_.cancel();
  buffer_sweep_.cancel();
  host_.shutdown(now());  // every client told and asked closed: the queues flush, then close
  timer_.cancel();
  readable_.close(ignored);  // nothing more is read (every connection is closing): the wait ends
  if (connections_.empty() && links_.empty()) return stop_if_done();
  flush_deadline_.expires_after(std::chrono::milliseconds(net_.shutdown_flush_ms));
  flush_deadline_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    // Whoever has not read its last messages by now is cut off.
    std::vector<std::shared_ptr<Connection>> left;
    for (const auto& [id, c] : connections_) left.push_back(c);
    for (const auto& c : left) finish(c, CloseReason::shutdown);
    std::vector<std::shared_ptr<Link>> links;
    for (const auto& [id, l] : links_) links.push_back(l);
    for (const auto& l : links) l->abort(CloseReason::shutdown);
  });
}

void NetServer::send_text(SessionId to, std::string_view text) {
  if (deferred_.holding()) return deferred_.text(to, std::make_shared<const std::string>(text));
  send_now(to, text, nullptr);
}

void NetServer::send_broadcast(std::span<const SessionId> to, const SharedText& text) {
  if (deferred_.broadcast(to, text)) asio::post(io_, [this] { flush_deferred(); });
}

void NetServer::flush_deferred() {
  deferred_.flush([this](SessionId to, const SharedText& text) { send_now(to, *text, text); });
}

// `shared` is the broadcast's own buffer when there is one (a WebSocket link queues it as it
// is), null for a message to one connection (a link gets a copy of `text`).
void NetServer::send_now(SessionId to, std::string_view text, const SharedText& shared) {
  auto it = connections_.find(to);
  if (it == connections_.end()) {
    if (auto l = links_.find(to); l != links_.end()) {
      const auto link = l->second;  // a copy: the link may detach (and leave the map) inside send
      link->send(shared ? shared : std::make_shared<const std::string>(text));
    }
    return;  // else closed on our side already; the core hears it soon
  }
  Connection& c = *it->second;  // not used after finish(), which erases the map entry
  if (c.finished || c.closing) return;
  if (c.pending.empty()) take_spare(c.pending);
  c.pending.append(text);
  c.pending.push_back('\n');
  if (over_outbound_limit(c.pending.size() - c.sent, net_.max_outbound_bytes)) {
    ++stats_.slow_readers;
    finish(it->second, CloseReason::slow_reader);  // takes its own copy before the entry goes
    return;
  }
  if (!c.write_pending && !c.dirty) {
    // Not written at once: everything one event sends to this client (a reply and its events)
    // leaves in one write once the host returns, instead of one system call per message. A read
    // round writes at its end; anything else (a timer, a datagram, a link) posts the flush.
    c.dirty = true;
    if (dirty_.mark(it->second) && !in_read_round_) asio::post(io_, pooled([this] { flush_dirty(); }));
  }
}

void NetServer::take_spare(std::string& buffer) {
  HAILER_ASSERT(buffer.empty());
  if (spare_.empty() || buffer.capacity() > std::string().capacity()) return;
  buffer.swap(spare_.back());
  spare_.pop_back();
  HAILER_ASSERT(buffer.empty());
}

void NetServer::give_back(std::string& buffer) {
  buffer.clear();
  if (buffer.capacity() <= std::string().capacity()) return;  // no heap to give
  if (buffer.capacity() <= out_kept_bytes && spare_.size() < max_spare_buffers) spare_.push_back(std::move(buffer));
  std::string().swap(buffer);  // given to the pool, or to the allocator
  HAILER_ASSERT(spare_.size() <= max_spare_buffers);
}

void NetServer::close(SessionId session, CloseReason reason) {
  if (deferred_.holding()) flush_deferred();  // what was sent before the close goes first
  auto it = connections_.find(session);
  if (it == connections_.end()) {
    if (auto l = links_.find(session); l != links_.end()) {
      const auto link = l->second;
      link->close(reason);
    }
    return;
  }
  const auto c = it->second;
  if (c->finished || c->closing) return;
  c->closing = true;
  c->close_reason = reason;
  unwatch(*c);
  if (!c->write_pending && c->pending.empty()) finish(c, reason);
}

// Closes the socket and tells the host, later: a port never calls the host from inside a call
// the host made.
void NetServer::finish(std::shared_ptr<Connection> c, CloseReason reason) {
  // `c` is taken by value: the map's copy is erased here, and the caller's argument may be it.
  if (c->finished) return;
  if (c->handshaking) return drop_handshake(c);  // the host never knew it
  c->finished = true;
  unwatch(*c);
  if (c->ssl && reason != CloseReason::reset) {
    SSL_shutdown(c->ssl.get());  // close_notify, if the socket takes it now (never waits)
    ERR_clear_error();
  }
  boost::system::error_code ignored;
  c->socket.shutdown(tcp::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  const SessionId id = c->id;
  connections_.erase(id);
  asio::post(io_, [this, id, reason] {
    host_.closed(now(), id, reason);
    stop_if_done();
  });
}

// A stopping server is done once its last client is gone: the flush deadline is moot and the
// caller is told (at most once).
void NetServer::stop_if_done() {
  if (!stopping_ || !connections_.empty() || !links_.empty()) return;
  flush_deadline_.cancel();
  if (auto stopped = std::exchange(stopped_, nullptr)) stopped();
}

// ------------------------------------------------------------------------------- other transports

SessionId NetServer::attach(std::shared_ptr<Link> link, const std::string& address, bool instructor_cookie, bool tls) {
  const SessionId id{next_session_++};
  links_.emplace(id, std::move(link));
  ++stats_.accepted;
  // A login signs its connection's channel binding. A page cannot read its TLS exporter, so a
  // WebSocket over TLS gets a nonce of its own from the OS, which the page asks for
  // (channel_binding) and signs: worth nothing on any other connection.
  ChannelBinding binding{};
  if (tls) OsSecrets().fill(binding);
  host_.opened(now(), id, address, instructor_cookie, binding);
  return id;
}

void NetServer::deliver_text(SessionId session, std::string_view text) {
  if (links_.contains(session)) host_.text(now(), session, text);
}

void NetServer::deliver_binary(SessionId session, std::span<const uint8_t> bytes) {
  if (links_.contains(session)) host_.binary(now(), session, bytes);
}

void NetServer::detach(SessionId session, CloseReason reason) {
  if (links_.erase(session) == 0) return;
  asio::post(io_, [this, session, reason] {
    host_.closed(now(), session, reason);
    stop_if_done();
  });
}

// ------------------------------------------------------------------------------- UDP

void NetServer::receive() {
  udp_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (!ec) drain_datagrams();
    receive();
  });
}

// Reads what waits on the UDP port, a batch per system call, and hands each datagram to the host
// in order. Bounded per wake (4 batches), so a flood of datagrams cannot starve the connections.
void NetServer::drain_datagrams() {
  std::array<mmsghdr, datagram_batch> messages{};
  std::array<iovec, datagram_batch> vectors{};
  for (int round = 0; round < 4; ++round) {
    for (std::size_t i = 0; i < datagram_batch; ++i) {
      vectors[i] = {datagrams_[i].data(), datagrams_[i].size()};
      messages[i].msg_hdr = {};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = datagram_from_[i].data();
      messages[i].msg_hdr.msg_namelen = static_cast<socklen_t>(datagram_from_[i].capacity());
    }
    const int n = ::recvmmsg(udp_.native_handle(), messages.data(), datagram_batch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      ++stats_.datagrams_in;
      datagram_from_[i].resize(messages[i].msg_hdr.msg_namelen);
      const MediaEndpoint from{datagram_from_[i].address().to_string(), datagram_from_[i].port()};
      host_.datagram(now(), from, std::span<const uint8_t>(datagrams_[i].data(), messages[i].msg_len));
      if (stopping_) return;
    }
    if (static_cast<std::size_t>(n) < datagram_batch) return;
  }
}

// A relayed call packet for a session's tunnel (path c). It never gets in the way of the
// connection's messages: it takes the socket only when nothing else waits (at most one frame is
// ever ahead of a message), and a connection that reads slowly keeps its newest few frames and
// drops the oldest (old audio is worth nothing; the slow-reader limit counts messages only).
void NetServer::send_frame(SessionId to, std::span<const uint8_t> bytes) {
  auto it = connections_.find(to);
  if (it == connections_.end()) {
    if (auto l = links_.find(to); l != links_.end()) {
      ++stats_.tunnel_frames_out;
      const auto link = l->second;  // a copy: the link may detach inside send_frame
      link->send_frame(bytes);
    }
    return;  // else closed already
  }
  Connection& c = *it->second;
  if (c.finished || c.closing) return;
  ++stats_.tunnel_frames_out;
  if (c.pending.empty() && !c.write_pending) {
    take_spare(c.pending);
    c.pending.append(tunnel_frame(bytes));
  } else {
    if (c.frames.size() >= max_queued_frames) {
      c.frames.erase(c.frames.begin());
      ++stats_.tunnel_frames_dropped;
    }
    c.frames.push_back(tunnel_frame(bytes));
    HAILER_ASSERT(c.frames.size() <= max_queued_frames);
    return;  // written after what is pending
  }
  if (!c.write_pending && !c.dirty) {
    c.dirty = true;
    if (dirty_.mark(it->second) && !in_read_round_) asio::post(io_, pooled([this] { flush_dirty(); }));
  }
}

// A relayed call packet, sent at once: UDP is best effort, and the event loop never waits for it.
void NetServer::send_datagram(const MediaEndpoint& to, std::span<const uint8_t> bytes) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(to.address, ec);
  if (!ec) udp_.send_to(asio::buffer(bytes.data(), bytes.size()), udp::endpoint(address, to.port), 0, ec);
  if (ec) {
    ++stats_.datagrams_unsent;
    return;
  }
  ++stats_.datagrams_out;
}

// ------------------------------------------------------------------------------- timer

void NetServer::arm_timer(std::optional<Time> at) {
  if (!at || stopping_) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(start_ + std::chrono::microseconds(at->us));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_timer();
  });
}

void NetServer::on_timer() { host_.timer(now()); }

}  // namespace hailer::net
