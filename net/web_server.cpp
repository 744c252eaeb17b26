// Beast lives here and nowhere else (a translation unit costs ~40 s and ~1.5 GB to compile).
#include <utility>  // before Boost.Asio with GCC 12 + Boost 1.74 (otherwise <boost/asio> misses std::exchange)

#include "net/web_server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/assert.hpp"
#include "base/rate_limit.hpp"
#include "base/secret.hpp"
#include "host/out_queue.hpp"
#include "host/transport_rules.hpp"
#include "net/tls_context.hpp"
#include "net/tls_socket.hpp"
#include "net/web_rules.hpp"
#include "protocol/codec.hpp"
#include "protocol/json.hpp"
#include "protocol/names.hpp"
#include "protocol/ptt_frame.hpp"
#include "protocol/utf8.hpp"

namespace hailer::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// How a WebSocket over the lean TLS socket ends (Beast finds these by the stream's type): a
// close_notify if the socket takes it now, then the TCP connection is shut; nothing waits for a
// peer that may be gone.
void teardown(beast::role_type, TlsSocket& stream, beast::error_code& ec) {
  stream.shutdown_now();
  stream.next_layer().shutdown(tcp::socket::shutdown_both, ec);
}

template <class Handler>
void async_teardown(beast::role_type, TlsSocket& stream, Handler&& handler) {
  stream.shutdown_now();
  beast::error_code ignored;
  stream.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  asio::post(stream.get_executor(), [h = std::forward<Handler>(handler)]() mutable { h(beast::error_code{}); });
}

