// Media and simulator speed: Opus encode/decode per 20 ms frame at complexity 5 and 10, RTP
// packets built and parsed per second, SRTP protect plus unprotect per call packet, jitter-buffer
// operations per second, and simulated time per wall time for a 60 s two-way call.
// Run: build/bench/hailer_bench --benchmark_filter='opus|rtp|jitter|sim'
#include <benchmark/benchmark.h>

#include <cmath>

#include "base/assert.hpp"
#include "base/prng.hpp"
#include "media/io/opus_codec.hpp"
#include "media/jitter_buffer.hpp"
#include "media/rtp.hpp"
#include "media/srtp.hpp"
#include "protocol/call_keys.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"
#include "sim/world.hpp"

using namespace hailer;

namespace {

std::vector<int16_t> speechlike_frames(std::size_t frames) {
  std::vector<int16_t> pcm(frames * opus_frame_samples);
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    const double t = static_cast<double>(i) / opus_rate_hz;
    const double gate = std::fmod(t, 0.4) < 0.25 ? 1.0 : 0.05;
    pcm[i] = static_cast<int16_t>(8000.0 * gate * std::sin(2 * M_PI * (150 + 60 * std::sin(2 * M_PI * 3 * t)) * t));
  }
  return pcm;
}

void opus_encode(benchmark::State& state) {
  OpusSettings s;
  s.complexity = static_cast<int32_t>(state.range(0));
  OpusFrameEncoder enc(s);
  const auto pcm = speechlike_frames(50);
  std::size_t f = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(enc.encode(std::span(pcm).subspan((f++ % 50) * opus_frame_samples, opus_frame_samples)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(opus_encode)->Arg(5)->Arg(10)->Unit(benchmark::kMicrosecond);

void opus_decode(benchmark::State& state) {
  OpusSettings s;
  s.complexity = static_cast<int32_t>(state.range(0));
  OpusFrameEncoder enc(s);
  const auto pcm = speechlike_frames(50);
  std::vector<std::vector<uint8_t>> packets;
  for (std::size_t f = 0; f < 50; ++f)
    packets.push_back(enc.encode(std::span(pcm).subspan(f * opus_frame_samples, opus_frame_samples)));
  OpusFrameDecoder dec;
  std::size_t f = 0;
  for (auto _ : state) benchmark::DoNotOptimize(dec.decode(packets[f++ % 50]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(opus_decode)->Arg(5)->Arg(10)->Unit(benchmark::kMicrosecond);

// A 20 ms Opus frame at 32 kb/s is 80 bytes: the payload every call packet carries.
std::vector<uint8_t> opus_sized_payload() {
  std::vector<uint8_t> payload(80);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 37 + 11);
  return payload;
}

// Building one call packet (header + payload into a new datagram), as CallMedia sends each frame.
void rtp_build(benchmark::State& state) {
  const auto payload = opus_sized_payload();
  RtpHeader header;
  header.ssrc = 0x1234abcd;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rtp_encode(header, payload));
    ++header.sequence;
    header.timestamp += opus_frame_samples;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(rtp_build);

// Checking and parsing one received datagram (version, padding, extension, CSRCs, sizes).
void rtp_parse_packet(benchmark::State& state) {
  RtpHeader header;
  header.ssrc = 0x1234abcd;
  header.sequence = 4242;
  const auto datagram = rtp_encode(header, opus_sized_payload());
  for (auto _ : state) {
    const auto packet = rtp_parse(datagram);
    HAILER_ASSERT(packet && packet->header.sequence == 4242);
    benchmark::DoNotOptimize(packet->payload.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(rtp_parse_packet);

// One call packet through SRTP both ways: the sender protects it (AES-128-GCM, the tag appended),
// the receiver checks the tag and its replay window and decrypts: the whole per-packet cost of
// end-to-end media, which every 20 ms of a call pays once per direction. Arg 1 builds each RTP
// packet too, as CallMedia does; arg 0 reuses one buffer, the next sequence number set in place
// (the replay window refuses a repeat), to show SRTP alone.
void srtp_protect_unprotect(benchmark::State& state) {
  SrtpMasterKey key{};
  key.fill(0x5a);
  SrtpSender out(key);
  SrtpReceiver in(key);
  RtpSender rtp(0x1234abcd, 0, 0, opus_frame_samples);
  const auto payload = opus_sized_payload();
  const bool build = state.range(0) == 1;
  std::vector<uint8_t> packet = rtp_encode(rtp.next(false), payload);
  packet.reserve(packet.size() + 64);
  for (auto _ : state) {
    if (build) packet = rtp_encode(rtp.next(false), payload);
    out.protect(packet);
    const SrtpRefusal r = in.unprotect(packet);
    HAILER_ASSERT(r == SrtpRefusal::none);
    if (!build) {
      const auto seq = static_cast<uint16_t>((packet[2] << 8 | packet[3]) + 1);
      packet[2] = static_cast<uint8_t>(seq >> 8);
      packet[3] = static_cast<uint8_t>(seq);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(srtp_protect_unprotect)->Arg(1)->Arg(0);

// One insert and one pull per frame, with jitter, a little loss and reordering: the steady state.
void jitter_buffer_ops(benchmark::State& state) {
  JitterBuffer jb;
  RtpSender sender(1, 0, 0, 960);
  Prng rng(3);
  const std::vector<uint8_t> payload(80, 7);
  int64_t i = 0;
  for (auto _ : state) {
    const RtpHeader h = sender.next(false);
    if (!rng.chance(1, 50)) jb.insert(Time::from_ms(20 * i + rng.between(0, 40)), h, payload);
    benchmark::DoNotOptimize(jb.pull(Time::from_ms(20 * i + 5)));
    ++i;
  }
  state.SetItemsProcessed(state.iterations() * 2);  // an insert and a pull
}
BENCHMARK(jitter_buffer_ops);

// A 60 s two-party call with audio both ways on a jittery, slightly lossy link.
void sim_call_60s(benchmark::State& state) {
  const auto json = nlohmann::json::parse(R"({
    "name": "bench_call_60s", "seed": 1, "duration_ms": 61000,
    "network": {"default": {"latency_ms": 30, "jitter_ms": 20, "loss": 0.01}},
    "opus": {"complexity": )" + std::to_string(state.range(0)) +
                                          R"(},
    "participants": [{"name": "alice", "audio": "speechlike:1"}, {"name": "bob", "audio": "speechlike:2", "auto_accept_ms": 100}],
    "steps": [{"at_ms": 200, "who": "alice", "do": "call", "to": "bob"}, {"at_ms": 60600, "who": "alice", "do": "hangup"}]})");
  const sim::Scenario s = sim::parse_scenario(json, "bench");
  const bool warm = state.range(1) != 0;  // warm: the two sources were encoded by an earlier run
  sim::MediaCache shared;
  if (warm) sim::run_scenario(s, "bench", "", {}, &shared);
  for (auto _ : state) {
    sim::MediaCache fresh;
    const sim::RunResult r = sim::run_scenario(s, "bench", "", {}, warm ? &shared : &fresh);
    if (!r.passed || r.streams.size() != 2) state.SkipWithError("the benchmark call failed");
  }
  // Simulated seconds per wall second = the speed-up over real time.
  state.counters["x_real_time"] =
      benchmark::Counter(60.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
// Wall time: the simulator encodes sources and decodes streams on every core.
BENCHMARK(sim_call_60s)
    ->Args({5, 0})
    ->Args({5, 1})
    ->Args({10, 0})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

}  // namespace

namespace {
// A call's key agreement, each part once: what a client signs and checks, and what the server's
// core checks per media_key (the Ed25519 verification).
void call_key_sign(benchmark::State& state) {
  const LoginKey account = login_key_from_seed(std::array<uint8_t, 32>{1});
  const CallKeyPair key = call_key_pair_from_seed(std::array<uint8_t, 32>{2});
  uint64_t call_id = 1;
  for (auto _ : state) benchmark::DoNotOptimize(call_key_signature(account, call_id++, "alice", key.public_key));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(call_key_sign)->Unit(benchmark::kMicrosecond);

void call_key_verify(benchmark::State& state) {
  const LoginKey account = login_key_from_seed(std::array<uint8_t, 32>{1});
  const CallKeyPair key = call_key_pair_from_seed(std::array<uint8_t, 32>{2});
  const std::string signature = call_key_signature(account, 7, "alice", key.public_key);
  for (auto _ : state) {
    const bool ok = verify_call_key(account.public_key, signature, 7, "alice", key.public_key);
    HAILER_ASSERT(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(call_key_verify)->Unit(benchmark::kMicrosecond);

// The X25519 agreement and both SRTP keys of one side.
void call_key_derive(benchmark::State& state) {
  const CallKeyPair own = call_key_pair_from_seed(std::array<uint8_t, 32>{3});
  const CallKeyPair peer = call_key_pair_from_seed(std::array<uint8_t, 32>{4});
  for (auto _ : state) benchmark::DoNotOptimize(derive_srtp_keys(CallRole::caller, own, peer.public_key));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(call_key_derive)->Unit(benchmark::kMicrosecond);
}  // namespace
