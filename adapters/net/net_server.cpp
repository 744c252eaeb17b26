#include "adapters/net/net_server.hpp"

#include <algorithm>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "adapters/host/out_queue.hpp"
#include "core/assert.hpp"

namespace hailer::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {
// Messages handed to one socket write at most: enough to coalesce a burst (a room's broadcast,
// a reply and its events) into one system call, few enough to bound the copy into one buffer.
constexpr std::size_t max_messages_per_write = 64;
// Bytes of write buffer a busy connection keeps between writes: a reply and its events fit;
// a burst's (a long `who`, a backlog) is given back.
constexpr std::size_t out_kept_bytes = 1024;
// Most a write's buffer is sized for up front (what is queued, newlines included, up to this).
constexpr std::size_t out_reserve_max_bytes = 64 * 1024;

Config with_rendezvous(Config config, uint16_t udp_port) {
  config.rendezvous_udp_port = udp_port;
  return config;
}
}  // namespace

struct NetServer::Connection {
  Connection(tcp::socket s, SessionId session) : socket(std::move(s)), id(session) {}

  tcp::socket socket;
  SessionId id;
  std::array<char, 4096> chunk{};
  std::string in;                   // bytes read and not yet a whole line
  OutQueue queue;                   // waiting for the socket (no heap while empty)
  std::string out;                  // the write in flight: its messages copied together, each with its newline
  std::size_t queued_bytes = 0;     // queue + out, newlines included
  bool write_pending = false;
  bool dirty = false;     // queued messages wait for flush_dirty (one write for a whole feed)
  bool closing = false;   // close once the queue is flushed
  bool finished = false;  // socket closed and the host told (or about to be)
  CloseReason close_reason = CloseReason::peer_closed;
};

NetServer::NetServer(asio::io_context& io, NetConfig net, const Config& config, uint64_t seed,
                     HostConfig host_config, MediaOutput* media)
    : io_(io),
      net_(std::move(net)),
      media_(media),
      start_(std::chrono::steady_clock::now()),
      acceptor_(io),
      udp_(io),
      timer_(io),
      flush_deadline_(io),
      max_line_bytes_(config.max_message_bytes),
      host_(with_rendezvous(config, bind()), seed, host_config, *this) {}

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

void NetServer::stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  udp_.close(ignored);
  host_.shutdown(now());  // every client told and asked closed: the queues flush, then close
  timer_.cancel();
  if (connections_.empty() && links_.empty()) return;
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

void NetServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (!ec) {
      boost::system::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);  // a notice leaves now, not after 40 ms of Nagle
      const auto remote = socket.remote_endpoint(opt_ec);
      const std::string address = opt_ec ? std::string("unknown") : remote.address().to_string();
      auto c = std::make_shared<Connection>(std::move(socket), SessionId{next_session_++});
      connections_.emplace(c->id, c);
      ++stats_.accepted;
      host_.opened(now(), c->id, address);
      if (!c->closing && !c->finished) read(c);
    }
    accept();
  });
}

void NetServer::read(const std::shared_ptr<Connection>& c) {
  c->socket.async_read_some(asio::buffer(c->chunk), [this, c](const boost::system::error_code& ec, std::size_t n) {
    if (c->finished) return;
    if (ec) {
      finish(c, ec == asio::error::eof ? CloseReason::peer_closed : CloseReason::reset);
      return;
    }
    stats_.bytes_in += n;
    on_bytes(c, n);
  });
}

