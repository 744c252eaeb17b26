// The server host on real sockets: Boost.Asio TCP for signaling (one JSON object per line) and
// UDP for the media rendezvous, one io_context thread, the steady clock. It implements HostPort
// and decides nothing the host or the core decides: it frames bytes, bounds every queue and
// reports what the sockets saw. The simulator never links this target.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "host/server_host.hpp"
#include "host/transport_rules.hpp"
#include "host/write_order.hpp"
#include "net/tls_context.hpp"

namespace hailer::net {

/// Where and how the server listens; every buffer is bounded.
struct NetConfig {
  std::string host = "127.0.0.1";  ///< address to bind both sockets to
  uint16_t tcp_port = 7700;        ///< signaling; 0 = any free port
  uint16_t udp_port = 7701;        ///< media rendezvous; 0 = any free port
  /// Bytes queued for one connection beyond which it is a slow reader and is closed.
  std::size_t max_outbound_bytes = 256 * 1024;
  /// How long a stopping server waits for clients to read their last messages.
  int64_t shutdown_flush_ms = 2'000;
  /// How long accepting pauses when the process or system is out of descriptors (or memory):
  /// retrying at once spins on the same error; the pause lets closing connections free some.
  int64_t accept_pause_ms = 100;
  /// Where what deserves an operator's eye is said (descriptors exhausted); may be empty.
  std::function<void(std::string_view)> warn;
  /// The calls port's TLS (net/tls_context.hpp); null = plaintext (--plaintext: tests and tools).
  SslContext tls;
  /// How long a client may take from its connect to the end of its TLS handshake.
  int64_t tls_handshake_timeout_ms = 5'000;
  /// TLS handshakes in progress from one address, and from everyone; more are closed at once.
  uint32_t max_handshakes_per_address = 16;
  uint32_t max_handshakes = 1'024;  ///< see max_handshakes_per_address
};

/// True when an accept failed because descriptors (or kernel memory) ran out: waiting helps,
/// retrying at once does not.
bool out_of_descriptors(const boost::system::error_code& ec);

/// A client connection of another transport (a WebSocket) that shares this server's host.
/// The transport reports what arrives through NetServer::deliver_* and its end through detach().
class Link {
 public:
  virtual ~Link() = default;
  /// Queues one message (a text frame).
  virtual void send(const SharedText& text) = 0;
  /// Queues one tunnel frame (a binary frame of a calls session): behind every message, the
  /// newest few kept for a slow reader (NetServer::max_queued_frames).
  virtual void send_frame(std::span<const uint8_t> bytes) = 0;
  /// Closes after what is queued, for `reason`; the transport calls detach() when done.
  virtual void close(CloseReason reason) = 0;
  /// Drops the connection now (a stopping server that waited long enough); calls detach().
  virtual void abort(CloseReason reason) = 0;
};

/// Counters of the socket layer (the host and core keep their own).
struct NetStats {
  uint64_t accepted = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;     ///< written to sockets, both faces (WebSocket: message payloads)
  uint64_t writes = 0;        ///< completed socket writes, both faces; fewer than messages when coalesced
  uint64_t slow_readers = 0;  ///< connections closed because their queue overflowed
  uint64_t long_lines = 0;    ///< connections closed for a line over the size limit
  uint64_t bad_frames = 0;    ///< connections closed for a tunnel frame over the size limit
  uint64_t datagrams_in = 0;
  uint64_t datagrams_out = 0;          ///< relayed call packets sent
  uint64_t datagrams_unsent = 0;       ///< relayed call packets the socket would not take (dropped)
  uint64_t tunnel_frames_out = 0;      ///< relayed call packets queued as tunnel frames (path c)
  uint64_t tunnel_frames_dropped = 0;  ///< tunnel frames dropped, oldest first, for a slow reader
  uint64_t accept_pauses = 0;          ///< accepts paused for want of descriptors
  uint64_t tls_handshakes = 0;         ///< TLS handshakes completed on the calls port
  uint64_t tls_failures = 0;           ///< TLS handshakes that failed (a bad hello, a refused certificate, a reset)
  uint64_t tls_timeouts = 0;           ///< TLS handshakes not finished within tls_handshake_timeout_ms
  uint64_t tls_refused = 0;            ///< connections closed at once: too many handshakes from the address or in all
  uint64_t plaintext_refused = 0;      ///< plaintext on the TLS calls port (told tls_required)
  uint64_t tls_on_plaintext = 0;       ///< a TLS hello on the plaintext calls port (closed)
  uint64_t tls_buffers_kept = 0;       ///< TLS connections that went busy and kept their record buffers
  uint64_t tls_buffers_released = 0;   ///< busy TLS connections that went quiet and gave them back
};

/// Listens, accepts, reads lines and datagrams, writes, and runs the host's timer.
class NetServer final : public HostPort {
 public:
  /// Binds both sockets (throws boost::system::system_error when it cannot). Every session's
  /// secrets come from `secrets` (the OS CSPRNG: OsSecrets). The host's played audio and
  /// recordings go to `media` straight from the host (nullptr: discarded); the server never
  /// relays them.
  NetServer(boost::asio::io_context& io, NetConfig net, const Config& config, SecretSource& secrets,
            HostConfig host_config, MediaSink* media = nullptr);
  ~NetServer() override;
  NetServer(const NetServer&) = delete;
  NetServer& operator=(const NetServer&) = delete;

