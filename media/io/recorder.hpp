// Recordings of PTT turns: one WAV per turn, 48 kHz 16-bit mono, `<name>_<serial>.wav` in one
// folder. The header is rewritten as the file grows (libsndfile's auto header update), so a
// server killed mid-turn leaves a valid file holding the audio up to the kill.
//
// What students say is theirs: the folder is made 0750 and refused when others may write to it,
// each file is made 0640 with O_CREAT|O_EXCL|O_NOFOLLOW (a link planted at its name is never
// written through, nor an existing file overwritten), and recording stops, with the reason, when
// the folder reaches its size cap or the disk its free-space floor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "protocol/messages.hpp"

namespace hailer {

/// The serial after the highest `<name>_<serial>.wav` in `dir` (1 when there is none), so a
/// restarted server never reuses a file name.
uint64_t next_recording_serial(const std::string& dir);

/// How much the recordings may take.
struct RecorderLimits {
  uint64_t max_bytes = 4ULL << 30;       ///< everything in the folder together (4 GiB)
  uint64_t min_free_bytes = 1ULL << 30;  ///< recording stops when the disk has less free (1 GiB)
};

/// Whose folder the recordings go to.
enum class RecorderFolder : uint8_t {
  recordings,     ///< the turns' own folder: made 0750, refused when others may write to it, files never replaced
  operator_file,  ///< where the operator asked one file to go (--audio-out FILE.wav): used as it is, the file replaced
};

/// Writes the recordings of the turns being played.
class Recorder {
 public:
  /// Records into `dir` (for `recordings`: created 0750 when missing; throws std::runtime_error
  /// when it cannot be, or when others may write to it). What is in it already counts towards
  /// max_bytes.
  explicit Recorder(std::string dir, RecorderLimits limits = {}, RecorderFolder folder = RecorderFolder::recordings);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Opens `file_name` (a bare name) for recording `id`; nothing when it records, else why not
  /// (the folder or the disk is full; `error` when the file cannot be made, e.g. the name exists).
  std::optional<RecordingStopReason> start(uint64_t id, const std::string& file_name);
  /// Appends 48 kHz mono samples; nothing while it records, else why it stopped (the file is
  /// then closed: what it holds stays playable).
  std::optional<RecordingStopReason> append(uint64_t id, std::span<const int16_t> pcm);
  /// Closes the recording.
  void stop(uint64_t id);
  /// The folder.
  const std::string& dir() const { return dir_; }
  /// Bytes in the folder, as far as the recorder knows (what was there plus what it wrote).
  uint64_t bytes_used() const { return bytes_used_; }

 private:
  struct Open;
  std::optional<RecordingStopReason> room_left(uint64_t adding);
  std::string dir_;
  RecorderLimits limits_;
  RecorderFolder folder_;
  uint64_t bytes_used_ = 0;
  uint32_t appends_since_disk_check_ = 0;
  std::map<uint64_t, std::unique_ptr<Open>> open_;
};

}  // namespace hailer
