// The scenario parser on any JSON: a scenario or a ScenarioError, nothing else.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "sim/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded()) return 0;
  try {
    (void)hailer::sim::parse_scenario(json, "fuzz");
  } catch (const hailer::sim::ScenarioError&) {
  }
  return 0;
}
