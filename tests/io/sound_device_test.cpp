// PortAudio against a real clocked device: a JACK server with its dummy backend, started by the
// test under its own name and stopped at the end. Plus the lock-free ring between callback and app.
#include "audio/sound_device.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "audio/spsc_ring.hpp"

extern char** environ;

using namespace hailer;
using namespace hailer::audio;

namespace {

// jackd -d dummy under a unique server name, killed (and reaped) when the guard goes.
class JackDummy {
 public:
  JackDummy() : name_("hailer-test-" + std::to_string(::getpid())) {
    ::setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
    ::setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
    ::setenv("JACK_NO_START_SERVER", "1", 1);  // never let a client start one of its own
    std::vector<std::string> args{"jackd", "--no-realtime", "-n", name_, "-d", "dummy", "-r", "48000", "-p", "256"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawnp(&pid_, "jackd", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) FAIL("cannot start jackd (scripts/setup.sh installs jackd2)");
  }
  ~JackDummy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 50 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
    }
    ::unsetenv("JACK_DEFAULT_SERVER");
  }
  JackDummy(const JackDummy&) = delete;
  JackDummy& operator=(const JackDummy&) = delete;

 private:
  std::string name_;
  pid_t pid_ = -1;
};

// Waits (bounded) until PortAudio sees the JACK device.
std::unique_ptr<SoundSystem> system_with_jack() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto system = std::make_unique<SoundSystem>();
    for (const auto& d : system->devices()) {
      if (d.host_api.find("JACK") != std::string::npos) return system;
    }
    system.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the sample ring is bounded, keeps order across the wrap, and drops what does not fit", "[audio]") {
  SpscRing ring(5);
  const std::vector<int16_t> a{1, 2, 3, 4};
  CHECK(ring.push(a) == 4);
  std::vector<int16_t> out(3);
  CHECK(ring.pop(out) == 3);
  CHECK(out == std::vector<int16_t>{1, 2, 3});
  const std::vector<int16_t> b{5, 6, 7, 8, 9};
  CHECK(ring.push(b) == 4);  // one slot was taken by 4: 9 does not fit
  CHECK(ring.size() == 5);
  std::vector<int16_t> all(10);
  CHECK(ring.pop(all) == 5);
  all.resize(5);
  CHECK(all == std::vector<int16_t>{4, 5, 6, 7, 8});
  CHECK(ring.pop(all) == 0);
}

TEST_CASE("a producer and a consumer thread move every sample through the ring once and in order", "[audio]") {
  // The callback and the app run on two threads: what one pushes the other pops, none twice, none
  // out of order (ThreadSanitizer runs this too: scripts/tsan.sh).
  constexpr int total_samples = 200'000;
  SpscRing ring(257);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::thread producer([&] {
    int16_t next = 0;
    int pushed = 0;
    std::vector<int16_t> chunk(61);
    while (pushed < total_samples && std::chrono::steady_clock::now() < deadline) {
      const auto n = static_cast<std::size_t>(std::min<int>(61, total_samples - pushed));
      for (std::size_t i = 0; i < n; ++i) chunk[i] = static_cast<int16_t>(next + static_cast<int16_t>(i));
      const std::size_t done = ring.push(std::span<const int16_t>(chunk.data(), n));
      next = static_cast<int16_t>(next + static_cast<int16_t>(done));
      pushed += static_cast<int>(done);
      if (done == 0) std::this_thread::yield();
    }
  });
  int popped = 0;
  int16_t expected = 0;
  bool in_order = true;
  std::vector<int16_t> out(97);
  while (popped < total_samples && std::chrono::steady_clock::now() < deadline) {
    const std::size_t n = ring.pop(out);
    for (std::size_t i = 0; i < n; ++i) {
      in_order = in_order && out[i] == expected;
      expected = static_cast<int16_t>(expected + 1);
    }
    popped += static_cast<int>(n);
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  CHECK(popped == total_samples);
  CHECK(in_order);
  CHECK(ring.size() == 0);
}

TEST_CASE("PortAudio plays and captures on a clocked JACK dummy device through the callback API", "[audio]") {
  JackDummy jack;
  auto system = system_with_jack();
  REQUIRE(system != nullptr);
  const DeviceInfo out = system->find("default", false);
  const DeviceInfo in = system->find("default", true);
  CHECK(out.host_api.find("JACK") != std::string::npos);
  CHECK_THROWS_AS(system->find("no such device", false), SoundError);

  SoundDevice device(*system, in, out);
  CHECK(device.output_rate_hz() == 48'000);
  // One second of a tone, queued before the start.
  for (int k = 0; k < 50; ++k) {
    std::vector<int16_t> frame(960);
    for (std::size_t i = 0; i < frame.size(); ++i) {
      frame[i] = static_cast<int16_t>(
          8000 * std::sin(2 * M_PI * 440 * static_cast<double>(k * 960 + static_cast<int>(i)) / 48000.0));
    }
    CHECK(device.write(frame));
  }
  CHECK(device.queued_ms() == 1000);
  const auto started = std::chrono::steady_clock::now();
  device.start();
  int captured_frames = 0;
  // Bounded wait: 1.25 s of device time must pass (the tone, then silence and an underrun).
  const auto deadline = started + std::chrono::seconds(5);
  while (device.stats().frames_played < 60'000 && std::chrono::steady_clock::now() < deadline) {
    while (device.read_frame()) ++captured_frames;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  while (device.read_frame()) ++captured_frames;
  const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  device.stop();
  const SoundStats s = device.stats();
  CHECK(s.frames_played >= 60'000);
  CHECK(elapsed_s > 1.0);             // a clocked device: 1.25 s of audio cannot play in less than ~1.25 s
  CHECK(s.underruns >= 1);            // the queue ran dry after the tone, and it was counted
  CHECK(device.queued_ms() == 0);     // everything queued was played
  CHECK(s.frames_captured > 24'000);  // capture ran alongside
  CHECK(captured_frames >= 25);       // and reached the app as 20 ms frames at 48 kHz
  CHECK(s.overruns == 0);
}
