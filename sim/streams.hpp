// What the simulator measures and logs, apart from what ships: the notices each participant
// received, the wire's message log, each direction of audio (what was spoken, what was heard,
// mouth-to-ear delay, concealment) and the turns the server recorded.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/time.hpp"
#include "media/io/playout.hpp"
#include "media/stream_stats.hpp"
#include "sim/deferred_decoding.hpp"

namespace hailer::sim {

/// A message a participant received (or a client notice such as "disconnected").
struct Notice {
  int64_t at_us = 0;                ///< when the participant read it
  std::optional<int64_t> cause_us;  ///< when what caused it happened (a request's send time, a timer's deadline)
  std::string to;
  std::string type;
  nlohmann::json body;
};

/// One message on the signaling wire, as the server handled it.
struct LoggedMessage {
  int64_t at_us = 0;         ///< when the server read it (client -> server) or sent it (server -> client)
  int64_t other_end_us = 0;  ///< when the client sent it, or when it reaches the client
  std::string from;
  std::string to;
  std::string text;
};

/// One direction of audio: a call leg (sender -> peer) or a PTT turn (student -> speaker).
struct AudioStream {
  std::string from;
  std::string to;
  int64_t started_us = 0;
  std::vector<int16_t> sent;              ///< what the sender spoke
  std::vector<int16_t> received;          ///< what was played, from playout start
  std::vector<int64_t> m2e_us;            ///< mouth-to-ear per played frame
  std::vector<bool> loss_trace;           ///< per played slot: concealed or not
  std::vector<int64_t> concealed_at_ms;   ///< when frames were concealed, for the plots
  std::map<uint32_t, Time> capture_time;  ///< stream timestamp -> when its first sample was spoken
  uint64_t dropped_foreign = 0;           ///< datagrams from someone who is not the current peer
  uint64_t frames_held = 0;               ///< calls: frames spoken with no path to the peer, never sent
  uint64_t packets_direct = 0;            ///< calls: packets sent peer to peer (path a)
  uint64_t packets_relay = 0;             ///< calls: packets sent through the relay's UDP port (path b)
  uint64_t packets_tunnel = 0;            ///< calls: packets sent as tunnel frames (path c)
  uint64_t path_switches = 0;             ///< calls: times the sender changed path
  std::string path = "none";              ///< calls: the sender's path for its last packet
  int64_t first_played_us = -1;           ///< the first frame of the sender's audio played (-1: none)
  std::unique_ptr<Playout> playout;       ///< calls: the receiver's playout (PTT turns play in the server's speaker)
  std::shared_ptr<DecodeLog> decode_log;  ///< calls: what the playout asked its decoder, decoded after the run
  StreamStats final_stats;                ///< PTT: the speaker's statistics when the turn finished

  /// The receive statistics, wherever they are kept.
  const StreamStats& stats() { return playout ? playout->stats() : final_stats; }
  /// Notes one played frame: its audio, whether it was concealed, and its mouth-to-ear delay.
  void played(Time now, PlayoutKind kind, uint32_t timestamp, const std::vector<int16_t>& pcm);
};

/// A turn recorded by the server.
struct Recording {
  std::string file;
  std::string room;
  int64_t started_us = 0;
  int64_t ended_us = -1;
  std::vector<int16_t> pcm;
};

}  // namespace hailer::sim
