// The simulated world: the real core behind a simulated server adapter, simulated clients for
// both faces that speak audio (real Opus, real jitter buffers) and record what they hear, all
// on one virtual clock over the sans-IO network. Invariants are checked after every core event.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adapters/opus_codec.hpp"
#include "core/core.hpp"
#include "core/jitter_buffer.hpp"
#include "core/rtp.hpp"
#include "event_queue.hpp"
#include "network.hpp"
#include "scenario.hpp"

namespace hailer::sim {

/// A message a participant received (or "disconnected"), as decoded JSON.
struct Notice {
  int64_t at_us = 0;
  std::string to;
  std::string type;
  nlohmann::json body;
};

/// One direction of audio: a call leg (sender -> peer) or a PTT turn (student -> speaker).
struct AudioStream {
  std::string from;
  std::string to;
  int64_t started_us = 0;
  std::vector<int16_t> sent;      ///< what the sender encoded
  std::vector<int16_t> received;  ///< what the receiver played, from its playout start
  std::vector<int64_t> m2e_us;    ///< mouth-to-ear per played frame
  std::vector<bool> loss_trace;   ///< per playout slot: concealed or not
  std::vector<int64_t> concealed_at_ms;  ///< when frames were concealed, for the plots
  JitterBuffer jitter;
  std::unique_ptr<OpusFrameDecoder> decoder;
  std::map<uint32_t, Time> capture_time;  ///< RTP timestamp -> when its first sample was spoken
  uint64_t dropped_foreign = 0;   ///< packets from a sender that is not the current peer

  explicit AudioStream(JitterBufferConfig c) : jitter(c) {}
};

/// A turn recorded by the server (StartRecording .. StopRecording).
struct Recording {
  std::string file;
  std::string room;
  int64_t started_us = 0;
  int64_t ended_us = -1;
  std::vector<int16_t> pcm;
};

/// An invariant broken inside the world; the runner reports it with the seed and time.
class InvariantBroken : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Client;
class Server;

/// Audio sources and their Opus encodings, shared by the runs of one process (scenarios reuse
/// fixtures). Keyed by everything that determines the content, so sharing changes no result.
struct MediaCache {
  std::map<std::string, std::vector<int16_t>> sources;                  ///< by fixtures dir + spec
  std::map<std::string, std::vector<std::vector<uint8_t>>> encoded;     ///< by source key + Opus settings
};

/// The world of one scenario run.
class World {
 public:
  /// Builds the world; `fixtures_dir` resolves relative audio file names; `cache` may be shared.
  World(const Scenario& scenario, const std::string& fixtures_dir, MediaCache* cache = nullptr);
  ~World();

  /// Runs until the scenario's duration; `progress` is told the virtual fraction done now and then.
  void run(const std::function<void(double)>& progress = {});

  const Scenario& scenario() const { return scenario_; }
  EventQueue& queue() { return queue_; }
  Network& network() { return network_; }
  Server& server() { return *server_; }
  Client& client(const std::string& name);
  /// The client reachable at a media address (its name), or null.
  Client* find_client(const std::string& name);
  /// Every notice, in the order received.
  const std::vector<Notice>& notices() const { return notices_; }
  /// Every audio stream, in creation order.
  std::deque<AudioStream>& streams() { return streams_; }
  /// Every finished recording, in order.
  const std::vector<Recording>& recordings() const;
  /// When each step or fault label happened.
  const std::map<std::string, int64_t>& label_times_us() const { return label_times_; }
  /// Request -> reply round trips seen by clients.
  const std::vector<int64_t>& reply_rtts_us() const { return reply_rtts_; }
  /// The core's counters at the end.
  const CoreStats& core_stats() const;
  /// The last scripted step or fault executed, for failure messages ("steps[3] alice call").
  const std::string& last_step() const { return last_step_; }

  // For the parts of the world.
  AudioStream& new_stream(const std::string& from, const std::string& to);
  void record_notice(Notice n) { notices_.push_back(std::move(n)); }
  void record_rtt(int64_t us) { reply_rtts_.push_back(us); }
  const std::vector<int16_t>& audio_source(const std::string& spec);
  /// The source encoded once, one Opus packet per 20 ms frame (the source is padded to whole
  /// frames); senders loop these packets instead of running an encoder per frame.
  const std::vector<std::vector<uint8_t>>& encoded_source(const std::string& spec);
  uint64_t next_connection() { return ++last_connection_; }

 private:
  void schedule_scenario();

  Scenario scenario_;
  std::string fixtures_dir_;
  EventQueue queue_;
  Network network_;
  std::unique_ptr<Server> server_;
  std::map<std::string, std::unique_ptr<Client>> clients_;
  std::vector<Notice> notices_;
  std::deque<AudioStream> streams_;
  std::map<std::string, int64_t> label_times_;
  std::vector<int64_t> reply_rtts_;
  MediaCache own_cache_;
  MediaCache* cache_;
  uint64_t last_connection_ = 0;
  std::string last_step_ = "none yet";
};

}  // namespace hailer::sim