  /// Starts accepting and receiving.
  void start();
  /// Tells every client (server_closing), flushes for at most shutdown_flush_ms, closes all
  /// sockets, then calls `stopped` (from the io_context, once every client is gone).
  void stop(std::function<void()> stopped = {});

  /// The TCP endpoint really bound (port 0 resolved).
  boost::asio::ip::tcp::endpoint tcp_endpoint() const;
  /// The UDP endpoint really bound.
  boost::asio::ip::udp::endpoint udp_endpoint() const;
  /// The host (read-only: counters, the core).
  const ServerHost& host() const { return host_; }
  /// Registers an observer of every core event (journal, logs).
  void set_observer(HostObserver* observer) { host_.set_observer(observer); }
  /// Where claimed accounts are kept (the accounts database).
  void set_account_store(AccountStore* store) { host_.set_account_store(store); }
  /// Where invites are checked (`--accounts invite`); not owned.
  void set_invite_store(InviteStore* store) { host_.set_invite_store(store); }
  /// Gives the core the accounts kept from earlier runs; before start().
  void load_accounts(std::vector<Account> accounts) { host_.load_accounts(now(), std::move(accounts)); }
  /// Socket counters.
  const NetStats& stats() const { return stats_; }
  /// Connections open now.
  std::size_t connection_count() const { return connections_.size() + links_.size(); }
  /// The io_context the server runs on (for transports sharing it).
  boost::asio::io_context& io() { return io_; }
  /// The server's clock: microseconds since it started.
  Time now() const;
  /// True once stop() was called: transports accept nothing new.
  bool stopping() const { return stopping_; }

  /// A connection of another transport was accepted from `address`: its session id.
  /// `instructor_cookie` when the transport saw the instructor's cookie on it; `tls` when it is
  /// encrypted (it then gets a channel binding of its own, for logins).
  SessionId attach(std::shared_ptr<Link> link, const std::string& address, bool instructor_cookie = false,
                   bool tls = false);
  /// A text message arrived on an attached link.
  void deliver_text(SessionId session, std::string_view text);
  /// A binary message arrived on an attached link.
  void deliver_binary(SessionId session, std::span<const uint8_t> bytes);
  /// An attached link finished writing `bytes` to its socket (counted with the TCP writes).
  void wrote(std::size_t bytes) {
    ++stats_.writes;
    stats_.bytes_out += bytes;
  }
  /// An attached link dropped its oldest tunnel frame for a slow reader.
  void frame_dropped() { ++stats_.tunnel_frames_dropped; }
  /// The link is gone (the host hears it later, never from inside a host call).
  void detach(SessionId session, CloseReason reason);

  // HostPort
  void send_text(SessionId to, std::string_view text) override;
  void send_broadcast(std::span<const SessionId> to, const SharedText& text) override;
  void close(SessionId session, CloseReason reason) override;
  void arm_timer(std::optional<Time> at) override;
  void send_datagram(const MediaEndpoint& to, std::span<const uint8_t> bytes) override;
  void send_frame(SessionId to, std::span<const uint8_t> bytes) override;
  /// Tunnel frames one connection keeps while its reader is slow (the newest; 160 ms of audio).
  static constexpr std::size_t max_queued_frames = 8;