namespace {

// The largest binary frame any declared format allows: PCM at 192 kHz, 20 ms, plus the header.
constexpr std::size_t max_binary_bytes = ptt_frame_header_bytes + 2 * ((192'000 + 49) / 50);
constexpr std::size_t max_http_body_bytes = 8 * 1024;
/// A TLS handshake, and a connection's first HTTP request (headers and body), must arrive within
/// this long, or the connection is closed: a client sending a byte now and then (slowloris) holds
/// nothing for long. Later requests on a kept-alive connection get WebConfig::http_idle_ms.
constexpr auto http_request_timeout = std::chrono::seconds(10);
// Once a request is in, its answer has this long to be written (a recording is a few MB; a
// media player that stops reading gets cut, and resumes with a Range request).
constexpr auto http_response_timeout = std::chrono::seconds(60);

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr std::string_view cookie_name = "hailer_instructor";
// Addresses whose wrong-token budgets are kept at once (idle ones are forgotten beyond it).
constexpr std::size_t max_limited_addresses = 4096;

// The value of cookie `name` in the request's Cookie headers, if present (web_rules.hpp).
std::optional<std::string> cookie_value(const http::request<http::string_body>& req, std::string_view name) {
  const auto [first, last] = req.equal_range(http::field::cookie);
  for (auto field = first; field != last; ++field) {
    if (auto v = cookie_in_header(std::string_view(field->value().data(), field->value().size()), name)) return v;
  }
  return std::nullopt;
}

// What every answer carries: the pages load only from here, cannot be framed, send no Referer,
// may use the microphone themselves only, and (on HTTPS) are to be asked for over HTTPS again.
template <class Body>
void secure_headers(http::response<Body>& res, bool tls) {
  res.set("Content-Security-Policy",
          "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Permissions-Policy", "microphone=(self)");
  if (tls) res.set(http::field::strict_transport_security, "max-age=31536000");
}

// An answer of ours: never cached, with the security headers.
http::response<http::string_body> make_response(unsigned version, bool keep_alive, http::status status,
                                                std::string body, std::string_view type, bool over_tls) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, "hailer");
  res.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  res.set(http::field::cache_control, "no-store");
  secure_headers(res, over_tls);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// 429 for an address that spent its wrong-token budget: try again in a minute.
http::response<http::string_body> too_many_attempts(const http::request<http::string_body>& req, bool over_tls) {
  auto res = make_response(req.version(), req.keep_alive(), http::status::too_many_requests,
                           "{\"error\":\"too_many_attempts\"}\n", "application/json", over_tls);
  res.set(http::field::retry_after, "60");
  return res;
}

websocket::close_code close_code_for(CloseReason reason) {
  switch (reason) {
    case CloseReason::shutdown:
      return websocket::close_code::going_away;
    case CloseReason::protocol_error:
      return websocket::close_code::policy_error;
    case CloseReason::server_full:
      return websocket::close_code::try_again_later;
    default:
      return websocket::close_code::normal;
  }
}

}  // namespace

struct WebServer::Impl {
  Impl(NetServer& s, WebConfig c)
      : server(s),
        config(std::move(c)),
        acceptor(s.io()),
        accept_pause(s.io()),
        cookie(instructor_cookie(config.instructor_token)),
        token_failures(BucketRate{config.max_token_failures_per_address_per_minute, 60'000}, max_limited_addresses),
        upgrades_total(BucketRate{config.max_upgrades_per_second, 1000}),
        upgrades_per_address(BucketRate{2 * config.max_upgrades_per_address_per_second, 2000}, max_limited_addresses) {}

  NetServer& server;
  WebConfig config;
  tcp::acceptor acceptor;
  asio::steady_timer accept_pause;
  bool accept_paused = false;        // said once per shortage
  std::string cookie;                // the instructor's cookie value (empty: no token configured)
  KeyedLimiter token_failures;       // wrong tokens per address over HTTP
  std::vector<std::string> origins;  // whose pages may open the WebSocket (after bind: the port is known)
  SslContext tls;                    // null without TLS (net/tls_context.hpp)
  WebStats stats;
  AddressCaps websockets;             // open WebSockets per peer address (host/transport_rules.hpp)
  TokenBucket upgrades_total;         // new WebSockets per second, everyone
  KeyedLimiter upgrades_per_address;  // new WebSockets per second, per address
  // HTTP connections open (not WebSockets), in total and per address. Shared with the slots: a
  // connection's handlers may outlive the server (destroyed with the io_context after it).
  using HttpCounts = AddressCaps;
  std::shared_ptr<HttpCounts> http = std::make_shared<HttpCounts>();
  bool stopped = false;

  // Admission of a new WebSocket: bounded per address (open and per second) and in total per
  // second. The address's own budgets are asked first, so one address spends only its own.
  bool admit(const std::string& address) {
    const Time now = server.now();
    if (websockets.held(address) >= config.max_connections_per_address) {
      ++stats.refused_per_address;
      return false;
    }
    if (!upgrades_per_address.take(now, address) || !upgrades_total.take(now)) {
      ++stats.refused_rate;
      return false;
    }
    const bool taken = websockets.take(address, config.max_connections_per_address, UINT32_MAX);
    HAILER_ASSERT(taken);
    return true;
  }
  void release(const std::string& address) { websockets.give(address); }

  // An HTTP connection's place under the caps, taken at accept and given back when it ends or
  // becomes a WebSocket (then it counts among the sessions instead).
  bool take_http(const std::string& address) {
    if (http->take(address, config.max_http_connections_per_address, config.max_http_connections)) return true;
    ++stats.refused_http;
    return false;
  }
  static void give_http(HttpCounts& counts, const std::string& address) { counts.give(address); }

  /// How a request stands with the instructor's secret.
  enum class Auth : uint8_t { ok, missing, wrong, limited };

  http::response<http::string_body> respond(const http::request<http::string_body>& req, const std::string& address,
                                            bool over_tls);
  http::response<http::string_body> instructor_session(const http::request<http::string_body>& req,
                                                       const std::string& address, bool over_tls);
  Auth instructor_auth(const http::request<http::string_body>& req, const std::string& address);
  std::vector<RecordingEntry> list_recordings() const;
  http::response<http::string_body> delete_recording(const http::request<http::string_body>& req,
                                                     const std::string& file, const std::string& address,
                                                     bool over_tls);
  bool has_cookie(const http::request<http::string_body>& req) const;
  Auth check_token(std::string_view token, const std::string& address);
  bool origin_allowed(const http::request<http::string_body>& req) const;
  void warn(const std::string& line) const {
    if (config.warn) config.warn(line);
  }
  void accept();
};

namespace {

// An HTTP connection's place under the caps (Impl::take_http), given back when it goes.
class HttpSlot {
 public:
  HttpSlot(WebServer::Impl& impl, std::string address) : counts_(impl.http), address_(std::move(address)) {}
  HttpSlot(HttpSlot&& other) noexcept : counts_(std::move(other.counts_)), address_(std::move(other.address_)) {}
  HttpSlot& operator=(HttpSlot&&) = delete;
  HttpSlot(const HttpSlot&) = delete;
  HttpSlot& operator=(const HttpSlot&) = delete;
  ~HttpSlot() { release(); }
  /// Gives the place back now (the connection became a WebSocket, or ended).
  void release() {
    if (counts_) WebServer::Impl::give_http(*std::exchange(counts_, nullptr), address_);
  }

 private:
  std::shared_ptr<WebServer::Impl::HttpCounts> counts_;
  std::string address_;
};

// Read buffer sizes of a WebSocket client (bytes): the first piece of a message, the pieces
// after it, and the most kept between messages. A class is mostly idle connections.
constexpr std::size_t first_read_bytes = 128;
constexpr std::size_t next_read_bytes = 4096;
constexpr std::size_t kept_read_bytes = 512;

// The TCP socket under a WebSocket: plain ones run on the bare socket (a beast::tcp_stream
// would add 500 bytes and a timer per student), TLS ones on the lean TLS socket.
tcp::socket& socket_of(websocket::stream<tcp::socket>& ws) { return ws.next_layer(); }
tcp::socket& socket_of(websocket::stream<TlsSocket>& ws) { return ws.next_layer().next_layer(); }

// The TCP socket under an HTTP connection.
tcp::socket& socket_of(tcp::socket& s) { return s; }
tcp::socket& socket_of(TlsSocket& s) { return s.next_layer(); }

// One WebSocket client: a Link of the NetServer.
template <class Stream>
class WsSession final : public Link, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Stream&& stream, WebServer::Impl& impl, std::string address)
      : ws_(std::move(stream)), idle_timer_(ws_.get_executor()), impl_(impl), address_(std::move(address)) {}

  static constexpr bool over_tls = !std::is_same_v<Stream, tcp::socket>;

  void accept(http::request<http::string_body> req, bool instructor_cookie) {
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.handshake_timeout = std::chrono::seconds(5);  // also bounds the closing handshake
    // No idle timer of Beast's: the heartbeat and the socket's own cut (read()) bound silence,
    // and a second timer per connection is 200 bytes and a re-arm per message for nothing.
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.auto_fragment(false);  // one message, one frame: a 1,000-member room state included
    ws_.read_message_max(std::max<std::size_t>(impl_.config.max_message_bytes, max_binary_bytes));
    ws_.set_option(
        websocket::stream_base::decorator([](websocket::response_type& res) { secure_headers(res, over_tls); }));
    ws_.async_accept(req, [self = this->shared_from_this(), instructor_cookie](beast::error_code ec) {
      if (ec) {
        self->give_place();
        return;
      }
      ++self->impl_.stats.websockets;
      self->attached_ = true;
      self->id_ = self->impl_.server.attach(self, self->address_, instructor_cookie, over_tls);
      self->heard_us_ = self->impl_.server.now().us;
      self->watch_idle(std::chrono::milliseconds(self->impl_.config.idle_cut_ms));
      self->read();
    });
  }

  void send(const SharedText& text) override {
    if (finished_ || closing_) return;
    out_.push(text);
    // The slow-reader rule every transport shares (host/transport_rules.hpp).
    if (!out_budget_.queue(text->size(), impl_.config.max_outbound_bytes)) return finish(CloseReason::slow_reader);
    if (!writing_) write_next();
  }

  // A calls session's tunnel frame (a browser's path c), as a binary message. Never ahead of a
  // text message by more than the one being written; a slow reader keeps the newest few.
  void send_frame(std::span<const uint8_t> bytes) override {
    if (finished_ || closing_) return;
    if (frames_.size() >= NetServer::max_queued_frames) {
      frames_.erase(frames_.begin());
      impl_.server.frame_dropped();
    }
    frames_.emplace_back(bytes.begin(), bytes.end());
    if (!writing_) write_next();
  }

  void close(CloseReason reason) override {
    if (finished_ || closing_) return;
    closing_ = true;
    close_reason_ = reason;
    // Never from inside the host's call: the close handshake starts on the next turn.
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      if (!self->writing_) self->close_now();
    });
  }

