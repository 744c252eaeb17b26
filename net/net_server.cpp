#include "net/net_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "base/assert.hpp"
#include "host/transport_rules.hpp"
#include "net/handler_memory.hpp"

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

struct NetServer::Connection {
  Connection(tcp::socket s, SessionId session) : socket(std::move(s)), id(session) {}

  tcp::socket socket;
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
      max_line_bytes_(config.max_message_bytes),
      host_(with_rendezvous(config, bind()), secrets, host_config, *this, media != nullptr ? *media : no_media_) {
  spare_.reserve(max_spare_buffers);  // giving a buffer back never allocates
}

// Binds both sockets before the host exists, so the register reply can tell the UDP port.
uint16_t NetServer::bind() {
  const auto address = asio::ip::make_address(net_.host);
  const tcp::endpoint tcp_ep(address, net_.tcp_port);
  acceptor_.open(tcp_ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(tcp_ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  const udp::endpoint udp_ep(address, net_.udp_port);
  udp_.open(udp_ep.protocol());
  udp_.bind(udp_ep);
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

// ------------------------------------------------------------------------------- TCP

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

void NetServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (out_of_descriptors(ec)) {
      // Out of descriptors: the pending connection stays in the backlog. Retrying at once fails
      // the same way, thousands of times a second; a pause lets closing connections free some.
      ++stats_.accept_pauses;
      if (!accept_paused_ && net_.warn) {
        net_.warn("out of file descriptors (" + ec.message() + "): the calls port pauses accepting for " +
                  std::to_string(net_.accept_pause_ms) + " ms at a time until some are free");
      }
      accept_paused_ = true;
      accept_pause_.expires_after(std::chrono::milliseconds(net_.accept_pause_ms));
      accept_pause_.async_wait([this](const boost::system::error_code& e) {
        if (!e && !stopping_) accept();
      });
      return;
    }
    if (!ec) {
      accept_paused_ = false;
      boost::system::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);  // a notice leaves now, not after 40 ms of Nagle
      // Reads and writes are made on the descriptor itself (read_one, write): they must never block.
      socket.non_blocking(true, opt_ec);
      if (opt_ec) return accept();
      const auto remote = socket.remote_endpoint(opt_ec);
      const std::string address = opt_ec ? std::string("unknown") : remote.address().to_string();
      auto c = std::make_shared<Connection>(std::move(socket), SessionId{next_session_++});
      connections_.emplace(c->id, c);
      ++stats_.accepted;
      host_.opened(now(), c->id, address);
      if (!c->closing && !c->finished) watch(c);
    }
    accept();
  });
}

// Reads. Asio (Boost 1.74) reads a socket again as soon as it is asked for the next read (a speculative
// read, which finds nothing after a request: one wasted system call per request), or, asked to
// wait instead, re-arms the socket with epoll_ctl (the same cost). So the connections' reads
// have an epoll set of their own, level-triggered, whose descriptor Asio waits on: one wake-up
// reads each ready connection once, and the set is re-armed once per wake-up, however many
// connections it served. Under load a wake-up serves many; idle, one, for the same system calls
// as before on the way to the replies (the re-arm waits until they are written).

void NetServer::watch(const std::shared_ptr<Connection>& c) {
  HAILER_ASSERT(!c->reading && !c->finished && c->socket.non_blocking());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = c->id.value;
  if (::epoll_ctl(readable_.native_handle(), EPOLL_CTL_ADD, c->socket.native_handle(), &ev) != 0) {
    finish(c, CloseReason::reset);
    return;
  }
  c->reading = true;
  if (!reads_armed_) arm_reads();
  HAILER_ASSERT(reads_armed_);
}

void NetServer::unwatch(Connection& c) {
  if (!c.reading) return;
  c.reading = false;
  if (!readable_.is_open()) return;  // the server is stopping: the set is gone
  epoll_event ev{};                  // ignored by EPOLL_CTL_DEL; non-null for kernels before 2.6.9
  ::epoll_ctl(readable_.native_handle(), EPOLL_CTL_DEL, c.socket.native_handle(), &ev);
}