void NetServer::on_bytes(const std::shared_ptr<Connection>& c, std::size_t n) {
  c->in.append(c->chunk.data(), n);
  std::size_t start = 0;
  while (!c->closing && !c->finished) {
    const auto end = c->in.find('\n', start);
    if (end == std::string::npos) break;
    std::string_view line(c->in.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // typed through telnet or nc -C
    if (!line.empty()) host_.text(now(), c->id, line);                  // blank lines are keep-typing noise
    start = end + 1;
  }
  c->in.erase(0, start);
  if (c->closing || c->finished) return;
  if (c->in.size() > max_line_bytes_) {
    // No end of line within the limit: the stream cannot be framed any more. The core answers
    // message_too_large, then the connection closes.
    ++stats_.long_lines;
    host_.text(now(), c->id, c->in);
    c->in.clear();
    if (!c->finished && !c->closing) {
      c->closing = true;
      c->close_reason = CloseReason::protocol_error;
      if (!c->write_pending && c->queue.empty()) finish(c, CloseReason::protocol_error);
    }
    return;
  }
  read(c);
}

void NetServer::send_text(SessionId to, const SharedText& text) {
  if (!deferred_.empty()) {
    deferred_.emplace_back(std::vector<SessionId>{to}, text);
    return;
  }
  send_now(to, text);
}

void NetServer::send_broadcast(std::span<const SessionId> to, const SharedText& text) {
  if (deferred_.empty()) asio::post(io_, [this] { flush_deferred(); });
  deferred_.emplace_back(std::vector<SessionId>(to.begin(), to.end()), text);
}

void NetServer::flush_deferred() {
  auto pending = std::move(deferred_);
  deferred_.clear();
  for (const auto& [to, text] : pending) {
    for (SessionId s : to) send_now(s, text);
  }
}

void NetServer::send_now(SessionId to, const SharedText& text) {
  auto it = connections_.find(to);
  if (it == connections_.end()) {
    if (auto l = links_.find(to); l != links_.end()) {
      const auto link = l->second;  // a copy: the link may detach (and leave the map) inside send
      link->send(text);
    }
    return;  // else closed on our side already; the core hears it soon
  }
  const auto c = it->second;  // a copy: finish() erases the map entry (ASan found the reference dangling)
  if (c->finished || c->closing) return;
  c->queue.push(text);
  c->queued_bytes += text->size() + 1;
  if (c->queued_bytes > net_.max_outbound_bytes) {
    ++stats_.slow_readers;
    finish(c, CloseReason::slow_reader);
    return;
  }
  if (!c->write_pending && !c->dirty) {
    // Not written at once: everything one event sends to this client (a reply and its events)
    // leaves in one write once the host returns, instead of one system call per message.
    c->dirty = true;
    dirty_.push_back(c);
    if (dirty_.size() == 1) asio::post(io_, [this] { flush_dirty(); });
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
  HAILER_ASSERT(flushing_.empty());  // never nested: only ever run as a posted handler
  flushing_.swap(dirty_);  // swapped, not moved: both keep their capacity, no allocation per flush
  for (auto it = flushing_.rbegin(); it != flushing_.rend(); ++it) {
    const auto& c = *it;
    c->dirty = false;
    if (!c->finished && !c->write_pending && !c->queue.empty()) write(c);
  }
  flushing_.clear();
}

// The messages of one write are copied into one buffer of the connection's. Handing Asio a
// list of buffers cost more than the copy: building the list was three allocations per write,
// and Asio walks a list through a 64-entry array on every send (callgrind: the write path was
// a fifth of the server's instructions per call cycle; docs/performance.md).
void NetServer::write(const std::shared_ptr<Connection>& c) {
  HAILER_ASSERT(!c->write_pending && !c->queue.empty());
  HAILER_ASSERT(c->out.empty() && c->queued_bytes > 0);
  c->out.reserve(std::min(c->queued_bytes, out_reserve_max_bytes));  // one allocation, not one per doubling
  for (std::size_t m = 0; m < max_messages_per_write && !c->queue.empty(); ++m) {
    const SharedText text = c->queue.pop();
    c->out.append(*text);
    c->out.push_back('\n');
  }
  c->write_pending = true;
  ++stats_.writes;
  asio::async_write(c->socket, asio::buffer(c->out), [this, c](const boost::system::error_code& ec, std::size_t n) {
    c->write_pending = false;
    c->out.clear();
    // Kept for the next write only while more is queued (a busy client); an idle connection
    // holds no buffer, as its queue holds none (10,000 idle sessions: 0.2 KiB each otherwise).
    if (c->queue.empty() || c->out.capacity() > out_kept_bytes) std::string().swap(c->out);
    if (c->finished) return;
    if (ec) {
      finish(c, CloseReason::reset);
      return;
    }
    stats_.bytes_out += n;
    c->queued_bytes -= n;
    if (!c->queue.empty()) write(c);
    else if (c->closing) finish(c, c->close_reason);
  });
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
  if (!c->write_pending && c->queue.empty()) finish(c, reason);
}

// Closes the socket and tells the host, later: a port never calls the host from inside a call
// the host made.
void NetServer::finish(std::shared_ptr<Connection> c, CloseReason reason) {
  // `c` is taken by value: the map's copy is erased here, and the caller's argument may be it.
  if (c->finished) return;
  c->finished = true;
  boost::system::error_code ignored;
  c->socket.shutdown(tcp::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  const SessionId id = c->id;
  connections_.erase(id);
  asio::post(io_, [this, id, reason] {
    host_.closed(now(), id, reason);
    if (stopping_ && connections_.empty() && links_.empty()) flush_deadline_.cancel();
  });
}

// ------------------------------------------------------------------------------- other transports

SessionId NetServer::attach(std::shared_ptr<Link> link, const std::string& address) {
  const SessionId id{next_session_++};
  links_.emplace(id, std::move(link));
  ++stats_.accepted;
  host_.opened(now(), id, address);
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
    if (stopping_ && connections_.empty() && links_.empty()) flush_deadline_.cancel();
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

// ------------------------------------------------------------------------------- media

void NetServer::play(const SpeakerFrame& frame) {
  if (media_ != nullptr) media_->play(frame);
}

void NetServer::record_start(uint64_t recording, const std::string& room, const std::string& file_name) {
  if (media_ != nullptr) media_->record_start(recording, room, file_name);
}

void NetServer::record_append(uint64_t recording, std::span<const int16_t> pcm) {
  if (media_ != nullptr) media_->record_append(recording, pcm);
}

void NetServer::record_stop(uint64_t recording) {
  if (media_ != nullptr) media_->record_stop(recording);
}

void NetServer::turn_ended(SessionId, const StreamStats&) {}

}  // namespace hailer::net