  void abort(CloseReason reason) override { finish(reason); }

 private:
  // The place admit() took under the WebSocket caps, given back exactly once (a failed accept
  // and a later finish both lead here).
  void give_place() {
    if (std::exchange(holds_place_, false)) impl_.release(address_);
  }

 public:
 private:
  // A message is read a piece at a time: async_read would reserve 1,536 bytes per idle student
  // before anything arrives; the first piece of a message asks for a small buffer (a ping, a
  // press, an audio frame fit), the rest of a longer one for more.
  void read() {
    const std::size_t limit = in_.size() == 0 ? first_read_bytes : next_read_bytes;
    ws_.async_read_some(
        in_, limit, [self = this->shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (finished_) return;
    heard_us_ = impl_.server.now().us;
    if (ec) {
      if (ec == websocket::error::closed) return finish(CloseReason::peer_closed);
      if (ec == websocket::error::message_too_big)
        return refuse(ErrorCode::message_too_large, "a message larger than the server accepts");
      // Beast has already failed the connection with 1002 (or 1007 for bad UTF-8): unmasked or
      // reserved-bit frames, fragmented control frames, unknown opcodes, bad continuations.
      if (ec == websocket::condition::protocol_violation) return finish(CloseReason::protocol_error);
      return finish(CloseReason::reset);
    }
    if (!ws_.is_message_done()) return read();  // Beast bounds the whole by read_message_max
    if (ws_.got_text()) {
      const auto data = in_.cdata();
      impl_.server.deliver_text(id_, std::string_view(static_cast<const char*>(data.data()), data.size()));
    } else {
      const auto data = in_.cdata();
      impl_.server.deliver_binary(id_, std::span<const uint8_t>(static_cast<const uint8_t*>(data.data()), data.size()));
    }
    in_.consume(in_.size());
    if (in_.capacity() > kept_read_bytes) in_.shrink_to_fit();  // after a long message
    if (!finished_ && !closing_) read();
  }

  // Cuts the socket once nothing has been read for idle_cut_ms (e.g. a client that broke the
  // protocol and keeps its TCP connection open: Beast's teardown waits for it without a
  // timeout). Closing the socket fails whatever Beast has pending, which then reports as
  // usual. One wait per connection, re-armed only when it fires: no timer work per message.
  void watch_idle(std::chrono::microseconds after) {
    idle_timer_.expires_after(after);
    idle_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_) return;
      const std::chrono::microseconds cut(self->impl_.config.idle_cut_ms * 1000);
      const std::chrono::microseconds silent(self->impl_.server.now().us - self->heard_us_);
      if (silent < cut) return self->watch_idle(cut - silent);
      beast::error_code ignored;
      socket_of(self->ws_).close(ignored);
    });
  }

  // The transport itself refuses this client (framing or flooding): told why, then closed.
  void refuse(ErrorCode code, std::string why) {
    send(std::make_shared<const std::string>(encode(ServerMessage{ErrorReply{std::nullopt, code, std::move(why)}})));
    close(CloseReason::protocol_error);
  }

  // Text messages first, then one tunnel frame at a time.
  void write_next() {
    writing_ = true;
    if (out_.empty()) return write_frame();
    ws_.text(true);
    ws_.async_write(asio::buffer(*out_.front()),
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                      self->writing_ = false;
                      if (self->finished_) return;
                      if (ec) return self->finish(CloseReason::reset);
                      self->impl_.server.wrote(n);
                      self->out_budget_.drained(self->out_.pop()->size());
                      self->written();
                    });
  }

  void write_frame() {
    HAILER_ASSERT(writing_ && !frames_.empty());
    sending_frame_ = std::move(frames_.front());
    frames_.erase(frames_.begin());
    if (frames_.empty()) frames_.shrink_to_fit();
    ws_.binary(true);
    ws_.async_write(asio::buffer(sending_frame_),
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                      self->writing_ = false;
                      if (self->finished_) return;
                      if (ec) return self->finish(CloseReason::reset);
                      self->impl_.server.wrote(n);
                      self->sending_frame_ = {};
                      self->written();
                    });
  }

  void written() {
    if (!out_.empty() || !frames_.empty())
      write_next();
    else if (closing_)
      close_now();
  }

  void close_now() {
    if (finished_) return;
    ws_.async_close(close_code_for(close_reason_),
                    [self = this->shared_from_this()](beast::error_code) { self->finish(self->close_reason_); });
  }

  void finish(CloseReason reason) {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    socket_of(ws_).close(ignored);
    idle_timer_.cancel();  // its handler holds this session
    give_place();
    if (attached_) impl_.server.detach(id_, reason);
  }

  websocket::stream<Stream> ws_;
  asio::steady_timer idle_timer_;
  int64_t heard_us_ = 0;  // when the last bytes were read, server clock
  WebServer::Impl& impl_;
  std::string address_;
  SessionId id_{0};
  bool attached_ = false;
  beast::flat_buffer in_;
  OutQueue out_;                              // no heap while idle: most of a class is
  std::vector<std::vector<uint8_t>> frames_;  // tunnel frames of a calls session, behind out_
  std::vector<uint8_t> sending_frame_;        // the frame being written
  OutboundBudget out_budget_;
  bool holds_place_ = true;  // admitted under the caps before this link was made
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
  CloseReason close_reason_ = CloseReason::peer_closed;
};