void NetServer::arm_reads() {
  HAILER_ASSERT(!reads_armed_);
  reads_armed_ = true;
  readable_.async_wait(asio::posix::descriptor_base::wait_read, pooled([this](const boost::system::error_code& ec) {
                         reads_armed_ = false;
                         if (ec) return;  // the set is closed: the server is going away
                         read_ready();
                       }));
}

// A round: each ready connection read once, then everything the round sent written, then the
// set re-armed. Nothing is posted for the common path: a queued handler makes Asio poll its own
// epoll (a system call) before running it, and the replies would wait behind that poll.
void NetServer::read_ready() {
  HAILER_ASSERT(!in_read_round_);
  std::array<epoll_event, max_reads_per_wake> ready{};
  const int n = ::epoll_wait(readable_.native_handle(), ready.data(), static_cast<int>(ready.size()), 0);
  in_read_round_ = true;
  for (int k = 0; k < n; ++k) read_one(SessionId{ready[static_cast<std::size_t>(k)].data.u64});
  in_read_round_ = false;
  flush_dirty();
  // Re-armed after this round's replies are written: the re-arm is a system call of its own.
  if (!reads_armed_ && readable_.is_open()) arm_reads();
}

// One read per ready connection and wake-up: a connection that sent more is read again at the
// next (the set is level-triggered), so one busy client cannot hold the others back.
void NetServer::read_one(SessionId id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;  // closed by what an earlier connection of this round sent
  const auto c = it->second;             // a copy: finish() erases the map entry
  if (c->finished || !c->reading) return;
  const ssize_t n = ::recv(c->socket.native_handle(), read_buffer_.data(), read_buffer_.size(), 0);
  if (n > 0) {
    stats_.bytes_in += static_cast<uint64_t>(n);
    on_bytes(c, std::string_view(read_buffer_.data(), static_cast<std::size_t>(n)));
  } else if (n == 0) {
    finish(c, CloseReason::peer_closed);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    finish(c, CloseReason::reset);
  }
}

// Lines are framed by the rule every transport shares (host/transport_rules.hpp): whole lines
// are handed to the host where they were read, only a partial line is kept.
void NetServer::on_bytes(const std::shared_ptr<Connection>& c, std::string_view data) {
  const auto verdict = c->in.feed(data, max_line_bytes_, [&](std::string_view line) {
    host_.text(now(), c->id, line);
    return !c->closing && !c->finished;
  });
  if (c->finished || c->closing || verdict == LineFramer::Verdict::ok) return;
  // No end of line within the limit: the stream cannot be framed any more. The core answers
  // message_too_large, then the connection closes.
  ++stats_.long_lines;
  host_.text(now(), c->id, c->in.take_partial());
  if (!c->finished && !c->closing) {
    c->closing = true;
    c->close_reason = CloseReason::protocol_error;
    unwatch(*c);
    if (!c->write_pending && c->pending.empty()) finish(c, CloseReason::protocol_error);
  }
}

void NetServer::send_text(SessionId to, std::string_view text) {
  if (!deferred_.empty()) {
    deferred_.emplace_back(std::vector<SessionId>{to}, std::make_shared<const std::string>(text));
    return;
  }
  send_now(to, text, nullptr);
}

void NetServer::send_broadcast(std::span<const SessionId> to, const SharedText& text) {
  if (deferred_.empty()) asio::post(io_, [this] { flush_deferred(); });
  deferred_.emplace_back(std::vector<SessionId>(to.begin(), to.end()), text);
}

void NetServer::flush_deferred() {
  auto pending = std::move(deferred_);
  deferred_.clear();
  for (const auto& [to, text] : pending) {
    for (SessionId s : to) send_now(s, *text, text);
  }
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
    dirty_.push_back(it->second);
    if (dirty_.size() == 1 && !in_read_round_) asio::post(io_, pooled([this] { flush_dirty(); }));
  }
}

