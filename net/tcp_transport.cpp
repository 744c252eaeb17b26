// NetServer's TCP transport: accepting, the connections' reads through an epoll set of their
// own, line framing (host/transport_rules.hpp), and writes on the descriptors, the newest
// connection first. The hub (sends, closes, links, UDP, the timer) is net_server.cpp.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include <boost/asio/post.hpp>

#include "base/assert.hpp"
#include "host/transport_rules.hpp"
#include "net/handler_memory.hpp"
#include "net/net_server.hpp"
#include "net/tcp_connection.hpp"

namespace hailer::net {

namespace asio = boost::asio;
using asio::ip::tcp;

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
      ++stats_.accepted;
      if (net_.tls) {
        start_handshake(std::move(socket), address);
      } else {
        auto c = std::make_shared<Connection>(std::move(socket), SessionId{next_session_++});
        connections_.emplace(c->id, c);
        host_.opened(now(), c->id, address);
        if (!c->closing && !c->finished) watch(c);
      }
    }
    accept();
  });
}

// ------------------------------------------------------------------------------- TLS

// A TLS client is a connection the host does not know yet: its handshake is read through the
// same epoll set as everyone's lines, bounded in time (tls_handshake_timeout_ms) and in number
// (per address and in all: a crowd of handshakes from one address cannot starve the others of
// places or CPU). The host hears of it once TLS is up, as of any new connection.
void NetServer::start_handshake(tcp::socket socket, const std::string& address) {
  if (!handshakes_.take(address, net_.max_handshakes_per_address, net_.max_handshakes)) {
    ++stats_.tls_refused;
    boost::system::error_code ignored;
    socket.close(ignored);  // closed before a byte is read: the cheapest answer to a crowd
    return;
  }
  auto c = std::make_shared<Connection>(std::move(socket), SessionId{next_session_++});
  c->ssl.reset(SSL_new(net_.tls.get()));
  c->handshaking = true;
  c->address = address;
  connections_.emplace(c->id, c);
  if (!c->ssl || SSL_set_fd(c->ssl.get(), static_cast<int>(c->socket.native_handle())) != 1) {
    ERR_clear_error();
    ++stats_.tls_failures;
    return drop_handshake(c);
  }
  SSL_set_accept_state(c->ssl.get());
  // No session tickets: a calls client keeps its one connection (and reconnects rarely), so
  // resumption saves nothing, and the tickets would be bytes and CPU for every handshake.
  SSL_set_num_tickets(c->ssl.get(), 0);
  // Read-ahead: one read(2) takes whatever the socket holds; without it OpenSSL reads each
  // record's 5-byte header and then its body, two system calls a message.
  SSL_set_read_ahead(c->ssl.get(), 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(net_.tls_handshake_timeout_ms);
  handshake_deadlines_.emplace_back(deadline, c->id);
  if (handshake_deadlines_.size() == 1) expire_handshakes();
  watch(c);
}

// One step of a handshake, when its socket is readable. The first byte says whether the client
// speaks TLS at all: a plaintext client is told so in a line it can read, then closed.
void NetServer::handshake(const std::shared_ptr<Connection>& c) {
  HAILER_ASSERT(c->handshaking && c->ssl);
  const int fd = c->socket.native_handle();
  if (c->first_read) {
    uint8_t first = 0;
    const ssize_t n = ::recv(fd, &first, 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) return drop_handshake(c);
    c->first_read = false;
    if (!looks_like_tls(first)) {
      ++stats_.plaintext_refused;
      const std::string line = tls_required_line();
      [[maybe_unused]] const ssize_t sent = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);  // best effort
      return drop_handshake(c);
    }
  }
  ERR_clear_error();
  const int result = SSL_do_handshake(c->ssl.get());
  if (result != 1) {
    const int error = SSL_get_error(c->ssl.get(), result);
    ERR_clear_error();                         // the error queue is per thread: never leave it to the next connection
    if (error == SSL_ERROR_WANT_READ) return;  // the epoll set wakes us when more arrives
    if (error == SSL_ERROR_WANT_WRITE) {
      // The socket did not take the server's flight (a client that does not read): wait until
      // it does, out of the read set, so a level-triggered wake-up does not spin meanwhile.
      unwatch(*c);
      c->socket.async_wait(tcp::socket::wait_write, [this, c](const boost::system::error_code& ec) {
        if (c->finished || !c->handshaking) return;
        if (ec) return drop_handshake(c);
        watch(c);
        handshake(c);
      });
      return;
    }
    ++stats_.tls_failures;
    return drop_handshake(c);
  }
  ++stats_.tls_handshakes;
  c->handshaking = false;
  handshakes_.give(c->address);
  const std::string address = std::exchange(c->address, std::string());
  // The channel binding a login signs (protocol/login.hpp): the same 32 bytes on both ends of
  // this connection, and on no other.
  host_.opened(now(), c->id, address, false, channel_binding(c->ssl.get()));
  // The client's first request may have come with its last handshake record, and be decrypted
  // already: read it now, the socket may have nothing more to wake us with.
  if (!c->closing && !c->finished && SSL_has_pending(c->ssl.get()) == 1) read_tls(c);
}

