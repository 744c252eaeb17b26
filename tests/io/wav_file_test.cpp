#include "media/io/wav_file.hpp"

#include <sndfile.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

using namespace hailer;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("hailer_wav_" + std::to_string(::getpid()))) {
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_float_file(const fs::path& p, int rate, int channels, const std::vector<float>& interleaved) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(p.c_str(), SFM_WRITE, &info);
  REQUIRE(f != nullptr);
  sf_writef_float(f, interleaved.data(),
                  static_cast<sf_count_t>(interleaved.size() / static_cast<std::size_t>(channels)));
  sf_close(f);
}
}  // namespace

TEST_CASE("write then read a 48 kHz mono WAV returns the same samples", "[wav]") {
  TempDir dir;
  std::vector<int16_t> pcm(4800);
  for (std::size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>((i * 37) % 20000 - 10000);
  write_wav((dir.path / "a.wav").string(), pcm);
  const Pcm back = read_wav_48k_mono((dir.path / "a.wav").string());
  CHECK(back.sample_rate_hz == 48000);
  CHECK(back.samples == pcm);
}

TEST_CASE("a 44.1 kHz stereo float WAV is mixed to mono and resampled to 48 kHz", "[wav]") {
  TempDir dir;
  const int rate = 44100;
  std::vector<float> stereo;
  for (int i = 0; i < rate; ++i) {  // 1 s: 440 Hz left, silence right
    stereo.push_back(0.8f * static_cast<float>(std::sin(2 * M_PI * 440.0 * i / rate)));
    stereo.push_back(0.0f);
  }
  write_float_file(dir.path / "s.wav", rate, 2, stereo);
  const Pcm pcm = read_wav_48k_mono((dir.path / "s.wav").string());
  CHECK(pcm.samples.size() == Approx(48000).margin(48));
  int16_t peak = 0;
  for (int16_t s : pcm.samples) peak = std::max<int16_t>(peak, static_cast<int16_t>(std::abs(s)));
  CHECK(peak == Approx(0.4 * 32767).margin(600));  // mixed: half of the left channel
  // 440 Hz survives: count zero crossings in the middle 0.5 s (~440 crossings)
  int crossings = 0;
  for (std::size_t i = 12000; i < 36000; ++i) crossings += (pcm.samples[i - 1] < 0) != (pcm.samples[i] < 0);
  CHECK(crossings == Approx(440).margin(6));
}

TEST_CASE("float samples beyond full scale are clamped, not wrapped", "[wav]") {
  CHECK(float_to_int16(1.5f) == 32767);
  CHECK(float_to_int16(-1.5f) == -32767);
  CHECK(float_to_int16(0.0f) == 0);
}

TEST_CASE("missing and corrupt files are refused with the path in the error", "[wav]") {
  TempDir dir;
  try {
    read_wav_48k_mono((dir.path / "nope.wav").string());
    FAIL("no error");
  } catch (const WavError& e) {
    CHECK(std::string(e.what()).find("nope.wav") != std::string::npos);
  }
  std::ofstream((dir.path / "junk.wav").string()) << "RIFF garbage, not a wave file";
  CHECK_THROWS_AS(read_wav_48k_mono((dir.path / "junk.wav").string()), WavError);
  CHECK_THROWS_AS(write_wav((dir.path / "no_such_dir" / "x.wav").string(), std::vector<int16_t>(10)), WavError);
}