// One HTTP connection (plain or TLS): pages, recordings, and the upgrade to a WebSocket.
template <class Stream>
class HttpSession final : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Stream&& stream, WebServer::Impl& impl, std::string address, HttpSlot slot)
      : stream_(std::move(stream)),
        deadline_(socket_of(stream_).get_executor()),
        impl_(impl),
        address_(std::move(address)),
        slot_(std::move(slot)) {}

  void handshake() {
    arm_deadline(http_request_timeout);
    if constexpr (tls) {
      stream_.async_handshake([self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->close();
        self->read();
      });
    } else {
      read();
    }
  }

  static constexpr bool tls = std::is_same_v<Stream, TlsSocket>;

 private:
  // Each request must arrive in time, else the socket is closed (whatever is pending then fails).
  // The timer's wait holds the session weakly: an idle connection is not kept alive by it. Only
  // the latest deadline counts: a wait that expired just as it was re-armed (its handler already
  // queued, so the re-arm cannot cancel it) finds a newer generation and does nothing, so a
  // request that came at the end of the idle window is answered in full, never cut mid-answer.
  template <class Duration>
  void arm_deadline(Duration after) {
    const uint64_t generation = ++deadline_generation_;
    deadline_.expires_after(after);
    deadline_.async_wait([weak = this->weak_from_this(), generation](beast::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock(); self && self->deadline_generation_ == generation) self->close();
    });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(max_http_body_bytes);
    // The first request gets the full time; a kept-alive connection waiting for another is cut
    // sooner, so idle connections do not hold descriptors the sessions need.
    if (answered_)
      arm_deadline(std::chrono::milliseconds(impl_.config.http_idle_ms));
    else
      arm_deadline(http_request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return close();
    ++impl_.stats.http_requests;
    if (websocket::is_upgrade(parser_->get())) {
      const std::string target(parser_->get().target());
      // A page of another origin never gets a WebSocket (RFC 6455 10.2): refused before the
      // upgrade, so it can neither join nor talk. Clients that are not browsers send no Origin.
      if (target == "/ws" && !impl_.origin_allowed(parser_->get())) {
        ++impl_.stats.refused_origin;
        impl_.warn("refused a WebSocket from " + address_ + " for a page of origin " +
                   std::string(parser_->get()[http::field::origin]));
        return write(refusal(http::status::forbidden, "this page's origin may not use this classroom\n"), false);
      }
      if (target != "/ws") return write(refusal(http::status::not_found, "no WebSocket here\n"), false);
      if (impl_.stopped || !impl_.admit(address_)) {
        return write(refusal(http::status::service_unavailable, "too many connections: try again in a moment\n"),
                     false);
      }
      const bool cookie = impl_.has_cookie(parser_->get());
      deadline_.cancel();
      slot_.release();  // from now on a session: counted by the WebSocket caps and max_sessions
      auto ws = std::make_shared<WsSession<Stream>>(std::move(stream_), impl_, address_);
      ws->accept(parser_->release(), cookie);
      return;
    }
    // The request is in: the idle or request deadline no longer applies, the answer's does (a
    // request that came late in the idle window must not be cut in the middle of its answer).
    arm_deadline(http_response_timeout);
    auto res = std::make_shared<http::response<http::string_body>>(impl_.respond(parser_->get(), address_, tls));
    write(res, res->keep_alive());
  }

  std::shared_ptr<http::response<http::string_body>> refusal(http::status status, std::string body) {
    return std::make_shared<http::response<http::string_body>>(
        make_response(parser_->get().version(), false, status, std::move(body), "text/plain; charset=utf-8", tls));
  }

  void write(const std::shared_ptr<http::response<http::string_body>>& res, bool keep_alive) {
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->answered_ = true;
                        self->read();
                      });
  }

  void close() {
    ++deadline_generation_;  // no deadline of this connection fires after it closed
    deadline_.cancel();
    if constexpr (tls) stream_.shutdown_now();
    beast::error_code ignored;
    socket_of(stream_).shutdown(tcp::socket::shutdown_send, ignored);
    socket_of(stream_).close(ignored);
  }

  Stream stream_;
  asio::steady_timer deadline_;
  beast::flat_buffer buffer_;
  WebServer::Impl& impl_;
  std::string address_;
  HttpSlot slot_;
  bool answered_ = false;             // a response went out: the next request is a keep-alive one
  uint64_t deadline_generation_ = 0;  // which arm_deadline() the pending wait belongs to
  std::optional<http::request_parser<http::string_body>> parser_;
};

