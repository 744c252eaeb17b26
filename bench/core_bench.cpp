// Core throughput on a call-cycle workload: pairs of users call, accept and hang up, with the
// clock moving on, a who now and then, and some callers queueing on busy users.
// Run: build/bench/hailer_bench --benchmark_filter=core
#include <benchmark/benchmark.h>

#include <vector>

#include "core/codec.hpp"
#include "core/core.hpp"

using namespace hailer;

namespace {

struct Workload {
  Core core{Config{}};
  Time now{0};
  std::vector<Effect> out;
  std::vector<Event> cycle;  // prebuilt: the benchmark measures the core, not event construction

  explicit Workload(int pairs) {
    uint64_t id = 1;
    for (int p = 0; p < pairs; ++p) {
      const SessionId a{static_cast<uint64_t>(2 * p + 1)};
      const SessionId b{static_cast<uint64_t>(2 * p + 2)};
      const std::string na = "a" + std::to_string(p);
      const std::string nb = "b" + std::to_string(p);
      feed(SessionOpened{a, "10.0.0.1"});
      feed(SessionOpened{b, "10.0.0.2"});
      feed(RequestReceived{a, Request{id++, RegisterRequest{1, na, 4000}}});
      feed(RequestReceived{b, Request{id++, RegisterRequest{1, nb, 4002}}});
      cycle.push_back(RequestReceived{a, Request{id++, CallRequest{nb, std::nullopt}}});
      cycle.push_back(RequestReceived{b, Request{id++, AcceptRequest{}}});
      cycle.push_back(RequestReceived{a, Request{id++, HangupRequest{}}});
    }
  }

  void feed(const Event& e) {
    out.clear();
    core.handle(now, e, out);
  }
};

void core_call_cycle(benchmark::State& state) {
  Workload w(static_cast<int>(state.range(0)));
  std::size_t effects = 0;
  for (auto _ : state) {
    for (const Event& e : w.cycle) {
      w.now = w.now + Duration{50};  // the clock moves: timers are armed, re-armed and retired
      w.feed(e);
      effects += w.out.size();
    }
  }
  benchmark::DoNotOptimize(effects);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.cycle.size()));
  state.counters["effects_per_event"] =
      benchmark::Counter(static_cast<double>(effects) / static_cast<double>(state.iterations() * w.cycle.size()));
}
BENCHMARK(core_call_cycle)->Arg(1)->Arg(100)->Arg(500);

// A busy callee with a queue: call to busy -> queued, hangup -> head notified -> head calls.
void core_wait_cycle(benchmark::State& state) {
  Workload w(0);
  uint64_t id = 1;
  const SessionId callee{1}, other{2}, waiter{3};
  w.feed(SessionOpened{callee, "10.0.0.1"});
  w.feed(SessionOpened{other, "10.0.0.2"});
  w.feed(SessionOpened{waiter, "10.0.0.3"});
  w.feed(RequestReceived{callee, Request{id++, RegisterRequest{1, "callee", 0}}});
  w.feed(RequestReceived{other, Request{id++, RegisterRequest{1, "other", 0}}});
  w.feed(RequestReceived{waiter, Request{id++, RegisterRequest{1, "waiter", 0}}});
  const std::vector<Event> cycle{
      RequestReceived{other, Request{1, CallRequest{"callee", std::nullopt}}},
      RequestReceived{callee, Request{2, AcceptRequest{}}},
      RequestReceived{waiter, Request{3, CallRequest{"callee", std::nullopt}}},  // queued
      RequestReceived{other, Request{4, HangupRequest{}}},                       // waiter woken
      RequestReceived{waiter, Request{5, CallRequest{"callee", std::nullopt}}},  // uses its window
      RequestReceived{waiter, Request{6, CancelRequest{}}},
  };
  for (auto _ : state) {
    for (const Event& e : cycle) {
      w.now = w.now + Duration{50};
      w.feed(e);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * cycle.size()));
}
BENCHMARK(core_wait_cycle);

// The codec: decoding a typical request and encoding a typical event.
void codec_decode_call(benchmark::State& state) {
  const std::string text = R"({"type":"call","id":12,"to":"bob","auto_connect":true})";
  for (auto _ : state) benchmark::DoNotOptimize(decode_request(text, 4096));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(codec_decode_call);

void codec_encode_event(benchmark::State& state) {
  const ServerMessage m = CallConnected{7, "bob", {"10.0.0.2", 5004}};
  for (auto _ : state) benchmark::DoNotOptimize(encode(m));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(codec_encode_event);

}  // namespace

BENCHMARK_MAIN();
