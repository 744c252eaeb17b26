// The PTT speaker path: one playout stream per turn (jitter buffer + the talker's decoder, so a
// missing frame is concealed by the codec, not replaced by zeros), all pulled by one playout
// clock every 20 ms. Within a room turns play one after the other, never on top of each other:
// a new talker's first frames wait while the previous turn's tail drains. What each turn plays
// is what its recording holds.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/events.hpp"
#include "host/media_sink.hpp"
#include "media/io/playout.hpp"
#include "protocol/ptt_frame.hpp"

namespace hailer {

/// A voice level a turn played at, for the core's silence timer.
struct PlayedLevel {
  SessionId talker;
  int32_t level_dbfs = -100;
};

/// Counters of the speaker path.
struct SpeakerStats {
  uint64_t frames_in = 0;      ///< frames accepted from holders
  uint64_t frames_played = 0;  ///< frames decoded and played (incl. FEC and concealment)
  uint64_t frames_concealed = 0;
  uint64_t turns = 0;
  uint64_t ticks = 0;
  uint64_t late_ticks = 0;  ///< ticks run to catch up after the clock fell behind
};

/// Every turn being played, and the clock that plays them.
class Speaker {
 public:
  /// A speaker whose turns buffer with `config`.
  explicit Speaker(JitterBufferConfig config);

  /// A talker was granted the floor: its frames are admitted from now on.
  void open(Time now, const RouteSpeaker& route);
  /// The talker's turn ended: what is buffered plays out, then the turn is finished.
  void close(SessionId talker);
  /// True while frames from `talker` are admitted.
  bool routed(SessionId talker) const;
  /// Every talker whose frames are admitted now.
  std::set<SessionId> routed_talkers() const;
  /// Attaches recording `recording` to the talker's current turn.
  void record(SessionId talker, uint64_t recording);
  /// Ends the recording of the talker's current turn now (not a frame more), if it has one.
  void stop_recording(SessionId talker, MediaSink& sink);
  /// The talker whose turn recording `recording` holds, while that turn is playing.
  std::optional<SessionId> talker_of(uint64_t recording) const;
  /// Adds a frame of the talker's current turn; the talker must be routed.
  void insert(Time now, SessionId talker, const PttFrame& frame);
  /// When the clock must tick next, if any turn is playing or waiting.
  std::optional<Time> next_tick() const;
  /// Runs every tick due at `now`: plays through `sink`, records, and appends the voice levels
  /// of the current talkers to `levels`.
  void tick(Time now, MediaSink& sink, std::vector<PlayedLevel>& levels);
  /// Counters so far.
  const SpeakerStats& stats() const { return stats_; }
  /// The receive statistics of the talker's latest turn still playing, if any, as if it ended
  /// now (what is buffered counts as unplayed).
  std::optional<StreamStats> turn_stats(SessionId talker);

 private:
  struct Turn {
    SessionId talker;
    std::string room;
    bool routed = true;
    std::optional<uint64_t> recording;
    Playout playout;
    bool have_sequence = false;
    int64_t highest_sequence = 0;  // extended (wrap-aware)
    uint16_t highest_raw = 0;
    int64_t first_sequence = 0;
    Turn(SessionId t, std::string r, JitterBufferConfig c, const AudioFormat& f);
  };

  void tick_once(Time at, MediaSink& sink, std::vector<PlayedLevel>& levels);
  bool finished(Turn& t) const;
  Turn* current_turn(SessionId talker);

  JitterBufferConfig config_;
  std::deque<Turn> turns_;  // in the order they were granted
  std::optional<Time> next_tick_;
  SpeakerStats stats_;
  std::vector<int16_t> mix_;
  std::vector<TalkerFrame> talkers_;
  std::vector<std::vector<int16_t>> pcm_;  // keeps the talkers' frames alive during play()
};

}  // namespace hailer
