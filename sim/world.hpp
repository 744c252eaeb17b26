// The simulated world of one scenario run: the shipped server host behind a simulated port,
// simulated clients around the shipped protocol client and playout, all on one virtual clock
// over the sans-IO network. The world wires them together, runs the scenario's steps and
// faults, and keeps what is measured: notices, the message log, audio streams, recordings.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.hpp"
#include "sim/audio_sources.hpp"
#include "sim/event_queue.hpp"
#include "sim/network.hpp"
#include "sim/scenario.hpp"
#include "sim/streams.hpp"

namespace hailer::sim {

/// An invariant broken inside the world; the runner reports it with the seed and time.
class InvariantBroken : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SimulatedClient;
class SimulatedServer;
class Attacker;

/// The world of one scenario run.
class World {
 public:
  /// Builds the world; `fixtures_dir` resolves relative audio file names; `cache` may be shared.
  World(const Scenario& scenario, const std::string& fixtures_dir, MediaCache* cache = nullptr);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  /// Runs until the scenario's duration; `progress` is told the virtual fraction done now and then.
  void run(const std::function<void(double)>& progress = {});

  /// The scenario being run.
  const Scenario& scenario() const { return scenario_; }
  /// The virtual clock and its events.
  EventQueue& queue() { return queue_; }
  /// The network model.
  Network& network() { return network_; }
  /// The server.
  SimulatedServer& server() { return *server_; }
  /// The server, read-only.
  const SimulatedServer& server() const { return *server_; }
  /// The participant of that name.
  SimulatedClient& client(const std::string& name);
  /// The participant of that name, or null.
  SimulatedClient* find_client(const std::string& name);
  /// Where audio comes from.
  AudioSources& sources() { return sources_; }

  /// Every notice, in the order received.
  const std::vector<Notice>& notices() const { return notices_; }
  /// Every message the server handled or sent, in that order.
  const std::vector<LoggedMessage>& messages() const { return messages_; }
  /// Every audio stream, in creation order.
  std::deque<AudioStream>& streams() { return streams_; }
  /// When each step or fault label happened.
  const std::map<std::string, int64_t>& label_times_us() const { return label_times_; }
  /// Request -> reply round trips seen by clients.
  const std::vector<int64_t>& reply_rtts_us() const { return reply_rtts_; }
  /// The last scripted step or fault executed, for failure messages ("steps[3] alice call").
  const std::string& last_step() const { return last_step_; }

  // For the parts of the world.
  /// A new measured stream of audio from `from` to `to` ("speaker" for PTT turns).
  AudioStream& new_stream(const std::string& from, const std::string& to);
  /// Notes a notice.
  void record_notice(Notice n) { notices_.push_back(std::move(n)); }
  /// Notes a message on the wire.
  void log_message(LoggedMessage m) { messages_.push_back(std::move(m)); }
  /// Notes a reply's round trip.
  void record_rtt(int64_t us) { reply_rtts_.push_back(us); }
  /// A fresh connection number.
  uint64_t next_connection() { return ++last_connection_; }
  /// A datagram from `from` (its port `from_port`) arrives at `to`'s `port`: the attacker, if any, taps it.
  void tap(const std::string& from, uint16_t from_port, const std::string& to, uint16_t port,
           const std::vector<uint8_t>& datagram, AudioStream* stream);
  /// What the server writes to `to`, after the attacker (swap_keys) had its way with it.
  std::string server_text_to(const std::string& to, const std::string& text);
  /// The scenario's attacker, or null.
  const Attacker* attacker() const { return attacker_.get(); }
  /// Every user (not the attacker), by name.
  const std::map<std::string, std::unique_ptr<SimulatedClient>>& clients() const { return clients_; }

 private:
  void schedule_scenario();
  void run_fault(const Fault& f);
  // Encodes, in parallel, the sources whose packets the participants will send.
  void prepare_sources();
  // Decodes what is left of every call leg's logged decoder calls into its heard track, legs in parallel.
  void decode_streams();

  Scenario scenario_;
  MediaCache own_cache_;
  AudioSources sources_;
  EventQueue queue_;
  Network network_;
  std::unique_ptr<SimulatedServer> server_;
  std::map<std::string, std::unique_ptr<SimulatedClient>> clients_;
  std::unique_ptr<Attacker> attacker_;
  std::vector<Notice> notices_;
  std::vector<LoggedMessage> messages_;
  std::deque<AudioStream> streams_;
  BackgroundDecoding decoding_;  // decodes the legs' logs while the run goes on
  std::map<std::string, int64_t> label_times_;
  std::vector<int64_t> reply_rtts_;
  uint64_t last_connection_ = 0;
  std::string last_step_ = "none yet";
};

}  // namespace hailer::sim
