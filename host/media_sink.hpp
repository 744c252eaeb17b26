// Where the server's speaker path delivers what it makes: 20 ms frames for the speaker, the
// turns' recordings and each finished turn's statistics. hailer-server plugs a sound device and
// WAV files in; the simulator measures and keeps recordings in memory; tests record the calls.
// Transports never see any of it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/time.hpp"
#include "core/events.hpp"
#include "media/jitter_buffer.hpp"
#include "media/stream_stats.hpp"

namespace hailer {

/// What one talker contributed to a speaker frame.
struct TalkerFrame {
  SessionId talker;
  PlayoutKind kind = PlayoutKind::normal;
  uint32_t timestamp = 0;  ///< the frame's position in the talker's stream (sequence x 960)
  std::span<const int16_t> pcm;
};

/// 20 ms for the speaker: the mix to play, and who is in it.
struct SpeakerFrame {
  Time at;
  std::span<const int16_t> mix;  ///< 960 samples, 48 kHz mono
  std::span<const TalkerFrame> talkers;
};

/// The speaker and the recorder as the host sees them. Like a HostPort, a sink must not call
/// back into the host from inside these functions; a recording that cannot start or go on says
/// why in its return value, and the host tells the talker's instructors once its call is done.
class MediaSink {
 public:
  virtual ~MediaSink() = default;
  /// Plays 20 ms on the speaker.
  virtual void play(const SpeakerFrame& frame) = 0;
  /// Starts recording turn `recording` to `file_name` (a bare name) for `room`; nothing when it
  /// does, else why not (the turn goes on unrecorded).
  virtual std::optional<RecordingStopReason> record_start(uint64_t recording, const std::string& room,
                                                          const std::string& file_name) = 0;
  /// Appends played audio (48 kHz mono) to a recording; nothing while it records, else why it stopped.
  virtual std::optional<RecordingStopReason> record_append(uint64_t recording, std::span<const int16_t> pcm) = 0;
  /// Finishes a recording.
  virtual void record_stop(uint64_t recording) = 0;
  /// A talker's turn finished playing (its tail included), with how it went.
  virtual void turn_ended(SessionId talker, const StreamStats& stats) = 0;
};

/// A sink with no speaker and no recorder: everything is discarded (a server run without them).
class NullMediaSink final : public MediaSink {
 public:
  /// Discards the frame.
  void play(const SpeakerFrame&) override {}
  /// Records nothing, successfully.
  std::optional<RecordingStopReason> record_start(uint64_t, const std::string&, const std::string&) override {
    return std::nullopt;
  }
  /// Discards the audio.
  std::optional<RecordingStopReason> record_append(uint64_t, std::span<const int16_t>) override { return std::nullopt; }
  /// Nothing to finish.
  void record_stop(uint64_t) override {}
  /// Nothing to report.
  void turn_ended(SessionId, const StreamStats&) override {}
};

}  // namespace hailer
