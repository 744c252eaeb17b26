// Swarm testing: random scenarios drawn from a seed (participants, network, faults, steps),
// run with every invariant on. A failing draw is a plain scenario file that replays alone.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace hailer::sim {

/// A random but valid scenario; the same seed always gives the same scenario.
nlohmann::ordered_json random_scenario(uint64_t seed);

/// The seed of run `index` of a swarm started from `swarm_seed`.
uint64_t swarm_run_seed(uint64_t swarm_seed, uint64_t index);

}  // namespace hailer::sim
