#include "sim/metrics.hpp"

#include <algorithm>

#include "host/counters.hpp"
#include "protocol/codec.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"

namespace hailer::sim {

const std::vector<std::string>& latency_stat_names() {
  static const std::vector<std::string> names{"count", "p50_ms", "p95_ms", "max_ms"};
  return names;
}

const std::vector<std::string>& media_counter_names() {
  static const std::vector<std::string> names{"srtp_forged", "srtp_replayed", "srtp_truncated", "safety_matches",
                                              "safety_mismatches"};
  return names;
}

const std::vector<std::string>& attack_counter_names() {
  static const std::vector<std::string> names{"tapped",   "injected",        "injected_played",
                                              "replayed", "replayed_played", "keys_swapped",
                                              "opened",   "heard_frames",    "heard_correlation"};
  return names;
}

namespace {
bool is_named(const std::vector<std::string>& names, const std::string& s) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

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
  if (path.starts_with("media.")) return is_named(media_counter_names(), path.substr(6));
  if (path.starts_with("attack.")) return is_named(attack_counter_names(), path.substr(7));
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
  if (path.starts_with("media.")) return counter(run.media, path.substr(6));
  if (path.starts_with("attack.")) {
    for (const auto& [n, v] : run.attack) {
      if (n == path.substr(7)) return v;
    }
    return std::nullopt;
  }
  if (path.starts_with("notify_latency.")) {
    const std::string rest = path.substr(15);
    const auto dot = rest.rfind('.');
    auto it = run.notice_latency_us.find(rest.substr(0, dot));
    return stat_of(it == run.notice_latency_us.end() ? std::vector<int64_t>{} : it->second, rest.substr(dot + 1));
  }
  return std::nullopt;
}

}  // namespace hailer::sim
