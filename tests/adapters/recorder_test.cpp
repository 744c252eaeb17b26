// Recordings: serials continue across restarts, and a file is valid while it is being written.
#include "adapters/recorder.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "adapters/wav_file.hpp"

using namespace hailer;

namespace {
std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("hailer-rec-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  std::filesystem::create_directories(dir);
  return dir.string();
}
}  // namespace

TEST_CASE("the next recording serial follows the highest one in the folder", "[recorder]") {
  const std::string dir = temp_dir();
  CHECK(next_recording_serial(dir) == 1);
  CHECK(next_recording_serial(dir + "/missing") == 1);
  for (const char* name : {"ann_3.wav", "ben_12.wav", "x_7.txt", "notes.wav", "odd_.wav", "cat_2.wav"}) std::ofstream(dir + "/" + name) << "x";
  CHECK(next_recording_serial(dir) == 13);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a recording is a valid WAV after every write, before it is closed", "[recorder]") {
  const std::string dir = temp_dir();
  Recorder r(dir);
  REQUIRE(r.start(1, "ann_1.wav"));
  CHECK_FALSE(r.start(2, "../escape.wav"));
  CHECK_FALSE(r.start(3, ".hidden.wav"));
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