// Connections are written newest first. The core answers a request before it tells anyone
// else, and tells the furthest consequences last: a hangup queues the hanger's ok, then the
// peer's call_ended, then a waiter's callee_available. The requester only waits for the
// confirmation of what it did; the others learn news, and the waiter's notice is what hailer
// promises to deliver at once. Written oldest first, that notice left with the third write
// (three loopback sends later, and its reader woken by the others' data first). Each
// connection's own stream keeps its order: only the order between connections changes.
void NetServer::flush_dirty() {
  HAILER_ASSERT(flushing_.empty() && !in_read_round_);  // never nested: a posted handler, or a read round's end
  flushing_.swap(dirty_);  // swapped, not moved: both keep their capacity, no allocation per flush
  for (auto it = flushing_.rbegin(); it != flushing_.rend(); ++it) {
    const auto& c = *it;
    c->dirty = false;
    if (!c->finished && !c->write_pending && !c->pending.empty()) write(c);
  }
  flushing_.clear();
}

// A write takes every line pending, on the socket's own descriptor (non-blocking since it was
// accepted), now: no Asio operation, no completion handler queued behind it. Only a socket
// whose buffer is full waits, through Asio, until it takes more (a slow reader; its lines keep
// gathering in `pending` until they reach the limit). Written in full, the buffer goes back to
// the pool, so 10,000 idle sessions hold none (docs/performance.md).
void NetServer::write(const std::shared_ptr<Connection>& c) {
  HAILER_ASSERT(!c->write_pending && !c->finished && c->sent < c->pending.size());
  const ssize_t n =
      ::send(c->socket.native_handle(), c->pending.data() + c->sent, c->pending.size() - c->sent, MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    finish(c, CloseReason::reset);
    return;
  }
  if (n > 0) {
    ++stats_.writes;
    stats_.bytes_out += static_cast<uint64_t>(n);
    c->sent += static_cast<std::size_t>(n);
    if (c->sent == c->pending.size()) {
      c->sent = 0;
      give_back(c->pending);
      if (c->closing) finish(c, c->close_reason);
      return;
    }
    // What the socket took is dropped once it outweighs what is left: each byte is moved at
    // most once on average, however many small writes a slow reader's backlog takes.
    if (c->sent >= c->pending.size() - c->sent) {
      c->pending.erase(0, c->sent);
      c->sent = 0;
    }
  }
  c->write_pending = true;
  c->socket.async_wait(tcp::socket::wait_write, pooled([this, c](const boost::system::error_code& ec) {
                         c->write_pending = false;
                         if (c->finished) return;
                         if (ec) {
                           finish(c, CloseReason::reset);
                           return;
                         }
                         write(c);
                       }));
  HAILER_ASSERT(c->write_pending && c->sent < c->pending.size());
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
  if (!deferred_.empty()) flush_deferred();  // what was sent before the close goes first
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
  c->finished = true;
  unwatch(*c);
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

SessionId NetServer::attach(std::shared_ptr<Link> link, const std::string& address, bool instructor_cookie) {
  const SessionId id{next_session_++};
  links_.emplace(id, std::move(link));
  ++stats_.accepted;
  host_.opened(now(), id, address, instructor_cookie);
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
  udp_.async_receive_from(asio::buffer(datagram_), datagram_from_,
                          [this](const boost::system::error_code& ec, std::size_t n) {
                            if (ec == asio::error::operation_aborted || stopping_) return;
                            if (!ec) {
                              ++stats_.datagrams_in;
                              const MediaEndpoint from{datagram_from_.address().to_string(), datagram_from_.port()};
                              host_.datagram(now(), from, std::span<const uint8_t>(datagram_.data(), n));
                            }
                            receive();
                          });
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
