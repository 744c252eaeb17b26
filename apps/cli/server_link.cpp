#include "apps/cli/server_link.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <utility>

#include "apps/cli/tls_trust.hpp"
#include "client/known_servers.hpp"
#include "net/tls_context.hpp"

namespace hailer::cli {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto tls_handshake_timeout = std::chrono::seconds(10);
constexpr int64_t first_backoff_ms = 500;
constexpr int64_t max_backoff_ms = 10'000;

}  // namespace

ServerLink::ServerLink(asio::io_context& io, Settings settings, Handlers handlers)
    : io_(io),
      settings_(std::move(settings)),
      on_(std::move(handlers)),
      socket_(io),
      handshake_timer_(io),
      reconnect_timer_(io) {
  if (!settings_.plaintext) {
    tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    configure_client_tls_context(tls_context_->native_handle());
  }
}

ServerLink::~ServerLink() = default;

void ServerLink::connect() {
  tcp::resolver resolver(io_);
  boost::system::error_code ec;
  const auto endpoints = resolver.resolve(settings_.host, settings_.port, ec);
  if (ec) {
    lost("cannot resolve " + settings_.host + ": " + ec.message());
    return;
  }
  asio::async_connect(socket_, endpoints, [this](const boost::system::error_code& error, const tcp::endpoint& ep) {
    if (stopped_ || finishing_) return;
    if (error) {
      lost("cannot connect to " + server() + ": " + error.message());
      return;
    }
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    server_address_ = ep.address();
    if (tls_context_) return start_tls();
    on_up();
  });
}

// TLS over the connection just made: the handshake (bounded in time), then the server's key
// checked against the CAs and known_servers (apps/cli/tls_trust.hpp).
void ServerLink::start_tls() {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), *tls_context_);
  socket_ = tcp::socket(io_);
  expect_server_name(tls_->native_handle(), settings_.host);
  handshake_timer_.expires_after(tls_handshake_timeout);
  handshake_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !tls_) return;
    handshake_timed_out_ = true;
    boost::system::error_code ignored;
    tls_->next_layer().close(ignored);  // the handshake ends with operation_aborted
  });
  tls_->async_handshake(asio::ssl::stream_base::client, [this](const boost::system::error_code& ec) {
    handshake_timer_.cancel();
    if (stopped_ || finishing_) return;
    if (ec) return tls_failed(ec);
    if (!trust_server()) return;
    tls_up_once_ = true;
    on_up();
  });
}

// A failed handshake. Before TLS was ever up this is how the server is set up, not a blip:
// said once, clearly, and the run ends instead of retrying for ever.
void ServerLink::tls_failed(const boost::system::error_code& ec) {
  std::string why = handshake_timed_out_ ? "the server did not finish the TLS handshake within " +
                                               std::to_string(tls_handshake_timeout.count()) + " s"
                                         : "TLS with " + server() + " failed: " + ec.message();
  handshake_timed_out_ = false;
  if (tls_up_once_) return lost(why);
  why +=
      ". If that server runs with --plaintext (no TLS), connect with --plaintext too, knowing that anyone "
      "on the path can then read and change your calls";
  on_.note("hailer: " + why, {{"type", "connection"}, {"state", "tls_failed"}, {"reason", why}});
  on_.insecure();
}

// The server's key: trusted by a CA, pinned, or pinned now on first use; a changed key (or one
// that is not the --trust one) ends the run with a message that says what to do.
bool ServerLink::trust_server() {
  const std::string where = server();
  const KeyCheck k = check_server_key(tls_->native_handle(), where, settings_.known_servers, settings_.trust_ahead);
  nlohmann::ordered_json j{{"type", "connection"},
                           {"state", trusted(k.verdict) ? "secured" : "untrusted"},
                           {"server", where},
                           {"server_key", k.seen},
                           {"trust", std::string(to_string(k.verdict))},
                           {"known_servers", k.file},
                           {"tls", SSL_get_version(tls_->native_handle())}};
  if (k.verdict == TrustVerdict::changed) {
    j["pinned_key"] = k.pinned;
    on_.note("hailer: THE KEY OF " + where + " HAS CHANGED. Pinned: " + k.pinned + "; shown now: " + k.seen +
                 ". Someone may be between you and the server. If its key really changed (ask its operator), "
                 "delete the line of " +
                 where + " from " + k.file + " or pass --trust " + k.seen + ", then connect again.",
             j);
    on_.insecure();
    return false;
  }
  if (k.verdict == TrustVerdict::not_trusted || k.seen.empty()) {
    on_.note("hailer: the key of " + where + " is " + (k.seen.empty() ? std::string("missing") : k.seen) +
                 ", not the one given with --trust: not connecting",
             j);
    on_.insecure();
    return false;
  }
  if (!k.write_error.empty()) j["pin_error"] = k.write_error;
  if (k.verdict == TrustVerdict::first_use) {
    on_.note("first connection to " + where + ": its key " + k.seen + " is now pinned in " + k.file +
                 " (compare it with the key hailer-server printed)" +
                 (k.write_error.empty() ? "" : "; could not save it: " + k.write_error),
             j);
  } else {
    on_.json_only(j);
  }
  return true;
}