// Tells TLS from plain by the first byte (a TLS handshake record starts with 22), peeked so that
// it stays in the socket for whoever reads next, then hands the connection on.
class Detector final : public std::enable_shared_from_this<Detector> {
 public:
  Detector(tcp::socket socket, WebServer::Impl& impl, std::string address)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        impl_(impl),
        address_(std::move(address)),
        slot_(impl, address_) {}

  void run() {
    deadline_.expires_after(http_request_timeout);
    deadline_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (auto self = weak.lock(); self && !ec) {
        beast::error_code ignored;
        self->socket_.close(ignored);
      }
    });
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      self->deadline_.cancel();
      if (ec) return;
      unsigned char first = 0;
      const ssize_t n = ::recv(self->socket_.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n != 1) return;  // closed before saying anything
      if (first == 0x16 && self->impl_.tls) {
        std::make_shared<HttpSession<TlsSocket>>(TlsSocket(std::move(self->socket_), self->impl_.tls.get()),
                                                 self->impl_, self->address_, std::move(self->slot_))
            ->handshake();
      } else if (first != 0x16) {
        std::make_shared<HttpSession<tcp::socket>>(std::move(self->socket_), self->impl_, self->address_,
                                                   std::move(self->slot_))
            ->handshake();
      }
    });
  }

 private:
  tcp::socket socket_;
  asio::steady_timer deadline_;
  WebServer::Impl& impl_;
  std::string address_;
  HttpSlot slot_;  // taken by accept(): see Impl::take_http
};

}  // namespace

