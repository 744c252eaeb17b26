// A scenario: who takes part, over which network, doing what when, and what must be seen.
// The JSON format is documented in docs/scenarios.md; parsing is strict and every error names
// the JSON path of the offending value.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/opus_codec.hpp"
#include "core/config.hpp"
#include "core/jitter_buffer.hpp"
#include "core/messages.hpp"
#include "network.hpp"

namespace hailer::sim {

/// A scenario file that cannot be used, with the JSON path of the problem.
class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Which face a participant uses.
enum class Face : uint8_t { calls, ptt };

/// One simulated user.
struct Participant {
  std::string name;
  Face face = Face::calls;
  std::string room;                       ///< PTT only
  Role role = Role::student;              ///< PTT only
  AudioCodec codec = AudioCodec::opus;    ///< PTT only
  std::string token;                      ///< PTT instructors, when the server wants one
  std::string audio;                      ///< a WAV file, "tone:HZ" or "speechlike:SEED"; empty: silent
  int64_t start_ms = 0;                   ///< connects and registers/joins then
  bool auto_ping = true;                  ///< pings every ping_interval_ms
  int64_t ping_interval_ms = 10'000;
  std::optional<int64_t> auto_accept_ms;  ///< accepts an incoming call after this long
  std::optional<int64_t> auto_recall_ms;  ///< calls back this long after callee_available
};

/// One scripted action.
struct Step {
  int64_t at_ms = 0;
  std::string who;
  std::string action;  ///< a request type, or connect / disconnect / reconnect
  nlohmann::json args = nlohmann::json::object();
  std::string label;   ///< names the step as a cause for expectations
};

/// A timed network fault.
struct Fault {
  int64_t at_ms = 0;
  std::string kind;  ///< partition, stall, disconnect, link
  std::vector<std::set<std::string>> groups;
  std::string who;
  int64_t duration_ms = 0;
  std::string a, b;
  LinkProfile profile;
  std::string label;
};

/// What a scenario checks.
enum class ExpectKind : uint8_t { notice, no_notice, order, audio, recording };

/// One expectation; which fields matter depends on the kind.
struct Expectation {
  ExpectKind kind = ExpectKind::notice;
  std::string text;                 ///< the expectation as written, for messages
  std::string type;                 ///< notice type
  std::vector<std::string> to;      ///< recipients (order: in order)
  nlohmann::json where = nlohmann::json::object();  ///< fields the notice must have
  std::string after, before;        ///< step or fault labels bounding the time window
  std::optional<int64_t> within_ms; ///< at most this long after `after`
  std::string from;                 ///< audio: sender
  std::string sink;                 ///< audio: receiver, or "speaker" for PTT
  std::optional<double> mos_min, loss_max, m2e_p95_max_ms, correlation_min;
  std::optional<uint64_t> interruptions_max;
  std::string file;                 ///< recording: file name
  int64_t min_duration_ms = 0;
};

/// A whole scenario.
struct Scenario {
  std::string name;
  std::string description;
  uint64_t seed = 1;
  int64_t duration_ms = 10'000;
  Config server;
  LinkProfile default_link;
  std::vector<std::pair<std::pair<std::string, std::string>, LinkProfile>> links;
  std::vector<Fault> faults;
  std::vector<Participant> participants;
  std::vector<Step> steps;
  std::vector<Expectation> expectations;
  OpusSettings opus;
  JitterBufferConfig jitter_buffer;
};

/// Parses and validates a scenario; `source` names it in errors.
Scenario parse_scenario(const nlohmann::json& json, const std::string& source);

/// Reads a scenario file; throws ScenarioError.
Scenario load_scenario(const std::string& path);

}  // namespace hailer::sim
