// NetServer's TCP transport: accepting, the connections' reads through an epoll set of their
// own, line framing (host/transport_rules.hpp), and writes on the descriptors, the newest
// connection first. The hub (sends, closes, links, UDP, the timer) is net_server.cpp.
#include <sys/epoll.h>
#include <sys/socket.h>

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

// Connections are written newest first, each with everything the event queued for it
// (host/write_order.hpp says why).
void NetServer::flush_dirty() {
  HAILER_ASSERT(!in_read_round_);  // a posted handler, or a read round's end
  dirty_.flush([this](const std::shared_ptr<Connection>& c) {
    c->dirty = false;
    if (!c->finished && !c->write_pending && !c->pending.empty()) write(c);
  });
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

}  // namespace hailer::net