bool WebServer::Impl::origin_allowed(const http::request<http::string_body>& req) const {
  const auto it = req.find(http::field::origin);
  std::optional<std::string_view> origin;
  if (it != req.end()) origin = std::string_view(it->value().data(), it->value().size());
  return net::origin_allowed(origin, origins);
}

bool WebServer::Impl::has_cookie(const http::request<http::string_body>& req) const {
  if (cookie.empty()) return false;
  const auto value = cookie_value(req, cookie_name);
  return value && constant_time_equal(*value, cookie);
}

// A token given over HTTP: compared in constant time; wrong ones spend the address's budget,
// and an address without budget is refused whatever it gives (else a right guess would still be
// told apart).
WebServer::Impl::Auth WebServer::Impl::check_token(std::string_view token, const std::string& address) {
  const Time now = server.now();
  if (!token_failures.has_token(now, address)) {
    ++stats.token_limited;
    return Auth::limited;
  }
  if (constant_time_equal(token, config.instructor_token)) return Auth::ok;
  token_failures.take(now, address);
  ++stats.token_failures;
  warn("wrong instructor token from " + address);
  return Auth::wrong;
}

WebServer::Impl::Auth WebServer::Impl::instructor_auth(const http::request<http::string_body>& req,
                                                       const std::string& address) {
  if (config.instructor_token.empty() || has_cookie(req)) return Auth::ok;
  const auto it = req.find(http::field::authorization);
  if (it == req.end()) return Auth::missing;
  const auto token = bearer_token(std::string_view(it->value().data(), it->value().size()));
  if (!token) return Auth::missing;
  return check_token(*token, address);
}

// POST: trades the token (JSON {"token": ...}) for the instructor's cookie: HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it), Secure on HTTPS. GET: says whether
// the cookie the browser holds is still the right one (204) or not (403).
http::response<http::string_body> WebServer::Impl::instructor_session(const http::request<http::string_body>& req,
                                                                      const std::string& address, bool over_tls) {
  auto answer = [&](http::status status, std::string body) {
    return make_response(req.version(), req.keep_alive(), status, std::move(body), "application/json", over_tls);
  };
  if (req.method() == http::verb::get) {
    return has_cookie(req) || config.instructor_token.empty()
               ? answer(http::status::no_content, "")
               : answer(http::status::forbidden, "{\"error\":\"bad_token\"}\n");
  }
  if (!origin_allowed(req)) return answer(http::status::forbidden, "{\"error\":\"origin\"}\n");
  // Read with the protocol's strict reader: {"token": "..."} and nothing looser.
  const std::string& text = req.body();
  json::Document body;
  const json::Value* field = nullptr;
  if (valid_utf8(text) && !json::parse(text, body) && body.root().type == json::Type::object)
    field = body.find(body.root(), "token");
  if (field == nullptr || field->type != json::Type::string)
    return answer(http::status::bad_request, "{\"error\":\"bad_json\"}\n");
  const std::string token(field->text);
  if (config.instructor_token.empty()) return answer(http::status::no_content, "");
  switch (check_token(token, address)) {
    case Auth::ok:
      break;
    case Auth::limited:
      return too_many_attempts(req, over_tls);
    default:
      return answer(http::status::forbidden, "{\"error\":\"bad_token\"}\n");
  }
  auto res = answer(http::status::no_content, "");
  res.set(http::field::set_cookie, std::string(cookie_name) + "=" + cookie + "; Path=/; HttpOnly; SameSite=Strict" +
                                       (over_tls ? "; Secure" : ""));
  return res;
}

