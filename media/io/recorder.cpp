#include "media/io/recorder.hpp"

#include <fcntl.h>
#include <sndfile.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <stdexcept>

#include "media/io/private_files.hpp"
#include "protocol/names.hpp"

namespace hailer {

namespace {
constexpr uint64_t wav_header_bytes = 44;
// A turn starts only when a second of it fits: a file of a header and nothing helps nobody.
constexpr uint64_t second_bytes = 48'000 * sizeof(int16_t);
// The disk's free space is asked once a second of appends (a system call per frame would be
// one more on the speaker's path for nothing: a second of audio is 96 kB).
constexpr uint32_t appends_per_disk_check = 50;

uint64_t folder_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

uint64_t free_bytes(const std::string& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return UINT64_MAX;  // unknown: the cap still holds
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}
}  // namespace

uint64_t next_recording_serial(const std::string& dir) {
  uint64_t highest = 0;
  std::error_code ec;
  static const std::regex pattern(R"(^.+_([0-9]{1,18})\.wav$)");
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, pattern)) highest = std::max<uint64_t>(highest, std::stoull(m[1].str()));
  }
  return highest + 1;
}

struct Recorder::Open {
  SNDFILE* file = nullptr;
  ~Open() {
    if (file != nullptr) sf_close(file);
  }
};

Recorder::Recorder(std::string dir, RecorderLimits limits, RecorderFolder folder)
    : dir_(std::move(dir)), limits_(limits), folder_(folder) {
  if (folder_ == RecorderFolder::recordings) {
    ensure_folder(dir_, 0750);
    bytes_used_ = folder_bytes(dir_);
  } else if (!std::filesystem::is_directory(dir_)) {
    throw std::runtime_error("no folder " + dir_);
  }
}

Recorder::~Recorder() = default;

// Whether `adding` more bytes fit under the folder's cap and above the disk's floor.
std::optional<RecordingStopReason> Recorder::room_left(uint64_t adding) {
  if (bytes_used_ + adding > limits_.max_bytes) return RecordingStopReason::quota;
  if (appends_since_disk_check_ == 0 && free_bytes(dir_) < limits_.min_free_bytes + adding)
    return RecordingStopReason::disk_full;
  return std::nullopt;
}

std::optional<RecordingStopReason> Recorder::start(uint64_t id, const std::string& file_name) {
  // A recording's name came from the network: the one rule for such names. An operator's own
  // file (--audio-out) needs only to be a bare name in its folder.
  const bool bare = !file_name.empty() && file_name.find('/') == std::string::npos && file_name.front() != '.';
  if (!bare || (folder_ == RecorderFolder::recordings && !safe_file_name(file_name))) return RecordingStopReason::error;
  appends_since_disk_check_ = 0;
  if (const auto full = room_left(wav_header_bytes + second_bytes)) return full;
  // Never through a link, never over an existing file, never readable by everyone.
  const int replace = folder_ == RecorderFolder::recordings ? O_EXCL : O_TRUNC;
  const int fd = open_no_follow(dir_ + "/" + file_name, O_WRONLY | O_CREAT | replace, 0640);
  if (fd < 0) return RecordingStopReason::error;
  SF_INFO info{};
  info.samplerate = 48'000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  auto open = std::make_unique<Open>();
  open->file = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);  // it closes fd from now on
  if (open->file == nullptr) {
    ::close(fd);
    return RecordingStopReason::error;
  }
  // Rewrite the header after every write: a crash leaves a file that says how long it is.
  sf_command(open->file, SFC_SET_UPDATE_HEADER_AUTO, nullptr, SF_TRUE);
  bytes_used_ += wav_header_bytes;
  open_[id] = std::move(open);
  return std::nullopt;
}

std::optional<RecordingStopReason> Recorder::append(uint64_t id, std::span<const int16_t> pcm) {
  auto it = open_.find(id);
  if (it == open_.end()) return std::nullopt;  // stopped already (its reason was told then)
  const uint64_t bytes = pcm.size() * sizeof(int16_t);
  auto full = room_left(bytes);
  appends_since_disk_check_ = (appends_since_disk_check_ + 1) % appends_per_disk_check;
  if (!full && sf_write_short(it->second->file, pcm.data(), static_cast<sf_count_t>(pcm.size())) !=
                   static_cast<sf_count_t>(pcm.size())) {
    full = RecordingStopReason::error;  // a short write: the disk filled up under us, or it failed
  }
  if (full) {
    open_.erase(it);
    return full;
  }
  bytes_used_ += bytes;
  return std::nullopt;
}

void Recorder::stop(uint64_t id) { open_.erase(id); }

}  // namespace hailer
