// The simulated server: the shipped ServerHost behind a HostPort made of the virtual network,
// the virtual clock and memory. Everything hailer-server's Asio/Beast port does to the host,
// this does too (opens, text, binary frames, datagrams, closes with reasons, the timer);
// everything the host does to the world lands here: messages onto simulated streams, the
// speaker's frames into measurements, recordings into memory. After every feed it checks the
// routes against the core: the speaker plays exactly the floor holders, calls route exactly
// the connected pairs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "host/server_host.hpp"
#include "host/transport_rules.hpp"
#include "host/write_order.hpp"
#include "sim/streams.hpp"

namespace hailer::sim {

class World;

/// The simulated server's UDP port (media proofs and the relay), as hailer-server's default.
inline constexpr uint16_t server_udp_port = 7701;

/// The server of one simulated world.
class SimulatedServer final : public HostPort, public MediaSink, public HostObserver {
 public:
  /// A server with the scenario's config; `seed` drives the stand-ins for its secrets.
  SimulatedServer(World& world, const Config& config, uint64_t seed);
  SimulatedServer(const SimulatedServer&) = delete;
  SimulatedServer& operator=(const SimulatedServer&) = delete;

  // ---------------------------------------------------------------- arrivals from the network

  /// A connection from `client` arrived (it was opened at `sent_at`).
  void connect(uint64_t conn, const std::string& client, Time sent_at);
  /// A message arrived on a connection.
  void text(uint64_t conn, const std::string& text, Time sent_at);
  /// A binary message (PTT audio) arrived on a connection.
  void binary(uint64_t conn, const std::vector<uint8_t>& message, Time sent_at);
  /// A datagram arrived at the UDP port from `from`.
  void datagram(const MediaEndpoint& from, const std::vector<uint8_t>& bytes, Time sent_at);
  /// A tunnel frame (a relay packet, path c) arrived on a connection.
  void tunnel_frame(uint64_t conn, const std::vector<uint8_t>& bytes, Time sent_at);
  /// The peer closed or lost a connection.
  void peer_closed(uint64_t conn, CloseReason reason, Time sent_at);

  /// Ends the run: recordings still open are kept as they are; turns still playing report.
  void finish(Time end);

  /// The host, read-only.
  const ServerHost& host() const { return host_; }
  /// Every finished recording, in order.
  const std::vector<Recording>& recordings() const { return finished_; }

  // ---------------------------------------------------------------- HostPort
  void send_text(SessionId to, std::string_view text) override;
  void send_broadcast(std::span<const SessionId> to, const SharedText& text) override;
  void close(SessionId session, CloseReason reason) override;
  void arm_timer(std::optional<Time> at) override;
  void send_datagram(const MediaEndpoint& to, std::span<const uint8_t> bytes) override;
  void send_frame(SessionId to, std::span<const uint8_t> bytes) override;

  // ---------------------------------------------------------------- MediaSink
  void play(const SpeakerFrame& frame) override;
  std::optional<RecordingStopReason> record_start(uint64_t recording, const std::string& room,
                                                  const std::string& file_name) override;
  std::optional<RecordingStopReason> record_append(uint64_t recording, std::span<const int16_t> pcm) override;
  void record_stop(uint64_t recording) override;
  void turn_ended(SessionId talker, const StreamStats& stats) override;

  // ---------------------------------------------------------------- HostObserver
  void fed(Time now, const Event& event, std::span<const Effect> effects) override;

 private:
  /// A message waiting in the port for its connection's next write, with what caused it.
  struct Pending {
    SharedText text;
    Time cause;
  };
  void queue_out(SessionId to, const SharedText& text);
  void flush();
  void write(uint64_t conn);
  void cut(uint64_t conn, CloseReason reason);
  Time now() const;
  void check_routes() const;

  World& w_;
  SeededSecrets secrets_;  // before host_: the host draws from it
  ServerHost host_;
  std::map<uint64_t, std::string> conns_;             // open in the port's view -> client name
  std::map<uint64_t, OutboundBudget> budgets_;        // bytes sent to each and not yet read
  std::set<uint64_t> cut_;                            // closed by the port itself (slow readers)
  std::map<uint64_t, std::vector<Pending>> pending_;  // queued by the current event, not yet on the network
  WriteOrder<uint64_t> dirty_;                        // connections with pending messages, in the order queued
  DeferredSends deferred_;                            // broadcasts held until the event is over
  std::map<uint64_t, Recording> recording_;
  std::vector<Recording> finished_;
  std::map<SessionId, AudioStream*> turns_;  // the stream measuring each talker's current turn
  Time cause_;                               // when what is being fed happened (for notification latency)
  uint64_t timer_generation_ = 0;
};

}  // namespace hailer::sim