void ServerLink::on_up() {
  connected_ = true;
  on_.note("connected to " + server(), {{"type", "connection"}, {"state", "connected"}});
  on_.up();
  if (connected_ && !stopped_) read_line();
}

ChannelBinding ServerLink::channel_binding() const {
  return tls_ ? net::channel_binding(tls_->native_handle()) : ChannelBinding{};
}

// Calls `f` with the signaling stream: TLS, or the TCP socket itself with --plaintext.
template <class F>
void ServerLink::with_stream(F&& f) {
  if (tls_)
    f(*tls_);
  else
    f(socket_);
}

void ServerLink::read_line() {
  with_stream([this](auto& stream) { read_line_from(stream); });
}

// Reads what comes and frames it: lines for the shell, tunnel frames (a call's relayed packets,
// path c) for the call's media.
template <class Stream>
void ServerLink::read_line_from(Stream& stream) {
  stream.async_read_some(asio::buffer(read_buffer_), [this](const boost::system::error_code& ec, std::size_t n) {
    if (stopped_ || finishing_) return;
    if (ec) {
      lost(ec == asio::error::eof ? "the server closed the connection" : "connection lost: " + ec.message());
      return;
    }
    const auto verdict = inbound_.feed(
        std::string_view(read_buffer_.data(), n), max_inbound_bytes,
        [this](std::string_view line) {
          on_.line(std::string(line));
          return connected_ && !stopped_ && !finishing_;  // a line may end the connection or the run
        },
        [this](std::string_view frame) {
          if (on_.frame) on_.frame(std::span(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
          return connected_ && !stopped_ && !finishing_;
        });
    if (verdict != LineFramer::Verdict::ok) {
      lost("the server sent more than " + std::to_string(max_inbound_bytes) + " bytes without an end of line");
      return;
    }
    if (connected_ && !stopped_ && !finishing_) read_line();
  });
}

void ServerLink::send(std::string line) {
  if (!connected_) return;
  outbound_.push_back(std::move(line) + "\n");
  if (!writing_) write_next();
}

void ServerLink::send_frame(std::span<const uint8_t> datagram) {
  if (!connected_ || finishing_) return;
  if (frames_.size() >= max_queued_frames) {
    frames_.pop_front();  // old audio is worth nothing; the newest goes
    ++frames_dropped_;
  }
  frames_.push_back(tunnel_frame(datagram));
  if (!writing_) write_next();
}

// Lines first, then one tunnel frame at a time: a line typed during a call waits for one frame at
// most, never for the queue of them.
void ServerLink::write_next() {
  if (outbound_.empty() && frames_.empty()) {
    if (finishing_ && on_.drained) std::exchange(on_.drained, nullptr)();
    return;
  }
  writing_ = true;
  const bool line = !outbound_.empty();
  std::deque<std::string>& from = line ? outbound_ : frames_;
  with_stream([this, &from](auto& stream) {
    asio::async_write(stream, asio::buffer(from.front()),
                      [this, &from](const boost::system::error_code& ec, std::size_t) {
                        writing_ = false;
                        if (stopped_) return;
                        if (!from.empty())
                          from.pop_front();  // lost() may have emptied the queues under an aborted write
                        if (ec) {
                          outbound_.clear();  // the drop itself is the reader's to report
                          frames_.clear();
                        }
                        write_next();
                      });
  });
}

void ServerLink::finish() {
  finishing_ = true;
  reconnect_timer_.cancel();
  frames_.clear();  // a call's audio has no business after quit
  if (!writing_) {
    outbound_.clear();
    if (on_.drained) std::exchange(on_.drained, nullptr)();
  }
}

// Closes the signaling connection. A TLS stream is kept (closed) until the next connect: its
// aborted operations still refer to it until they have run.
void ServerLink::close_stream() {
  boost::system::error_code ignored;
  if (tls_) {
    tls_->next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    tls_->next_layer().close(ignored);
    retired_tls_ = std::move(tls_);
  }
  if (socket_.is_open()) socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

// The connection is gone: the shell hears it, then a retry after the backoff (0.5 s doubling to
// 10 s).
void ServerLink::lost(const std::string& why) {
  close_stream();
  outbound_.clear();
  frames_.clear();
  inbound_ = LineFramer();
  const bool was_connected = std::exchange(connected_, false);
  if (was_connected) on_.down();
  if (stopped_ || finishing_) return;
  backoff_ms_ = backoff_ms_ == 0 ? first_backoff_ms : std::min(backoff_ms_ * 2, max_backoff_ms);
  on_.note(why + "; reconnecting in " + std::to_string(backoff_ms_) + " ms",
           {{"type", "connection"}, {"state", "lost"}, {"reason", why}, {"retry_ms", backoff_ms_}});
  reconnect_timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
  reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_ || finishing_) return;
    retired_tls_.reset();  // its aborted operations ran during the backoff
    socket_ = tcp::socket(io_);
    connect();
  });
}

void ServerLink::stop() {
  stopped_ = true;
  close_stream();
  handshake_timer_.cancel();
  reconnect_timer_.cancel();
  outbound_.clear();
  frames_.clear();
}

}  // namespace hailer::cli
