// Recordings: serials continue across restarts, a file is valid while it is being written, files
// and folder get their modes and are never written through a link, and the folder's cap and the
// disk's floor stop a recording with the reason.
#include "media/io/recorder.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "media/io/wav_file.hpp"

using namespace hailer;

namespace {
std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("hailer-rec-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  return dir.string();
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
}  // namespace

TEST_CASE("the next recording serial follows the highest one in the folder", "[recorder]") {
  const std::string dir = temp_dir();
  CHECK(next_recording_serial(dir) == 1);
  CHECK(next_recording_serial(dir + "/missing") == 1);
  for (const char* name : {"ann_3.wav", "ben_12.wav", "x_7.txt", "notes.wav", "odd_.wav", "cat_2.wav"})
    std::ofstream(dir + "/" + name) << "x";
  CHECK(next_recording_serial(dir) == 13);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a recording is a valid WAV after every write, before it is closed", "[recorder]") {
  const std::string dir = temp_dir();
  Recorder r(dir);
  REQUIRE_FALSE(r.start(1, "ann_1.wav"));
  CHECK(r.start(2, "../escape.wav") == RecordingStopReason::error);
  CHECK(r.start(3, ".hidden.wav") == RecordingStopReason::error);
  std::vector<int16_t> frame(960, 1000);
  for (int i = 0; i < 50; ++i) r.append(1, frame);
  // Not stopped: as if the server died here. The file already says it holds one second.
  const Pcm pcm = read_wav_48k_mono(dir + "/ann_1.wav");
  CHECK(pcm.samples.size() == 48'000);
  CHECK(pcm.samples[100] == 1000);
  r.stop(1);
  r.append(1, frame);  // after the stop: ignored
  CHECK(read_wav_48k_mono(dir + "/ann_1.wav").samples.size() == 48'000);
  std::filesystem::remove_all(dir);
}

TEST_CASE("recordings are 0640 in a 0750 folder, never written through a link or over a file", "[recorder][security]") {
  const std::string base = temp_dir();
  const std::string dir = base + "/recordings";
  Recorder r(dir);
  CHECK(mode_of(dir) == 0750);
  REQUIRE_FALSE(r.start(1, "ann_1.wav"));
  CHECK(mode_of(dir + "/ann_1.wav") == 0640);
  // A link planted where the next turn goes: the recording is refused, the target untouched.
  const std::string target = base + "/target";
  std::ofstream(target) << "precious";
  REQUIRE(::symlink(target.c_str(), (dir + "/ben_2.wav").c_str()) == 0);
  CHECK(r.start(2, "ben_2.wav") == RecordingStopReason::error);
  std::ifstream in(target);
  std::string text;
  in >> text;
  CHECK(text == "precious");
  // An existing file is not replaced either.
  r.stop(1);
  CHECK(r.start(3, "ann_1.wav") == RecordingStopReason::error);
  // A folder others may write to is refused (they could plant links in it).
  const std::string open_dir = base + "/open";
  std::filesystem::create_directories(open_dir);
  std::filesystem::permissions(open_dir, std::filesystem::perms::all);
  CHECK_THROWS_WITH(Recorder(open_dir), Catch::Contains("writable by others"));
  std::filesystem::remove_all(base);
}

TEST_CASE("the folder's cap stops a recording with its reason, counting what was there", "[recorder]") {
  const std::string dir = temp_dir();
  std::ofstream(dir + "/old.wav") << std::string(10'000, 'x');
  // 10,000 bytes there, a 44-byte header and 50 frames of 1,920 bytes (106,044 in all) fit under
  // 106,080; a 51st frame, or another file's header, does not.
  Recorder r(dir, RecorderLimits{106'080, 0});
  CHECK(r.bytes_used() == 10'000);
  REQUIRE_FALSE(r.start(1, "ann_1.wav"));
  const std::vector<int16_t> frame(960, 1000);
  for (int i = 0; i < 50; ++i) REQUIRE_FALSE(r.append(1, frame));
  CHECK(r.append(1, frame) == RecordingStopReason::quota);                  // the 51st would pass the cap
  CHECK_FALSE(r.append(1, frame));                                          // closed: nothing more, nothing said twice
  CHECK(read_wav_48k_mono(dir + "/ann_1.wav").samples.size() == 50 * 960);  // what it holds stays playable
  CHECK(r.start(2, "ann_2.wav") == RecordingStopReason::quota);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a disk below the free-space floor stops recordings with disk_full", "[recorder]") {
  const std::string dir = temp_dir();
  Recorder r(dir, RecorderLimits{UINT64_MAX, UINT64_MAX / 2});  // no disk has that much free
  CHECK(r.start(1, "ann_1.wav") == RecordingStopReason::disk_full);
  CHECK_FALSE(std::filesystem::exists(dir + "/ann_1.wav"));
  std::filesystem::remove_all(dir);
}
