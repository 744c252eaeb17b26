// Core throughput (events per second, one core) on three workloads, each at 2, 1,000 and 10,000
// sessions: every session is connected and registered (or joined) first, then a small active set
// churns while the clock moves, so the cost of a large population (lookups, timers, invariants
// off) shows beside the cost of the work itself.
//   core_call_cycle:  pairs call, accept and hang up.
//   core_queue_churn: a busy callee; callers queue, are woken on hangup, recall, hang up.
//   core_floor_churn: a class; students press, talk (audio level events) and release, one
//                     queued behind the talker under the queue policy.
// Run: build/bench/hailer_bench --benchmark_filter=core
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/core.hpp"

using namespace hailer;

namespace {

Config big_config() {
  Config c;
  c.max_sessions = 20'000;
  c.max_room_members = 10'000;
  c.max_floor_queue = 10'000;
  c.max_waiters_per_callee = 1'000;
  c.default_floor_policy = FloorPolicy::queue;
  return c;
}

struct Workload {
  Core core{big_config()};
  Time now{0};
  uint64_t id = 1;
  std::vector<Effect> out;
  std::vector<Event> cycle;  // prebuilt: the benchmark measures the core, not event construction

  void feed(const Event& e) {
    out.clear();
    core.handle(now, e, out);
  }
  SessionId open(uint64_t n) {
    const SessionId s{n};
    feed(SessionOpened{s, "10.0.0." + std::to_string(n % 250), stand_in_secrets(n), false});
    return s;
  }
  SessionId user(uint64_t n) {
    const SessionId s = open(n);
    feed(RequestReceived{s, Request{id++, RegisterRequest{1, "u" + std::to_string(n), 4000, {}, {}, {}}}});
    return s;
  }
  SessionId student(uint64_t n) {
    const SessionId s = open(n);
    JoinRequest j;
    j.name = "s" + std::to_string(n);
    j.room = "class";
    feed(RequestReceived{s, Request{id++, j}});
    return s;
  }
  Event request(SessionId s, RequestBody body) { return RequestReceived{s, Request{id++, std::move(body)}}; }

  // Runs the prebuilt cycle; the clock moves 50 us per event, so timers are armed and retired.
  void run(benchmark::State& state) {
    std::size_t effects = 0;
    for (auto _ : state) {
      for (const Event& e : cycle) {
        now = now + Duration{50};
        feed(e);
        effects += out.size();
      }
    }
    benchmark::DoNotOptimize(effects);
    const auto events = static_cast<int64_t>(state.iterations() * cycle.size());
    state.SetItemsProcessed(events);
    state.counters["effects_per_event"] =
        benchmark::Counter(static_cast<double>(effects) / static_cast<double>(events));
  }
};

constexpr int active_pairs = 64;  // the load tool's pair count

void core_call_cycle(benchmark::State& state) {
  const auto sessions = static_cast<uint64_t>(state.range(0));
  Workload w;
  std::vector<SessionId> users;
  for (uint64_t n = 1; n <= sessions; ++n) users.push_back(w.user(n));
  const uint64_t pairs = std::min<uint64_t>(active_pairs, sessions / 2);
  for (uint64_t p = 0; p < pairs; ++p) {
    const SessionId a = users[2 * p], b = users[2 * p + 1];
    w.cycle.push_back(w.request(a, CallRequest{"u" + std::to_string(2 * p + 2), std::nullopt}));
    w.cycle.push_back(w.request(b, AcceptRequest{}));
    w.cycle.push_back(w.request(a, HangupRequest{}));
  }
  w.run(state);
}
BENCHMARK(core_call_cycle)->Arg(2)->Arg(1'000)->Arg(10'000);

void core_queue_churn(benchmark::State& state) {
  const auto sessions = static_cast<uint64_t>(state.range(0));
  Workload w;
  std::vector<SessionId> users;
  for (uint64_t n = 1; n <= std::max<uint64_t>(sessions, 3); ++n) users.push_back(w.user(n));
  // callee u1 talks with u2; u3 queues on u1, is woken by the hangup, recalls, and hangs up.
  const SessionId callee = users[0], other = users[1], waiter = users[2];
  w.cycle = {
      w.request(other, CallRequest{"u1", std::nullopt}),
      w.request(callee, AcceptRequest{}),
      w.request(waiter, CallRequest{"u1", std::nullopt}),  // queued
      w.request(other, HangupRequest{}),                   // waiter woken: callee_available
      w.request(waiter, CallRequest{"u1", std::nullopt}),  // uses its window: rings
      w.request(callee, AcceptRequest{}),
      w.request(waiter, HangupRequest{}),
  };
  w.run(state);
}
BENCHMARK(core_queue_churn)->Arg(3)->Arg(1'000)->Arg(10'000);

void core_floor_churn(benchmark::State& state) {
  const auto sessions = static_cast<uint64_t>(state.range(0));
  Workload w;
  std::vector<SessionId> students;
  for (uint64_t n = 1; n <= sessions; ++n) students.push_back(w.student(n));
  // Two students alternate: one talks (ten 20 ms level reports), the other queues behind it.
  const SessionId a = students[0], b = students[1];
  w.cycle.push_back(w.request(a, PressRequest{}));
  w.cycle.push_back(w.request(b, PressRequest{}));  // queued
  for (int k = 0; k < 10; ++k) w.cycle.push_back(AudioPlayed{a, -20});
  w.cycle.push_back(w.request(a, ReleaseRequest{}));  // b granted
  for (int k = 0; k < 10; ++k) w.cycle.push_back(AudioPlayed{b, -20});
  w.cycle.push_back(w.request(b, ReleaseRequest{}));
  w.run(state);
}
BENCHMARK(core_floor_churn)->Arg(2)->Arg(1'000)->Arg(10'000);

}  // namespace

BENCHMARK_MAIN();