// A connection whose handshake did not end (refused, failed, timed out, or the server is
// stopping): closed without a word to the host, which never knew it.
void NetServer::drop_handshake(const std::shared_ptr<Connection>& c) {
  if (c->finished) return;
  HAILER_ASSERT(c->handshaking);
  c->finished = true;
  unwatch(*c);
  handshakes_.give(c->address);
  boost::system::error_code ignored;
  c->socket.close(ignored);
  connections_.erase(c->id);
  stop_if_done();
}

// Handshakes past their deadline are dropped; the timer waits for the next one due.
void NetServer::expire_handshakes() {
  const auto at = std::chrono::steady_clock::now();
  while (!handshake_deadlines_.empty()) {
    const auto [deadline, id] = handshake_deadlines_.front();
    const auto it = connections_.find(id);
    if (it == connections_.end() || !it->second->handshaking) {
      handshake_deadlines_.pop_front();  // done or gone: nothing to time out
      continue;
    }
    if (deadline > at) {
      handshake_timer_.expires_at(deadline);
      handshake_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) expire_handshakes();
      });
      return;
    }
    handshake_deadlines_.pop_front();
    ++stats_.tls_timeouts;
    drop_handshake(it->second);
  }
}

// Reads what TLS has for a connection, until OpenSSL holds nothing more: with read-ahead it
// takes what the socket has in one system call (records and all), and the socket will not wake
// us again for what it already took.
void NetServer::read_tls(const std::shared_ptr<Connection>& c) {
  note_tls_read(*c);
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(c->ssl.get(), read_buffer_.data(), static_cast<int>(read_buffer_.size()));
    if (n > 0) {
      stats_.bytes_in += static_cast<uint64_t>(n);
      on_bytes(c, std::string_view(read_buffer_.data(), static_cast<std::size_t>(n)));
      if (c->finished || c->closing || SSL_has_pending(c->ssl.get()) == 0) return;
      continue;
    }
    const int error = SSL_get_error(c->ssl.get(), n);
    const int saved_errno = errno;
    ERR_clear_error();
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
    // close_notify, or the end of the stream without it (most clients just close): the peer is
    // done. A socket error is a reset; a record TLS refuses (forged, corrupt) is a protocol error.
    if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && saved_errno == 0))
      return finish(c, CloseReason::peer_closed);
    return finish(c, error == SSL_ERROR_SSL ? CloseReason::protocol_error : CloseReason::reset);
  }
}

// A second read within tls_busy_gap of the one before: the connection is in a conversation (a
// call being set up, a queue moving) and keeps its buffers until a sweep finds it quiet. A
// heartbeat every few seconds never counts as busy.
void NetServer::note_tls_read(Connection& c) {
  HAILER_ASSERT(c.ssl && !c.handshaking);
  const auto at = std::chrono::steady_clock::now();
  c.read_since_sweep = true;
  if (!c.buffers_kept && at - c.last_tls_read < tls_busy_gap) {
    c.buffers_kept = true;
    ++stats_.tls_buffers_kept;
    SSL_clear_mode(c.ssl.get(), SSL_MODE_RELEASE_BUFFERS);
    kept_buffers_.push_back(c.id);
    if (kept_buffers_.size() == 1) arm_buffer_sweep();
  }
  c.last_tls_read = at;
  HAILER_ASSERT(!c.buffers_kept || !kept_buffers_.empty());
}

