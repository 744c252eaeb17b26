// The classroom's web face, inside hailer-server: Boost.Beast HTTP serving the pages and the
// recordings, and WebSocket on /ws carrying the JSON protocol (text frames) and audio (binary
// frames) to the same host and core as the TCP signaling. One port speaks both HTTPS/WSS and
// plain HTTP/WS (told apart by the first byte). Beast lives in web_server.cpp only: it is the
// heaviest thing to compile in the project.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/net_server.hpp"
#include "net/tls_cert.hpp"

namespace hailer::net {

/// Where and how the web face listens; every input bounded.
struct WebConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;        ///< 0 = any free port
  std::string web_root;        ///< the pages (apps/web)
  std::string recordings_dir;  ///< served to the instructor; empty = none
  /// The instructor's secret (empty: the instructor's pages are open to all). The page trades it
  /// once for a cookie (POST /api/instructor/session); recordings need the cookie, or the token
  /// as "Authorization: Bearer" (tools), never in a URL.
  std::string instructor_token;
  /// Wrong instructor tokens one address may give per minute over HTTP; then 429.
  uint32_t max_token_failures_per_address_per_minute = 5;
  /// Host names and addresses the pages are served under: with the bound port, the origins a
  /// WebSocket may come from (a page of any other origin gets 403 before the upgrade).
  std::vector<std::string> served_hosts;
  /// More origins allowed to open the WebSocket ("https://class.example.org"), --allowed-origin.
  std::vector<std::string> allowed_origins;
  /// Where the web face says what deserves an operator's eye (wrong tokens, refused origins).
  std::function<void(std::string_view)> warn;
  std::optional<TlsFiles> tls;        ///< HTTPS/WSS when set (plain stays available)
  uint32_t max_message_bytes = 4096;  ///< largest text frame
  std::size_t max_outbound_bytes = 256 * 1024;
  uint32_t max_connections_per_address = 64;  ///< WebSockets open from one address (503 beyond)
  uint32_t max_upgrades_per_second = 2000;    ///< new WebSockets per second, all clients together (503 beyond)
  /// New WebSockets per second from one address (a bucket of two seconds' worth), so one address
  /// cannot spend the budget everyone shares.
  uint32_t max_upgrades_per_address_per_second = 20;
  /// HTTP(S) connections not (yet) WebSockets: page loads, TLS handshakes, keep-alive. Beyond
  /// either cap a new connection is closed at once, so they cannot eat the descriptors the
  /// sessions need.
  uint32_t max_http_connections = 512;
  uint32_t max_http_connections_per_address = 64;
  /// A keep-alive connection idle this long after its last answer is closed.
  int64_t http_idle_ms = 5'000;
  /// How long accepting pauses when descriptors ran out (see NetConfig::accept_pause_ms).
  int64_t accept_pause_ms = 100;
  /// A WebSocket that sends nothing for this long is cut at the socket, whatever it is doing (the
  /// core drops it at the heartbeat before; this also ends a close handshake a client never
  /// finishes, e.g. after it broke the protocol and keeps the TCP connection open).
  int64_t idle_cut_ms = 35'000;
};

/// Counters of the web face.
struct WebStats {
  uint64_t http_requests = 0;
  uint64_t websockets = 0;
  uint64_t refused_per_address = 0;
  uint64_t refused_rate = 0;
  uint64_t refused_origin = 0;  ///< upgrades from a page of a foreign origin (403)
  uint64_t refused_http = 0;    ///< connections closed at once: the HTTP caps were reached
  uint64_t accept_pauses = 0;   ///< accepts paused for want of descriptors
  uint64_t token_failures = 0;  ///< wrong instructor tokens over HTTP
  uint64_t token_limited = 0;   ///< instructor requests refused for too many wrong tokens (429)
};

/// The HTTP + WebSocket listener.
class WebServer {
 public:
  /// Binds (throws boost::system::system_error when it cannot).
  WebServer(NetServer& server, WebConfig config);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  /// Starts accepting.
  void start();
  /// Stops accepting (open WebSockets are closed by NetServer::stop through the host).
  void stop();
  /// The endpoint really bound.
  boost::asio::ip::tcp::endpoint endpoint() const;
  /// The origins whose pages may open the WebSocket (lowercase, "https://host:port").
  const std::vector<std::string>& origins() const;
  /// HTTP(S) connections open now (not WebSockets).
  uint32_t http_connections() const;
  /// Counters.
  const WebStats& stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hailer::net
