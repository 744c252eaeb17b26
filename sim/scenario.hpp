// A scenario: who takes part, over which network, doing what when, and what must be seen.
// The JSON format is documented in docs/scenarios.md; parsing is strict (unknown keys, wrongly
// typed values and values out of range are refused) and every error names its JSON path.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "media/io/opus_codec.hpp"
#include "media/jitter_buffer.hpp"
#include "protocol/messages.hpp"
#include "sim/network.hpp"

namespace hailer::sim {

/// A scenario file that cannot be used, with the JSON path of the problem.
class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What an attacker on the media path of one call does (a participant with "attack").
struct AttackPlan {
  std::vector<std::string> on;             ///< the two calls participants whose media it taps, both ways
  bool eavesdrop = true;                   ///< decodes what it taps as RTP/Opus: its heard track ("X" -> attacker)
  uint32_t inject_per_second = 0;          ///< forged RTP sent to each end, as from the other end
  std::optional<int64_t> replay_after_ms;  ///< every tapped packet sent again to its receiver this much later
  bool swap_keys = false;                  ///< rewrites the server's peer_media_key messages (a lying server)
};

/// One simulated user.
/// What stands between a calls participant's media socket and the network (docs/scenarios.md).
enum class NatKind : uint8_t {
  none,             ///< its declared port, reachable by anyone
  full_cone,        ///< one mapped port for every destination, reachable by anyone
  port_restricted,  ///< one mapped port; a datagram gets in only from an address and port it sent to
  symmetric,        ///< a new mapped port per destination, reachable only from that destination
  udp_blocked,      ///< a firewall that drops every datagram in and out (signaling still works)
};

/// The name of a NAT kind as scenarios write it.
const char* to_string(NatKind kind);

struct Participant {
  std::string name;
  Face face = Face::calls;
  std::string room;                              ///< PTT only
  Role role = Role::student;                     ///< PTT only
  AudioFormat format{AudioCodec::opus, 48'000};  ///< PTT only: codec and (pcm16) sample rate
  std::string token;                             ///< PTT instructors, when the server wants one
  std::string audio;                             ///< a WAV file, "tone:HZ" or "speechlike:SEED"; empty: silent
  int64_t start_ms = 0;                          ///< connects and registers/joins then
  bool auto_ping = true;                         ///< pings after ping_interval_ms without sending
  int64_t ping_interval_ms = 10'000;
  std::optional<int64_t> auto_accept_ms;  ///< accepts an incoming call after this long
  std::optional<int64_t> auto_recall_ms;  ///< calls back this long after callee_available
  NatKind nat = NatKind::none;            ///< calls: the NAT (or firewall) in front of its media port
  bool probe = true;                      ///< calls: proves its media endpoint over UDP
  bool plaintext_media = false;           ///< calls: plain RTP, no end-to-end keys (hailer --plaintext-media)
  std::optional<AttackPlan> attack;       ///< not a user but an attacker on the network (see AttackPlan)
};

/// What a step does.
enum class Action : uint8_t {
  connect,
  disconnect,
  reconnect,
  hello,
  who,
  call,
  accept,
  reject,
  hangup,
  cancel,
  cancel_wait,
  missed,
  ping,
  press,
  release,
  revoke,
  set_policy,
  grant,
  skip,
  raw,
  raw_audio,
  raw_binary
};

/// One scripted action, with its arguments typed.
struct Step {
  int64_t at_ms = 0;
  std::string who;
  Action action = Action::ping;
  std::string action_name;                 ///< as written, for messages
  std::string to;                          ///< call; grant, skip: the queued student
  std::optional<bool> auto_connect;        ///< call
  std::optional<uint64_t> call_id;         ///< accept, reject
  FloorPolicy policy = FloorPolicy::deny;  ///< set_policy
  std::string text;                        ///< raw: sent as-is
  uint32_t frames = 10;                    ///< raw_audio: well-formed frames sent gap_ms apart, floor or not
  int64_t gap_ms = 20;                     ///< raw_audio: time between two frames (20 is real time)
  std::vector<uint8_t> bytes;              ///< raw_binary: one binary message, as-is
  std::string label;                       ///< names the step as a cause for expectations
};

/// What a fault does.
enum class FaultKind : uint8_t { partition, stall, disconnect, link, udp_block };

/// A timed network fault.
struct Fault {
  int64_t at_ms = 0;
  FaultKind kind = FaultKind::partition;
  std::vector<std::set<std::string>> groups;
  std::string who;
  int64_t duration_ms = 0;
  std::string a, b;
  LinkProfile profile;
  std::string label;
};

/// What a scenario checks.
enum class ExpectKind : uint8_t { notice, no_notice, count, order, audio, no_audio, recording, metric };

/// One expectation; which fields matter depends on the kind.
struct Expectation {
  ExpectKind kind = ExpectKind::notice;
  std::string text;                      ///< the expectation as written, for messages
  std::vector<std::string> types;        ///< notice types (order: several to one recipient, or one to several)
  std::vector<std::string> to;           ///< recipients
  std::vector<nlohmann::json> where;     ///< fields the notice must have (one per type, or one)
  std::string after, before;             ///< step or fault labels bounding the time window
  std::optional<int64_t> within_ms;      ///< at most this long after `after`
  std::optional<int64_t> not_before_ms;  ///< at least this long after `after`
  std::optional<uint64_t> exactly, min_count, max_count;  ///< count
  std::string from;                                       ///< audio, no_audio: sender
  std::string sink;             ///< audio: receiver, or "speaker" for PTT; no_audio: empty = anyone
  std::optional<uint32_t> leg;  ///< audio: only the n-th stream (1-based) from `from` to `sink`
  std::optional<double> mos_min, loss_max, m2e_p95_max_ms, correlation_min, correlation_max;
  std::optional<uint64_t> interruptions_max;
  std::string path;                           ///< audio: the sender's path at the end (direct, relay, tunnel)
  std::optional<int64_t> first_audio_max_ms;  ///< audio: from the call's audio starting to its first played frame
  std::string file;                           ///< recording: file name
  int64_t min_duration_ms = 0;
  std::string metric;              ///< metric: a report.json path, e.g. "core.calls_connected"
  std::optional<double> min, max;  ///< metric bounds
};

/// A whole scenario.
/// The transport's rules for every connection (host/transport_rules.hpp), as hailer-server's
/// flags set them: a scenario may lower them to reach them.
struct TransportLimits {
  std::size_t max_outbound_bytes = 256 * 1024;  ///< waiting for a reader beyond this: slow_reader
  uint32_t max_frames_per_second = 100;         ///< audio frames per connection per second
  uint32_t max_sessions_per_address = 64;       ///< sessions one address holds (a participant is one address)
};

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
  TransportLimits transport;
};

/// Parses and validates a scenario; `source` names it in errors.
Scenario parse_scenario(const nlohmann::json& json, const std::string& source);

/// Reads a scenario file; throws ScenarioError.
Scenario load_scenario(const std::string& path);

/// True when `path` names a value a metric expectation can bound (see docs/scenarios.md).
bool known_metric(const std::string& path);

/// Notice types that are not server messages: what a simulated client notes about itself.
inline const std::set<std::string> client_notice_types{"disconnected", "skipped", "call_secured", "call_key_refused"};

}  // namespace hailer::sim