 private:
  struct Connection;

  uint16_t bind();
  void accept();
  void watch(const std::shared_ptr<Connection>& c);
  void unwatch(Connection& c);
  void arm_reads();
  void read_ready();
  void read_one(SessionId id);
  void start_handshake(boost::asio::ip::tcp::socket socket, const std::string& address);
  void read_tls(const std::shared_ptr<Connection>& c);
  ssize_t write_some(Connection& c);
  void handshake(const std::shared_ptr<Connection>& c);
  void drop_handshake(const std::shared_ptr<Connection>& c);
  void expire_handshakes();
  void on_bytes(const std::shared_ptr<Connection>& c, std::string_view data);
  void write(const std::shared_ptr<Connection>& c);
  void finish(std::shared_ptr<Connection> c, CloseReason reason);
  void receive();
  void drain_datagrams();
  void on_timer();

  boost::asio::io_context& io_;
  NetConfig net_;
  NullMediaSink no_media_;  // where the host's media goes when no sink was given
  std::chrono::steady_clock::time_point start_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer flush_deadline_;
  boost::asio::steady_timer accept_pause_;
  bool accept_paused_ = false;  // said once per shortage, not per failed accept
  // The TCP connections' reads: their own epoll set (level-triggered), which Asio waits on.
  static constexpr std::size_t max_reads_per_wake = 64;
  boost::asio::posix::stream_descriptor readable_;
  bool reads_armed_ = false;
  bool in_read_round_ = false;            // read_ready is reading: what it sends is written at its end
  std::array<char, 4096> read_buffer_{};  // one for all: each read is handled before the next
  // TLS handshakes in progress: their places by address, and their deadlines in the order they
  // began (one timeout for all, so the front is always the first due).
  AddressCaps handshakes_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, SessionId>> handshake_deadlines_;
  boost::asio::steady_timer handshake_timer_;
  // OpenSSL's record buffers (about 34 KiB a connection) are given back after every message, so
  // 10,000 idle sessions hold none; allocating them again for every record of a busy one costs
  // the notify path a tenth of its time. A connection read twice within tls_busy_gap keeps them,
  // until a sweep (every tls_busy_gap) finds it has not been read since the one before.
  static constexpr std::chrono::milliseconds tls_busy_gap{250};
  std::vector<SessionId> kept_buffers_;
  boost::asio::steady_timer buffer_sweep_;
  void note_tls_read(Connection& c);
  void sweep_tls_buffers();
  void arm_buffer_sweep();
  // Datagrams are read in batches (recvmmsg): under a relay's load one wake reads many.
  static constexpr std::size_t datagram_batch = 32;
  std::array<std::array<uint8_t, 2048>, datagram_batch> datagrams_{};
  std::array<boost::asio::ip::udp::endpoint, datagram_batch> datagram_from_{};
  std::unordered_map<SessionId, std::shared_ptr<Connection>, SessionIdHash>
      connections_;  // hashed: a lookup per message
  std::map<SessionId, std::shared_ptr<Link>> links_;
  uint64_t next_session_ = 1;
  // Broadcasts wait until the io_context has run what is already queued (the writes of the
  // messages sent before them, e.g. the grant to the next talker); once one waits, every later
  // send waits behind it, so each connection keeps its order.
  DeferredSends deferred_;
  void send_now(SessionId to, std::string_view text, const SharedText& shared);
  void flush_deferred();
  // Connections with messages queued by the current event, written together after it, the
  // newest first (host/write_order.hpp).
  WriteOrder<std::shared_ptr<Connection>> dirty_;
  void flush_dirty();
  // Write buffers of connections gone idle, lent to the next that sends (bounded: net_server.cpp).
  std::vector<std::string> spare_;
  void take_spare(std::string& buffer);
  void give_back(std::string& buffer);
  uint32_t max_line_bytes_;
  bool stopping_ = false;
  std::function<void()> stopped_;  // stop()'s caller, told once every client is gone
  void stop_if_done();
  NetStats stats_;
  ServerHost host_;  // last: it may call the port while constructed
};

}  // namespace hailer::net
