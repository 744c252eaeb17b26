#include "metrics.hpp"

#include "core/codec.hpp"
#include "runner.hpp"
#include "scenario.hpp"

namespace hailer::sim {

std::vector<std::pair<std::string, uint64_t>> core_counters(const CoreStats& s) {
  std::vector<std::pair<std::string, uint64_t>> out{
      {"events", s.events},
      {"requests", s.requests},
      {"errors", s.errors},
      {"sessions_opened", s.sessions_opened},
      {"calls_placed", s.calls_placed},
      {"calls_connected", s.calls_connected},
      {"waits_notified", s.waits_notified},
      {"floor_grants", s.floor_grants},
      {"audio_frames_admitted", s.audio_frames_admitted},
      {"audio_frames_dropped", s.audio_frames_dropped},
      {"media_probes", s.media_probes},
      {"media_probes_unknown", s.media_probes_unknown},
  };
  for (std::size_t r = 0; r < close_reason_count; ++r) {
    out.emplace_back("closed." + std::string(to_string(static_cast<CloseReason>(r))), s.closed_by_reason[r]);
  }
  return out;
}

std::vector<std::pair<std::string, uint64_t>> host_counters(const HostStats& h, const SpeakerStats& sp) {
  return {{"texts_in", h.texts_in},
          {"binary_in", h.binary_in},
          {"messages_out", h.messages_out},
          {"broadcasts", h.broadcasts},
          {"bad_frames", h.bad_frames},
          {"datagrams_in", h.datagrams_in},
          {"datagrams_ignored", h.datagrams_ignored},
          {"speaker_frames_in", sp.frames_in},
          {"speaker_frames_played", sp.frames_played},
          {"speaker_frames_concealed", sp.frames_concealed},
          {"speaker_turns", sp.turns}};
}

const std::vector<std::string>& latency_stat_names() {
  static const std::vector<std::string> names{"count", "p50_ms", "p95_ms", "max_ms"};
  return names;
}

namespace {
bool is_stat(const std::string& s) {
  for (const auto& n : latency_stat_names()) {
    if (n == s) return true;
  }
  return false;
}

bool has_counter(const std::vector<std::pair<std::string, uint64_t>>& counters, const std::string& name) {
  for (const auto& [n, v] : counters) {
    if (n == name) return true;
  }
  return false;
}

std::optional<double> counter(const std::vector<std::pair<std::string, uint64_t>>& counters, const std::string& name) {
  for (const auto& [n, v] : counters) {
    if (n == name) return static_cast<double>(v);
  }
  return std::nullopt;
}

std::optional<double> stat_of(const std::vector<int64_t>& us, const std::string& stat) {
  if (us.empty()) return stat == "count" ? std::optional<double>(0) : std::nullopt;
  if (stat == "count") return static_cast<double>(us.size());
  const double p = stat == "p50_ms" ? 50 : stat == "p95_ms" ? 95 : 100;
  return percentile(us, p) / 1000.0;
}
}  // namespace

bool metric_known(const std::string& path) {
  if (path.starts_with("core.")) return has_counter(core_counters({}), path.substr(5));
  if (path.starts_with("host.")) return has_counter(host_counters({}, {}), path.substr(5));
  if (path.starts_with("reply_rtt.")) return is_stat(path.substr(10));
  if (path.starts_with("notify_latency.")) {
    const std::string rest = path.substr(15);
    const auto dot = rest.rfind('.');
    if (dot == std::string::npos) return false;
    const std::string type = rest.substr(0, dot);
    return (is_server_message_type(type) || client_notice_types.contains(type)) && is_stat(rest.substr(dot + 1));
  }
  return false;
}

std::optional<double> metric_value(const RunResult& run, const std::string& path) {
  if (path.starts_with("core.")) return counter(core_counters(run.core), path.substr(5));
  if (path.starts_with("host.")) return counter(host_counters(run.host, run.speaker), path.substr(5));
  if (path.starts_with("reply_rtt.")) return stat_of(run.reply_rtt_us, path.substr(10));
  if (path.starts_with("notify_latency.")) {
    const std::string rest = path.substr(15);
    const auto dot = rest.rfind('.');
    auto it = run.notice_latency_us.find(rest.substr(0, dot));
    return stat_of(it == run.notice_latency_us.end() ? std::vector<int64_t>{} : it->second, rest.substr(dot + 1));
  }
  return std::nullopt;
}

}  // namespace hailer::sim
