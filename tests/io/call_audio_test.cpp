// The CLI's audio side (apps/cli/call_audio): a WAV sent from its start at every call, over and
// over or once, and the WAV heard written only when a call had audio.
#include "apps/cli/call_audio.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <filesystem>

#include "media/io/opus_codec.hpp"
#include "media/io/wav_file.hpp"

using namespace hailer;
namespace fs = std::filesystem;

namespace {

struct Folder {
  fs::path path;
  Folder() : path(fs::temp_directory_path() / ("hailer_call_audio_" + std::to_string(::getpid()))) {
    fs::create_directories(path);
  }
  ~Folder() { fs::remove_all(path); }
};

// Two frames of a ramp, so every frame differs from silence and from the other.
std::string two_frame_wav(const Folder& folder) {
  std::vector<int16_t> pcm(2 * opus_frame_samples);
  for (std::size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>(100 + i);
  const std::string path = (folder.path / "say.wav").string();
  write_wav(path, pcm);
  return path;
}

const std::vector<int16_t> silence(opus_frame_samples, 0);

}  // namespace

TEST_CASE("call audio: a WAV is sent from its start at every call, over and over", "[cli]") {
  Folder folder;
  boost::asio::io_context io;
  cli::CallAudio audio(io, two_frame_wav(folder), "none", false);
  REQUIRE(audio.open());
  REQUIRE(audio.sends());
  audio.start_call();
  const auto first = audio.next_frame();
  const auto second = audio.next_frame();
  CHECK(first != silence);
  CHECK(second != first);
  CHECK(audio.next_frame() == first);  // past the end: from the start again
  CHECK(audio.next_frame() == second);
  audio.next_frame();
  audio.start_call();  // the next call: from the start, wherever the last one stopped
  CHECK(audio.next_frame() == first);
}

TEST_CASE("call audio: with in_once a WAV is sent once per call, then silence", "[cli]") {
  Folder folder;
  boost::asio::io_context io;
  cli::CallAudio audio(io, two_frame_wav(folder), "none", true);
  REQUIRE(audio.open());
  audio.start_call();
  const auto first = audio.next_frame();
  audio.next_frame();
  CHECK(audio.next_frame() == silence);
  CHECK(audio.next_frame() == silence);
  audio.start_call();
  CHECK(audio.next_frame() == first);
}

TEST_CASE("call audio: the WAV heard is written only when a call had audio", "[cli]") {
  Folder folder;
  const std::string out = (folder.path / "heard.wav").string();
  boost::asio::io_context io;
  {
    cli::CallAudio audio(io, "none", out, false);
    REQUIRE(audio.open());
    CHECK_FALSE(audio.sends());
    audio.save();
    CHECK_FALSE(fs::exists(out));  // no call: no 44-byte file that reads as a silent call
  }
  cli::CallAudio audio(io, "none", out, false);
  REQUIRE(audio.open());
  audio.start_call();
  const std::vector<int16_t> tone(opus_frame_samples, 1000);
  audio.heard(tone);
  audio.heard({});  // nothing came in time: silence in the file
  audio.save();
  REQUIRE(fs::exists(out));
  const auto pcm = read_wav_48k_mono(out).samples;
  CHECK(pcm.size() == 2 * opus_frame_samples);
}

TEST_CASE("call audio: a WAV to send that cannot be read stops the run", "[cli]") {
  boost::asio::io_context io;
  cli::CallAudio audio(io, "/nonexistent/say.wav", "none", false);
  CHECK_FALSE(audio.open());
}