http::response<http::string_body> WebServer::Impl::respond(const http::request<http::string_body>& req,
                                                           const std::string& address, bool over_tls) {
  auto reply = [&](http::status status, std::string body, const std::string& type) {
    return make_response(req.version(), req.keep_alive(), status, std::move(body), type, over_tls);
  };
  const Method method = req.method() == http::verb::get       ? Method::get
                        : req.method() == http::verb::head    ? Method::head
                        : req.method() == http::verb::post    ? Method::post
                        : req.method() == http::verb::delete_ ? Method::del
                                                              : Method::other;
  const Route route = route_of(method, std::string_view(req.target().data(), req.target().size()));
  if (route.needs_instructor) {
    switch (instructor_auth(req, address)) {
      case Auth::ok:
        break;
      case Auth::limited:
        return too_many_attempts(req, over_tls);
      default:
        return reply(http::status::forbidden, "{\"error\":\"bad_token\"}\n", "application/json");
    }
  }
  switch (route.kind) {
    case Route::Kind::instructor_session:
      return instructor_session(req, address, over_tls);
    case Route::Kind::method_not_allowed:
      return reply(http::status::method_not_allowed, "GET only\n", "text/plain");
    case Route::Kind::recordings_list:
      return reply(http::status::ok, recordings_json(list_recordings()), "application/json");
    case Route::Kind::recording: {
      if (config.recordings_dir.empty() || !safe_file_name(route.file))
        return reply(http::status::not_found, "no such recording\n", "text/plain");
      auto body = read_file(config.recordings_dir + "/" + route.file);
      if (!body) return reply(http::status::not_found, "no such recording\n", "text/plain");
      const auto header = req.find(http::field::range);
      const RangeAnswer range = byte_range(header == req.end() ? std::nullopt
                                                               : std::optional<std::string_view>(std::string_view(
                                                                     header->value().data(), header->value().size())),
                                           body->size());
      if (range.kind == RangeAnswer::Kind::unsatisfiable) {
        auto res = reply(http::status::range_not_satisfiable, "", "text/plain");
        res.set(http::field::content_range, "bytes */" + std::to_string(body->size()));
        return res;
      }
      const std::string total = std::to_string(body->size());
      http::response<http::string_body> res;
      if (range.kind == RangeAnswer::Kind::part) {
        const auto [first, last] = range.range;
        res = reply(http::status::partial_content, body->substr(first, last - first + 1), "audio/wav");
        res.set(http::field::content_range,
                "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + total);
      } else {
        res = reply(http::status::ok, std::move(*body), "audio/wav");
      }
      res.set(http::field::accept_ranges, "bytes");
      res.set(http::field::content_disposition, "attachment; filename=\"" + route.file + "\"");
      return res;
    }
    case Route::Kind::recording_delete:
      return delete_recording(req, route.file, address, over_tls);
    case Route::Kind::page: {
      auto body = read_file(config.web_root + "/" + route.file);
      if (!body) return reply(http::status::not_found, "not found\n", "text/plain");
      return reply(http::status::ok, std::move(*body), std::string(content_type(route.file)));
    }
    case Route::Kind::not_found:
      break;
  }
  return reply(http::status::not_found, "not found\n", "text/plain");
}

// The instructor removes one recording. The cookie is SameSite=Strict, and a browser's DELETE
// must also come from an allowed origin; only a safe name of a WAV file in the folder itself goes.
http::response<http::string_body> WebServer::Impl::delete_recording(const http::request<http::string_body>& req,
                                                                    const std::string& file, const std::string& address,
                                                                    bool over_tls) {
  auto answer = [&](http::status status, std::string body) {
    return make_response(req.version(), req.keep_alive(), status, std::move(body), "application/json", over_tls);
  };
  if (!origin_allowed(req)) return answer(http::status::forbidden, "{\"error\":\"origin\"}\n");
  if (config.recordings_dir.empty() || !safe_file_name(file) || !file.ends_with(".wav"))
    return answer(http::status::not_found, "{\"error\":\"no_such_recording\"}\n");
  const std::filesystem::path path = std::filesystem::path(config.recordings_dir) / file;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec)))
    return answer(http::status::not_found, "{\"error\":\"no_such_recording\"}\n");
  if (!std::filesystem::remove(path, ec) || ec) {
    warn("could not delete recording " + file + ": " + ec.message());
    return answer(http::status::internal_server_error, "{\"error\":\"delete_failed\"}\n");
  }
  warn("recording " + file + " deleted by the instructor at " + address);
  return answer(http::status::no_content, "");
}

