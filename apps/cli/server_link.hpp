// The CLI's signaling connection: TCP to the server, TLS with the server's key checked against
// the CAs and known_servers (apps/cli/tls_trust.hpp), lines in and out, and reconnecting with
// backoff (0.5 s doubling to 10 s) when it drops. What the lines mean is the shell's and the
// protocol client's business; this only moves them and says how the connection fares.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "host/transport_rules.hpp"  // LineFramer: lines and tunnel frames
#include "protocol/login.hpp"

namespace hailer::cli {

/// One signaling connection to one server, made again whenever it drops.
class ServerLink {
 public:
  /// Where and how to connect.
  struct Settings {
    std::string host;
    std::string port;
    bool plaintext = false;                  ///< --plaintext: no TLS (insecure)
    bool json = false;                       ///< --json: events that only scripts need are said too
    std::string known_servers;               ///< the file of pinned server keys
    std::optional<std::string> trust_ahead;  ///< --trust FINGERPRINT
  };
  /// What the shell hears from the link.
  struct Handlers {
    std::function<void()> up;                             ///< connected (and trusted): the protocol may start
    std::function<void(const std::string&)> line;         ///< one line from the server, without its newline
    std::function<void(std::span<const uint8_t>)> frame;  ///< one tunnel frame's relay datagram (path c)
    std::function<void()> down;                           ///< the connection that was up is gone
    std::function<void(const std::string& text, nlohmann::ordered_json json)> note;  ///< tell the user
    std::function<void(nlohmann::ordered_json json)> json_only;                      ///< tell a script
    std::function<void()> insecure;  ///< cannot connect securely: the run ends
    std::function<void()> drained;   ///< after finish(): every line is written
  };

  /// Nothing happens before connect().
  ServerLink(boost::asio::io_context& io, Settings settings, Handlers handlers);
  ~ServerLink();
  ServerLink(const ServerLink&) = delete;
  ServerLink& operator=(const ServerLink&) = delete;

  /// Resolves and connects (then TLS and the key check); a failure is a drop, retried.
  void connect();
  /// Queues a line (a newline is added); dropped while not connected.
  void send(std::string line);
  /// Queues a relay datagram as a tunnel frame (path c), behind every line; while the connection
  /// is slow the newest max_queued_frames are kept. Dropped while not connected.
  void send_frame(std::span<const uint8_t> datagram);
  /// Tunnel frames dropped, oldest first, for a slow connection.
  uint64_t frames_dropped() const { return frames_dropped_; }
  /// Tunnel frames kept while the connection is slow (160 ms of audio).
  static constexpr std::size_t max_queued_frames = 8;

  /// The connection dropped (or the shell decided so): closes it and retries after the backoff.
  void lost(const std::string& why);
  /// The next drop waits the first step of the backoff again (after a registration).
  void reset_backoff() { backoff_ms_ = 0; }
  /// No more retries; `drained` is called once every queued line is written (or failed).
  void finish();
  /// Closes everything at once and cancels every timer.
  void stop();

  /// True while connected (and trusted).
  bool connected() const { return connected_; }
  /// The channel binding a login signs: the TLS exporter; zero with --plaintext.
  ChannelBinding channel_binding() const;
  /// The address the connection went to (the media rendezvous is on the same host).
  const boost::asio::ip::address& server_address() const { return server_address_; }
  /// "HOST:PORT" as given.
  std::string server() const { return settings_.host + ":" + settings_.port; }

 private:
  void start_tls();
  void tls_failed(const boost::system::error_code& ec);
  bool trust_server();
  void on_up();
  template <class F>
  void with_stream(F&& f);
  void read_line();
  template <class Stream>
  void read_line_from(Stream& stream);
  void write_next();
  void close_stream();

  boost::asio::io_context& io_;
  Settings settings_;
  Handlers on_;
  boost::asio::ip::tcp::socket socket_;  // the connection with --plaintext; with TLS, until the handshake takes it
  std::unique_ptr<boost::asio::ssl::context> tls_context_;  // null with --plaintext
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>
      retired_tls_;  // the last one's, until the next
  boost::asio::steady_timer handshake_timer_, reconnect_timer_;
  static constexpr std::size_t max_inbound_bytes = 1 << 20;  // a line from the server, at most
  std::array<char, 16 * 1024> read_buffer_{};
  LineFramer inbound_;                // bytes read and not yet a whole line or frame
  std::deque<std::string> outbound_;  // lines, each with its newline
  std::deque<std::string> frames_;    // tunnel frames, after every line
  uint64_t frames_dropped_ = 0;
  boost::asio::ip::address server_address_;
  int64_t backoff_ms_ = 0;
  bool tls_up_once_ = false;          // a handshake succeeded once: a later failure is a blip, retried
  bool handshake_timed_out_ = false;  // the handshake was cut by its timer
  bool connected_ = false;
  bool writing_ = false;
  bool finishing_ = false;  // finish() was called: no retries, `drained` when the queue empties
  bool stopped_ = false;
};

}  // namespace hailer::cli
