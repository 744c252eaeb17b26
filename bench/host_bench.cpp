// The classroom server's cost per 20 ms audio frame: the frame arrives (parse, admission), the
// speaker's jitter buffer takes it, the 20 ms clock decodes and plays it and the recorder writes
// it to a WAV on disk: everything hailer-server does per frame except the socket read.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "host/server_host.hpp"
#include "media/io/opus_codec.hpp"
#include "media/io/recorder.hpp"
#include "protocol/media_probe.hpp"
#include "protocol/ptt_frame.hpp"
#include "sim/audio_sources.hpp"

using namespace hailer;

namespace {

// A port and sink that records turns to real files and drops everything else.
class RecordingPort final : public HostPort, public MediaSink {
 public:
  explicit RecordingPort(const std::string& dir) : recorder(dir) {}
  Recorder recorder;
  std::optional<Time> timer;
  void send_text(SessionId, std::string_view text) override { benchmark::DoNotOptimize(text.data()); }
  void close(SessionId, CloseReason) override {}
  void arm_timer(std::optional<Time> at) override { timer = at; }
  void play(const SpeakerFrame& f) override { benchmark::DoNotOptimize(f.mix.data()); }
  std::optional<RecordingStopReason> record_start(uint64_t id, const std::string&, const std::string& file) override {
    return recorder.start(id, file);
  }
  std::optional<RecordingStopReason> record_append(uint64_t id, std::span<const int16_t> pcm) override {
    return recorder.append(id, pcm);
  }
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
  ServerHost host(config, secrets, HostConfig{false, {}}, port, port);
  Time now{0};
  host.opened(now, SessionId{1}, "127.0.0.1");
  const std::string codec = opus ? "opus" : "pcm16";
  host.text(now, SessionId{1},
            R"({"type":"join","id":1,"version":1,"name":"ann","room":"class","codec":")" + codec +
                R"(","sample_rate":48000})");
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

// What a UDP media proof costs hailer-server once read from the socket: the parse, the rate
// limits (per source address and in total), the lookup and the HMAC-SHA256 check. Arg 0: right
// proofs from 1,000 registered sessions, each from its own address (a new counter each time);
// arg 1: proofs under a wrong key (the MAC is still computed); arg 2: a flood from one address,
// all but its 64 a second dropped before any lookup.
void media_probe_through_host(benchmark::State& state) {
  const int64_t kind = state.range(0);
  RecordingPort port((std::filesystem::temp_directory_path() / "hailer-bench-probes").string());
  SeededSecrets secrets(1);
  Config config;
  config.max_sessions = 2000;
  HostConfig hc{false, {}};
  hc.max_sessions_per_address = 2000;
  ServerHost host(config, secrets, hc, port, port);
  Time now{0};
  constexpr uint64_t users = 1000;
  std::vector<std::pair<SecretKey, uint64_t>> keys;
  for (uint64_t s = 1; s <= users; ++s) {
    host.opened(now, SessionId{s}, "10.0." + std::to_string(s / 250) + "." + std::to_string(s % 250));
    host.text(now, SessionId{s}, R"({"type":"register","id":1,"version":1,"name":"u)" + std::to_string(s) + R"("})");
  }
  // The keys and ids, as the register replies told them (stand-ins: the same draws as the host's).
  SeededSecrets again(1);
  for (uint64_t s = 1; s <= users; ++s) {
    SessionSecrets sec = again.session_secrets();
    if (kind == 1) sec.media_key.bytes[0] ^= 1;
    keys.emplace_back(sec.media_key, sec.media_id);
  }
  std::vector<MediaEndpoint> from;
  for (uint64_t k = 0; k < users; ++k) {
    from.push_back(MediaEndpoint{
        kind == 2 ? "203.0.113.9" : "198.51." + std::to_string(k / 250) + "." + std::to_string(k % 250), 40000});
  }
  // Made beforehand (the client's HMAC is not the server's cost): 20 rounds of the 1,000, the
  // next 20 when those are spent.
  constexpr uint64_t rounds = 20;
  std::vector<std::string> datagrams;
  uint64_t round = 0;
  auto make = [&] {
    datagrams.clear();
    for (uint64_t r = 0; r < rounds; ++r, ++round) {
      for (uint64_t k = 0; k < users; ++k)
        datagrams.push_back(encode_media_probe(keys[k].first, keys[k].second, round + 1));
    }
  };
  make();
  std::size_t i = 0;
  for (auto _ : state) {
    if (i == datagrams.size()) {
      state.PauseTiming();
      make();
      i = 0;
      state.ResumeTiming();
    }
    const std::string& d = datagrams[i];
    now = now + Duration::from_ms(1);  // each session proves once a second: under its own limit
    host.datagram(now, from[i % users], std::span(reinterpret_cast<const uint8_t*>(d.data()), d.size()));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  const CoreStats& st = host.core().stats();
  state.counters["accepted"] = static_cast<double>(st.media_probes);
  state.counters["forged"] = static_cast<double>(st.media_probes_forged);
  state.counters["limited"] = static_cast<double>(st.media_probes_limited);
}
BENCHMARK(media_probe_through_host)->Arg(0)->Arg(1)->Arg(2);