// The recordings folder's WAV files with safe names, as the instructor's list shows them.
std::vector<RecordingEntry> WebServer::Impl::list_recordings() const {
  std::vector<RecordingEntry> entries;
  if (config.recordings_dir.empty()) return entries;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(config.recordings_dir, ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_regular_file() || !name.ends_with(".wav") || !safe_file_name(name)) continue;
    const auto bytes = e.file_size(ec);
    const int64_t audio_ms = bytes > 44 ? static_cast<int64_t>((bytes - 44) / 96) : 0;  // 48 kHz, 16-bit mono
    const auto written = std::chrono::file_clock::to_sys(e.last_write_time(ec));
    const int64_t modified_ms =
        ec ? 0 : std::chrono::duration_cast<std::chrono::milliseconds>(written.time_since_epoch()).count();
    entries.push_back({std::move(name), bytes, audio_ms, modified_ms});
  }
  return entries;
}

void WebServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped) return;
    if (out_of_descriptors(ec)) {
      ++stats.accept_pauses;
      if (!accept_paused)
        warn("out of file descriptors (" + ec.message() + "): the web port pauses accepting for a while");
      accept_paused = true;
      accept_pause.expires_after(std::chrono::milliseconds(config.accept_pause_ms));
      accept_pause.async_wait([this](const beast::error_code& e) {
        if (!e && !stopped) accept();
      });
      return;
    }
    if (!ec) {
      accept_paused = false;
      beast::error_code opt;
      socket.set_option(tcp::no_delay(true), opt);
      const auto remote = socket.remote_endpoint(opt);
      std::string address = opt ? "unknown" : remote.address().to_string();
      // Over the caps the connection is closed at once: a flood of idle connections cannot eat
      // the descriptors the sessions need, nor one address all the places.
      if (take_http(address)) std::make_shared<Detector>(std::move(socket), *this, std::move(address))->run();
    }
    accept();
  });
}

WebServer::WebServer(NetServer& server, WebConfig config) : impl_(std::make_unique<Impl>(server, std::move(config))) {
  Impl& i = *impl_;
  if (i.config.tls) i.tls = make_server_tls_context(*i.config.tls);
  const tcp::endpoint ep(asio::ip::make_address(i.config.host), i.config.port);
  try {
    i.acceptor.open(ep.protocol());
    i.acceptor.set_option(tcp::acceptor::reuse_address(true));
    i.acceptor.bind(ep);
    i.acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("the classroom port " + i.config.host + ":" + std::to_string(i.config.port) +
                             " (HTTP, --http-port): " + e.code().message());
  }
  // The origins of the pages served here: every name the server is reached by, with the port it
  // really bound (http always, https with TLS; the default port may be left out), and the extras.
  const unsigned bound = i.acceptor.local_endpoint().port();
  for (const std::string& host : i.config.served_hosts) {
    const std::string h = lowercase(host.find(':') != std::string::npos ? "[" + host + "]" : host);
    i.origins.push_back("http://" + h + ":" + std::to_string(bound));
    if (bound == 80) i.origins.push_back("http://" + h);
    if (i.config.tls) {
      i.origins.push_back("https://" + h + ":" + std::to_string(bound));
      if (bound == 443) i.origins.push_back("https://" + h);
    }
  }
  for (const std::string& o : i.config.allowed_origins) {
    std::string origin = lowercase(o);
    while (origin.ends_with("/")) origin.pop_back();
    i.origins.push_back(origin);
  }
}

WebServer::~WebServer() = default;

void WebServer::start() { impl_->accept(); }

void WebServer::stop() {
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->accept_pause.cancel();
}

tcp::endpoint WebServer::endpoint() const { return impl_->acceptor.local_endpoint(); }

const std::vector<std::string>& WebServer::origins() const { return impl_->origins; }

uint32_t WebServer::http_connections() const { return impl_->http->total(); }

const WebStats& WebServer::stats() const { return impl_->stats; }

}  // namespace hailer::net
