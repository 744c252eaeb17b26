#include "sim/swarm.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "base/prng.hpp"

namespace hailer::sim {

namespace {
std::string pick(Prng& rng, const std::vector<std::string>& v) { return v[rng.below(v.size())]; }
}  // namespace

uint64_t swarm_run_seed(uint64_t swarm_seed, uint64_t index) {
  Prng rng(swarm_seed ^ (index * 0x9E3779B97F4A7C15ULL));
  return rng.next() >> 2;  // positive and JSON-safe as an integer
}

namespace {

// The participants, in the order the seed draws them: calls users c0.., then PTT members p0..
void random_participants(Prng& rng, nlohmann::ordered_json& s, std::vector<std::string>& calls,
                         std::vector<std::string>& ptt) {
  const int n_calls = static_cast<int>(rng.between(2, 6));
  const int n_ptt = static_cast<int>(rng.between(0, 4));
  auto& participants = s["participants"] = nlohmann::ordered_json::array();
  for (int i = 0; i < n_calls; ++i) {
    const std::string name = "c" + std::to_string(i);
    nlohmann::ordered_json p{{"name", name}, {"face", "calls"}, {"start_ms", rng.between(0, 2'000)}};
    if (rng.chance(1, 3)) p["auto_accept_ms"] = rng.between(100, 3'000);
    if (rng.chance(1, 3)) p["auto_recall_ms"] = rng.between(50, 2'000);
    if (rng.chance(1, 6)) p["audio"] = "speechlike:" + std::to_string(i + 1);
    if (rng.chance(1, 8)) p["auto_ping"] = false;  // lets the heartbeat close it
    participants.push_back(p);
    calls.push_back(name);
  }
  for (int i = 0; i < n_ptt; ++i) {
    const std::string name = "p" + std::to_string(i);
    nlohmann::ordered_json p{{"name", name},
                             {"face", "ptt"},
                             {"room", "r0"},
                             {"start_ms", rng.between(0, 2'000)},
                             {"role", i == 0 && rng.chance(1, 2) ? "instructor" : "student"},
                             {"codec", rng.chance(1, 2) ? "opus" : "pcm16"}};
    if (rng.chance(1, 2)) p["audio"] = "speechlike:" + std::to_string(10 + i);
    participants.push_back(p);
    ptt.push_back(name);
  }
}

// The steps: a sorted set of times, each an action of the face of whoever it picks.
void random_steps(Prng& rng, nlohmann::ordered_json& s, int64_t duration_ms, const std::vector<std::string>& calls,
                  const std::vector<std::string>& everyone) {
  auto& steps = s["steps"] = nlohmann::ordered_json::array();
  const int n_steps = static_cast<int>(rng.between(30, 150));
  std::vector<int64_t> times;
  times.reserve(static_cast<std::size_t>(n_steps));
  for (int i = 0; i < n_steps; ++i) times.push_back(rng.between(0, duration_ms - 1));
  std::sort(times.begin(), times.end());
  const std::vector<std::string> calls_actions{"call",   "call",   "call",       "accept",   "accept",
                                               "reject", "hangup", "hangup",     "cancel",   "cancel_wait",
                                               "who",    "missed", "disconnect", "reconnect"};
  const std::vector<std::string> ptt_actions{"press",      "press",      "release",   "release", "who", "revoke",
                                             "set_policy", "disconnect", "reconnect", "grant",   "skip"};
  std::vector<std::string> ptt;  // whom an instructor's grant or skip names
  for (const std::string& name : everyone) {
    if (name[0] != 'c') ptt.push_back(name);
  }
  for (int64_t t : times) {
    const std::string who = pick(rng, everyone);
    const bool is_calls = who[0] == 'c';
    const std::string action = pick(rng, is_calls ? calls_actions : ptt_actions);
    nlohmann::ordered_json step{{"at_ms", t}, {"who", who}, {"do", action}};
    if (action == "call") step["to"] = rng.chance(1, 10) ? std::string("nobody") : pick(rng, calls);
    if (action == "set_policy") step["policy"] = rng.chance(1, 2) ? "queue" : "deny";
    if (action == "grant" || action == "skip") step["to"] = pick(rng, ptt);
    if (rng.chance(1, 40))
      step = {{"at_ms", t},
              {"who", who},
              {"do", "raw"},
              {"text", rng.chance(1, 2) ? "{\"type\":" : "{\"type\":\"call\",\"id\":1,\"to\":7}"}};
    steps.push_back(step);
  }
}

// The faults: partitions from the server, stalls and disconnects.
void random_faults(Prng& rng, nlohmann::ordered_json& s, int64_t duration_ms,
                   const std::vector<std::string>& everyone) {
  auto& faults = s["faults"] = nlohmann::ordered_json::array();
  const int n_faults = static_cast<int>(rng.between(0, 3));
  for (int i = 0; i < n_faults; ++i) {
    const int64_t at = rng.between(1'000, duration_ms - 1'000);
    switch (rng.below(3)) {
      case 0:
        faults.push_back({{"at_ms", at},
                          {"kind", "partition"},
                          {"groups", {{pick(rng, everyone)}, {"server"}}},
                          {"duration_ms", rng.between(500, 6'000)}});
        break;
      case 1:
        faults.push_back(
            {{"at_ms", at}, {"kind", "stall"}, {"who", pick(rng, everyone)}, {"duration_ms", rng.between(200, 3'000)}});
        break;
      default:
        faults.push_back({{"at_ms", at}, {"kind", "disconnect"}, {"who", pick(rng, everyone)}});
    }
  }
}

// The transport's rules within reach: sometimes an outbound limit small enough for a stalled or
// partitioned reader to pass (closed as slow_reader), sometimes a PTT member sending frames
// faster than real time (a flood). Drawn last, so the rest of a seed's scenario is as before.
void random_transport(Prng& rng, nlohmann::ordered_json& s, int64_t duration_ms, const std::vector<std::string>& ptt) {
  if (rng.chance(1, 4)) s["transport"] = {{"max_outbound_bytes", rng.between(200, 4'000)}};
  if (!ptt.empty() && rng.chance(1, 4)) {
    s["steps"].push_back({{"at_ms", rng.between(0, duration_ms - 1)},
                          {"who", pick(rng, ptt)},
                          {"do", "raw_audio"},
                          {"frames", rng.between(60, 200)},
                          {"gap_ms", rng.between(2, 10)}});
  }
}

}  // namespace

nlohmann::ordered_json random_scenario(uint64_t seed) {
  Prng rng(seed);
  nlohmann::ordered_json s;
  const int64_t duration_ms = rng.between(20'000, 60'000);
  s["name"] = "swarm-" + std::to_string(seed);
  s["description"] = "random scenario drawn by hailer-sim --swarm";
  s["seed"] = seed;
  s["duration_ms"] = duration_ms;
  s["server"] = {{"ring_timeout_ms", rng.between(2'000, 8'000)},
                 {"recall_window_ms", rng.between(1'000, 5'000)},
                 {"wait_expiry_ms", rng.between(10'000, 40'000)},
                 {"max_waiters_per_callee", rng.between(1, 4)},
                 {"heartbeat_timeout_ms", rng.between(8'000, 20'000)},
                 {"max_talk_ms", rng.between(3'000, 12'000)},
                 {"silence_timeout_ms", rng.between(1'000, 5'000)},
                 {"max_floor_queue", rng.between(1, 3)},
                 {"default_floor_policy", rng.chance(1, 2) ? "queue" : "deny"},
                 {"auto_connect_default", rng.chance(1, 4)}};
  s["network"]["default"] = {{"latency_ms", rng.between(1, 80)},
                             {"jitter_ms", rng.between(0, 40)},
                             {"loss", rng.chance(1, 2) ? 0.0 : static_cast<double>(rng.between(0, 50)) / 1000.0},
                             {"burst_enter", rng.chance(1, 3) ? 0.01 : 0.0},
                             {"duplicate", rng.chance(1, 4) ? 0.01 : 0.0},
                             {"reorder", rng.chance(1, 4) ? 0.02 : 0.0}};

  std::vector<std::string> calls, ptt, everyone;
  random_participants(rng, s, calls, ptt);
  everyone = calls;
  everyone.insert(everyone.end(), ptt.begin(), ptt.end());
  random_steps(rng, s, duration_ms, calls, everyone);
  random_faults(rng, s, duration_ms, everyone);
  random_transport(rng, s, duration_ms, ptt);
  s["expect"] = nlohmann::ordered_json::array();  // invariants only
  return s;
}

}  // namespace hailer::sim
