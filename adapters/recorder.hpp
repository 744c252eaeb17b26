// Recordings of PTT turns: one WAV per turn, 48 kHz 16-bit mono, `<name>_<serial>.wav` in one
// folder. The header is rewritten as the file grows (libsndfile's auto header update), so a
// server killed mid-turn leaves a valid file holding the audio up to the kill.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

namespace hailer {

/// The serial after the highest `<name>_<serial>.wav` in `dir` (1 when there is none), so a
/// restarted server never reuses a file name.
uint64_t next_recording_serial(const std::string& dir);

/// Writes the recordings of the turns being played.
class Recorder {
 public:
  /// Records into `dir` (created when missing; throws std::runtime_error when it cannot be).
  explicit Recorder(std::string dir);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Opens `file_name` (a bare name) for recording `id`; false (and nothing recorded) when the
  /// file cannot be created.
  bool start(uint64_t id, const std::string& file_name);
  /// Appends 48 kHz mono samples.
  void append(uint64_t id, std::span<const int16_t> pcm);
  /// Closes the recording.
  void stop(uint64_t id);
  /// The folder.
  const std::string& dir() const { return dir_; }

 private:
  struct Open;
  std::string dir_;
  std::map<uint64_t, std::unique_ptr<Open>> open_;
};

}  // namespace hailer
