// The classroom server's cost per 20 ms audio frame: the frame arrives (parse, admission), the
// speaker's jitter buffer takes it, the 20 ms clock decodes and plays it and the recorder writes
// it to a WAV on disk: everything hailer-server does per frame except the socket read.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "adapters/host/server_host.hpp"
#include "adapters/opus_codec.hpp"
#include "adapters/recorder.hpp"
#include "core/ptt_frame.hpp"
#include "sim/audio_sources.hpp"

using namespace hailer;

namespace {

// A port that records turns to real files and drops everything else.
class RecordingPort final : public HostPort {
 public:
  explicit RecordingPort(const std::string& dir) : recorder(dir) {}
  Recorder recorder;
  std::optional<Time> timer;
  void send_text(SessionId, std::string_view text) override { benchmark::DoNotOptimize(text.data()); }
  void close(SessionId, CloseReason) override {}
  void arm_timer(std::optional<Time> at) override { timer = at; }
  void play(const SpeakerFrame& f) override { benchmark::DoNotOptimize(f.mix.data()); }
  void record_start(uint64_t id, const std::string&, const std::string& file) override { recorder.start(id, file); }
  void record_append(uint64_t id, std::span<const int16_t> pcm) override { recorder.append(id, pcm); }
  void record_stop(uint64_t id) override { recorder.stop(id); }
  void turn_ended(SessionId, const StreamStats&) override {}
};

// Speech-like packets (the simulator's generator), as a student's browser would send.
const std::vector<std::vector<uint8_t>>& opus_frames() {
  static sim::MediaCache cache;
  static sim::AudioSources sources("", cache);
  return sources.packets("speechlike:1", OpusSettings{});
}

void ptt_frame_through_host(benchmark::State& state) {
  const bool opus = state.range(0) == 1;
  const auto dir = std::filesystem::temp_directory_path() / "hailer-bench-recordings";
  std::filesystem::remove_all(dir);
  RecordingPort port(dir.string());
  Config config;
  config.max_talk_ms = 24LL * 3600 * 1000;
  SeededSecrets secrets(1);
  ServerHost host(config, secrets, HostConfig{false, {}}, port);
  Time now{0};
  host.opened(now, SessionId{1}, "127.0.0.1");
  const std::string codec = opus ? "opus" : "pcm16";
  host.text(now, SessionId{1}, R"({"type":"join","id":1,"version":1,"name":"ann","room":"class","codec":")" + codec + R"(","sample_rate":48000})");
  host.text(now, SessionId{1}, R"({"type":"press","id":2})");
  const auto& packets = opus_frames();
  std::vector<uint8_t> pcm_payload(1920, 1);
  uint16_t seq = 0;
  for (auto _ : state) {
    const auto& payload = opus ? packets[seq % packets.size()] : pcm_payload;
    const auto frame = encode_ptt_frame(seq++, false, payload);
    host.binary(now, SessionId{1}, frame);
    now = now + Duration::from_ms(20);
    while (port.timer && *port.timer <= now) host.timer(*port.timer);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["frames_played"] = static_cast<double>(host.speaker_stats().frames_played);
  std::filesystem::remove_all(dir);
}
BENCHMARK(ptt_frame_through_host)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

}  // namespace