// Connections not read since the last sweep give their buffers back (a record half written keeps
// its buffer until it is written: the release mode frees it then).
void NetServer::sweep_tls_buffers() {
  std::erase_if(kept_buffers_, [this](SessionId id) {
    const auto it = connections_.find(id);
    if (it == connections_.end()) return true;
    Connection& c = *it->second;
    if (std::exchange(c.read_since_sweep, false) && !c.finished) return false;
    SSL_set_mode(c.ssl.get(), SSL_MODE_RELEASE_BUFFERS);
    [[maybe_unused]] const int freed = SSL_free_buffers(c.ssl.get());
    c.buffers_kept = false;
    ++stats_.tls_buffers_released;
    return true;
  });
  if (!kept_buffers_.empty() && !stopping_) arm_buffer_sweep();
}

void NetServer::arm_buffer_sweep() {
  buffer_sweep_.expires_after(tls_busy_gap);
  buffer_sweep_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) sweep_tls_buffers();
  });
}

// ------------------------------------------------------------------------------- reads

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
  if (c->handshaking) return handshake(c);
  if (c->ssl) return read_tls(c);
  const ssize_t n = ::recv(c->socket.native_handle(), read_buffer_.data(), read_buffer_.size(), 0);
  if (n > 0) {
    stats_.bytes_in += static_cast<uint64_t>(n);
    if (std::exchange(c->first_read, false) && looks_like_tls(static_cast<uint8_t>(read_buffer_[0]))) {
      // A TLS client on the plaintext port: its hello is no line. Closed at once, so the client
      // reports a server that does not speak TLS instead of waiting for an answer.
      ++stats_.tls_on_plaintext;
      return finish(c, CloseReason::protocol_error);
    }
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
  const auto verdict = c->in.feed(
      data, max_line_bytes_,
      [&](std::string_view line) {
        host_.text(now(), c->id, line);
        return !c->closing && !c->finished;
      },
      [&](std::string_view frame) {
        host_.frame(now(), c->id, std::span(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
        return !c->closing && !c->finished;
      });
  if (c->finished || c->closing || verdict == LineFramer::Verdict::ok) return;
  if (verdict == LineFramer::Verdict::bad_frame) {
    // A frame longer than any message: the stream cannot be trusted to be framed any more.
    ++stats_.bad_frames;
    return finish(c, CloseReason::protocol_error);
  }
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

// Connections are written newest first, each with everything the event queued for it
// (host/write_order.hpp says why).
void NetServer::flush_dirty() {
  HAILER_ASSERT(!in_read_round_);  // a posted handler, or a read round's end
  dirty_.flush([this](const std::shared_ptr<Connection>& c) {
    c->dirty = false;
    if (!c->finished && !c->write_pending && !c->pending.empty()) write(c);
  });
}

// Writes what the socket takes of `c.pending` after `c.sent`: bytes written, or -1 with errno
// EAGAIN when the socket (or TLS) must wait, or another errno when the connection is broken. TLS
// writes whole records (a partial write is a record at a time); a write OpenSSL must retry is
// retried with the same bytes, from wherever `pending` has moved since.
ssize_t NetServer::write_some(Connection& c) {
  const char* data = c.pending.data() + c.sent;
  const std::size_t size = c.pending.size() - c.sent;
  if (!c.ssl) return ::send(c.socket.native_handle(), data, size, MSG_NOSIGNAL);
  ERR_clear_error();
  const int n = SSL_write(c.ssl.get(), data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
  if (n > 0) return n;
  const int error = SSL_get_error(c.ssl.get(), n);
  ERR_clear_error();
  errno = error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
  return -1;
}

// A write takes every line pending, on the socket's own descriptor (non-blocking since it was
// accepted), now: no Asio operation, no completion handler queued behind it. Only a socket
// whose buffer is full waits, through Asio, until it takes more (a slow reader; its lines keep
// gathering in `pending` until they reach the limit). Written in full, the buffer goes back to
// the pool, so 10,000 idle sessions hold none (docs/performance.md).
void NetServer::write(const std::shared_ptr<Connection>& c) {
  HAILER_ASSERT(!c->write_pending && !c->finished && c->sent < c->pending.size());
  const ssize_t n = write_some(*c);
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
      if (!c->frames.empty()) {
        // The next tunnel frame alone: a message sent meanwhile waits for one frame at most.
        c->pending.assign(c->frames.front());
        c->frames.erase(c->frames.begin());
        if (c->frames.empty()) c->frames.shrink_to_fit();
        return write(c);
      }
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

}  // namespace hailer::net
