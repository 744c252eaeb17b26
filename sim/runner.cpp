#include "sim/runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <sstream>

#include "base/assert.hpp"
#include "media/audio_metrics.hpp"
#include "media/emodel.hpp"
#include "sim/attacker.hpp"
#include "sim/metrics.hpp"
#include "sim/parallel.hpp"
#include "sim/simulated_client.hpp"
#include "sim/simulated_server.hpp"
#include "sim/world.hpp"

namespace hailer::sim {

namespace {

constexpr int64_t no_limit = std::numeric_limits<int64_t>::max();

std::string ms_text(int64_t us) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << static_cast<double>(us) / 1000.0 << " ms";
  return o.str();
}

std::string number_text(double v) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(3);
  o << v;
  return o.str();
}

// True when `body` has every field of `where` with that value; a nested object matches when
// it has the fields named (like the top level), an array only when equal.
bool fields_match(const nlohmann::json& body, const nlohmann::json& where) {
  for (const auto& [k, v] : where.items()) {
    if (!body.contains(k)) return false;
    const auto& b = body.at(k);
    if (v.is_object() ? !(b.is_object() && fields_match(b, v)) : b != v) return false;
  }
  return true;
}

// [from, until) in virtual microseconds.
struct Window {
  int64_t from_us = 0;
  int64_t until_us = no_limit;
  bool has_cause = false;
};

Window window_of(const Expectation& e, const std::map<std::string, int64_t>& labels) {
  Window w;
  if (!e.after.empty()) {
    w.from_us = labels.at(e.after);
    w.has_cause = true;
  }
  const int64_t cause = w.from_us;
  if (e.not_before_ms) w.from_us = cause + *e.not_before_ms * 1000;
  if (!e.before.empty()) w.until_us = labels.at(e.before);
  if (e.within_ms) w.until_us = std::min(w.until_us, cause + *e.within_ms * 1000 + 1);
  return w;
}

int64_t cause_of(const Expectation& e, const std::map<std::string, int64_t>& labels) {
  return e.after.empty() ? 0 : labels.at(e.after);
}

bool matches(const Notice& n, const std::string& type, const nlohmann::json* where, const std::string& to,
             const Window& w) {
  return n.to == to && n.type == type && n.at_us >= w.from_us && n.at_us < w.until_us &&
         (where == nullptr || fields_match(n.body, *where));
}

const nlohmann::json* where_at(const Expectation& e, std::size_t i) {
  if (e.where.empty()) return nullptr;
  return &e.where[std::min(i, e.where.size() - 1)];
}

// Index of the first notice of `type` to `to` inside the window.
std::optional<std::size_t> first_match(const std::vector<Notice>& notices, const std::string& type,
                                       const nlohmann::json* where, const std::string& to, const Window& w) {
  for (std::size_t i = 0; i < notices.size(); ++i) {
    if (matches(notices[i], type, where, to, w)) return i;
  }
  return std::nullopt;
}

std::string seen_instead(const std::vector<Notice>& notices, const std::string& type, const std::string& to) {
  std::ostringstream o;
  int shown = 0;
  for (const Notice& n : notices) {
    if (n.to != to || n.type != type) continue;
    if (shown++ == 3) {
      o << " ...";
      break;
    }
    o << (shown == 1 ? " seen instead:" : ";") << " at " << ms_text(n.at_us) << " " << n.body.dump();
  }
  if (shown == 0) o << " no '" << type << "' reached " << to << " at all";
  return o.str();
}

void judge_notice(ExpectationResult& r, const Expectation& e, World& w) {
  const Window win = window_of(e, w.label_times_us());
  const int64_t cause = cause_of(e, w.label_times_us());
  r.passed = true;
  for (const auto& to : e.to) {
    const auto i = first_match(w.notices(), e.types[0], where_at(e, 0), to, win);
    if (!i) {
      r.passed = false;
      r.detail += "expected '" + e.types[0] + "' to " + to + (win.has_cause ? " in the window after " + e.after : "") +
                  ";" + seen_instead(w.notices(), e.types[0], to) + " ";
      continue;
    }
    const int64_t at = w.notices()[*i].at_us;
    if (win.has_cause) r.latency_us = at - cause;
    r.detail += to + " at " + ms_text(at) + (win.has_cause ? " (+" + ms_text(at - cause) + ")" : "") + " ";
  }
}

void judge_no_notice(ExpectationResult& r, const Expectation& e, World& w) {
  const Window win = window_of(e, w.label_times_us());
  r.passed = true;
  for (const auto& to : e.to) {
    if (const auto i = first_match(w.notices(), e.types[0], where_at(e, 0), to, win)) {
      r.passed = false;
      r.detail += "unexpected '" + e.types[0] + "' to " + to + " at " + ms_text(w.notices()[*i].at_us) + ": " +
                  w.notices()[*i].body.dump() + " ";
    }
  }
  if (r.passed) r.detail = "none seen";
}

void judge_count(ExpectationResult& r, const Expectation& e, World& w) {
  const Window win = window_of(e, w.label_times_us());
  uint64_t count = 0;
  std::string who;
  for (const Notice& n : w.notices()) {
    for (const auto& to : e.to) {
      if (matches(n, e.types[0], where_at(e, 0), to, win)) {
        ++count;
        who += " " + to + "@" + ms_text(n.at_us);
      }
    }
  }
  r.passed = (!e.exactly || count == *e.exactly) && (!e.min_count || count >= *e.min_count) &&
             (!e.max_count || count <= *e.max_count);
  r.detail = std::to_string(count) + " '" + e.types[0] + "' seen" + (who.empty() ? "" : ":" + who);
}

void judge_order(ExpectationResult& r, const Expectation& e, World& w) {
  const Window win = window_of(e, w.label_times_us());
  std::optional<std::size_t> previous;
  r.passed = true;
  const bool by_type = e.types.size() > 1;
  const std::size_t steps = by_type ? e.types.size() : e.to.size();
  for (std::size_t k = 0; k < steps; ++k) {
    const std::string& type = by_type ? e.types[k] : e.types[0];
    const std::string& to = by_type ? e.to[0] : e.to[k];
    const auto i = first_match(w.notices(), type, where_at(e, k), to, win);
    if (!i) {
      r.passed = false;
      r.detail += to + " never got '" + type + "' ";
      continue;
    }
    if (previous && *i <= *previous) {
      r.passed = false;
      r.detail += "'" + type + "' to " + to + " came out of order ";
    }
    r.detail += type + ">" + to + "@" + ms_text(w.notices()[*i].at_us) + " ";
    previous = i;
  }
}

// SRTP refusals over every user, and how the two ends' safety numbers of each call compare.
std::vector<std::pair<std::string, uint64_t>> media_counters(World& w) {
  uint64_t forged = 0, replayed = 0, truncated = 0, matches = 0, mismatches = 0;
  for (const auto& [name, c] : w.clients()) {
    forged += c->srtp_forged();
    replayed += c->srtp_replayed();
    truncated += c->srtp_truncated();
  }
  // Each call's two call_secured notices, paired by call id; a call is counted once.
  std::map<uint64_t, std::vector<std::string>> numbers;
  for (const Notice& n : w.notices()) {
    if (n.type == "call_secured") numbers[n.body["call_id"].get<uint64_t>()].push_back(n.body["safety_number"]);
  }
  for (const auto& [call, seen] : numbers) {
    if (seen.size() != 2) continue;
    (seen[0] == seen[1] ? matches : mismatches) += 1;
  }
  const std::vector<uint64_t> values{forged, replayed, truncated, matches, mismatches};
  std::vector<std::pair<std::string, uint64_t>> out;
  for (std::size_t i = 0; i < values.size(); ++i) out.emplace_back(media_counter_names()[i], values[i]);
  return out;
}

std::vector<std::pair<std::string, double>> attack_counters(const Attacker* a) {
  const AttackStats s = a != nullptr ? a->stats() : AttackStats{};
  const auto d = [](uint64_t v) { return static_cast<double>(v); };
  const std::vector<double> values{d(s.tapped),   d(s.injected),        d(s.injected_played),
                                   d(s.replayed), d(s.replayed_played), d(s.keys_swapped),
                                   d(s.opened),   d(s.heard_frames),    s.heard_correlation};
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t i = 0; i < values.size(); ++i) out.emplace_back(attack_counter_names()[i], values[i]);
  return out;
}

StreamResult measure(AudioStream& s) {
  StreamResult m;
  m.from = s.from;
  m.to = s.to;
  m.started_ms = s.started_us / 1000;
  m.stats = s.stats();
  m.dropped_foreign = s.dropped_foreign;
  m.frames_held = s.frames_held;
  m.path = s.path;
  m.packets_direct = s.packets_direct;
  m.packets_relay = s.packets_relay;
  m.packets_tunnel = s.packets_tunnel;
  m.path_switches = s.path_switches;
  if (s.first_played_us >= 0) m.first_audio_ms = (s.first_played_us - s.started_us) / 1000;
  if (!s.m2e_us.empty()) {
    double sum = 0;
    for (int64_t v : s.m2e_us) sum += static_cast<double>(v);
    m.m2e_mean_ms = sum / static_cast<double>(s.m2e_us.size()) / 1000.0;
    m.m2e_p50_ms = percentile(s.m2e_us, 50) / 1000.0;
    m.m2e_p95_ms = percentile(s.m2e_us, 95) / 1000.0;
    m.m2e_max_ms = percentile(s.m2e_us, 100) / 1000.0;
  }
  const auto sim = segmental_similarity(s.sent, s.received, 48'000, 1000, 2000);
  m.received_silent = std::all_of(s.received.begin(), s.received.end(), [](int16_t v) { return v == 0; });
  if (sim.unmeasurable.empty()) m.correlation = sim.correlation;
  m.unmeasurable = sim.unmeasurable;
  m.lag_ms = sim.lag_ms;
  m.burst_ratio = burst_ratio(s.loss_trace);
  EModelInput in;
  in.mouth_to_ear_ms = m.m2e_mean_ms;
  in.loss_percent = 100.0 * m.stats.effective_loss();
  in.burst_ratio = m.burst_ratio;
  m.r = r_factor(in);
  m.mos = mos_from_r(m.r);
  m.concealed_at_ms = s.concealed_at_ms;
  m.sent_ms = s.sent.size() / 48;
  m.received_ms = s.received.size() / 48;
  m.sent = std::move(s.sent);  // the run is over: the tracks move to the result (a minute is 5.8 MB each)
  m.received = std::move(s.received);
  return m;
}

void judge_stream(ExpectationResult& r, const Expectation& e, const StreamResult& s) {
  std::ostringstream o;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) r.passed = false;
    o << (ok ? "" : "FAILED ") << what << "; ";
  };
  if (e.mos_min) check(s.mos >= *e.mos_min, "MOS " + number_text(s.mos) + " >= " + number_text(*e.mos_min));
  if (e.loss_max) {
    const double loss = s.stats.effective_loss();
    check(loss <= *e.loss_max, "loss " + number_text(loss) + " <= " + number_text(*e.loss_max));
  }
  if (e.m2e_p95_max_ms) {
    check(s.m2e_p95_ms <= *e.m2e_p95_max_ms,
          "mouth-to-ear p95 " + number_text(s.m2e_p95_ms) + " ms <= " + number_text(*e.m2e_p95_max_ms));
  }
  if (e.correlation_min) {
    if (!s.correlation)
      check(false, "correlation not measurable: " + s.unmeasurable);
    else
      check(*s.correlation >= *e.correlation_min,
            "correlation " + number_text(*s.correlation) + " >= " + number_text(*e.correlation_min));
  }
  if (e.correlation_max) {
    // Nothing audible heard correlates with nothing: a silent track passes; any other that
    // cannot be measured does not.
    if (!s.correlation && s.received_silent)
      check(true, "heard nothing audible (correlation 0) <= " + number_text(*e.correlation_max));
    else if (!s.correlation)
      check(false, "correlation not measurable: " + s.unmeasurable);
    else
      check(*s.correlation <= *e.correlation_max,
            "correlation " + number_text(*s.correlation) + " <= " + number_text(*e.correlation_max));
  }
  if (!e.path.empty()) check(s.path == e.path, "path " + s.path + " == " + e.path);
  if (e.first_audio_max_ms) {
    check(s.first_audio_ms >= 0 && s.first_audio_ms <= *e.first_audio_max_ms,
          "first audio " + std::to_string(s.first_audio_ms) + " ms <= " + std::to_string(*e.first_audio_max_ms));
  }
  if (e.interruptions_max) {
    check(s.stats.interruptions <= *e.interruptions_max,
          "interruptions " + std::to_string(s.stats.interruptions) + " <= " + std::to_string(*e.interruptions_max));
  }
  r.detail += "[" + s.from + "->" + s.to + " @" + std::to_string(s.started_ms) + " ms] " + o.str();
}

void judge_audio(ExpectationResult& r, const Expectation& e, const std::vector<StreamResult>& streams) {
  r.passed = true;
  uint32_t leg = 0;
  int judged = 0;
  for (const StreamResult& s : streams) {
    if (s.from != e.from || s.to != e.sink) continue;
    ++leg;
    if (e.leg && leg != *e.leg) continue;
    if (s.received_ms == 0 && !e.leg) continue;  // a leg that never played: judged by no_audio, not here
    ++judged;
    judge_stream(r, e, s);
  }
  if (judged == 0) {
    r.passed = false;
    r.detail = e.leg ? "no stream number " + std::to_string(*e.leg) + " from " + e.from + " to " + e.sink + " (" +
                           std::to_string(leg) + " in all)"
                     : "no audio was played from " + e.from + " to " + e.sink;
  }
}

void judge_no_audio(ExpectationResult& r, const Expectation& e, const std::vector<StreamResult>& streams) {
  r.passed = true;
  for (const StreamResult& s : streams) {
    if (s.from != e.from || (!e.sink.empty() && s.to != e.sink) || s.received_ms == 0) continue;
    r.passed = false;
    r.detail += s.from + " -> " + s.to + " played " + std::to_string(s.received_ms) + " ms from " +
                std::to_string(s.started_ms) + " ms; ";
  }
  if (r.passed) r.detail = "no audio from " + e.from + " was played" + (e.sink.empty() ? "" : " to " + e.sink);
}

void judge_recording(ExpectationResult& r, const Expectation& e, const std::vector<RecordingResult>& recordings) {
  for (const RecordingResult& rec : recordings) {
    if (rec.file != e.file) continue;
    r.passed = rec.audio_ms >= e.min_duration_ms;
    r.detail = rec.file + ": turn " + std::to_string(rec.duration_ms) + " ms, audio " + std::to_string(rec.audio_ms) +
               " ms (need >= " + std::to_string(e.min_duration_ms) + ")";
    return;
  }
  r.passed = false;
  r.detail = "no recording named " + e.file;
}

void judge_metric(ExpectationResult& r, const Expectation& e, const RunResult& run) {
  const std::optional<double> v = metric_value(run, e.metric);
  if (!v) {
    r.passed = false;
    r.detail = e.metric + " has no value in this run (nothing of that kind was seen)";
    return;
  }
  r.passed = (!e.min || *v >= *e.min) && (!e.max || *v <= *e.max);
  r.detail = e.metric + " = " + number_text(*v) + (e.min ? " (min " + number_text(*e.min) + ")" : "") +
             (e.max ? " (max " + number_text(*e.max) + ")" : "");
}

}  // namespace

double percentile(std::vector<int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return static_cast<double>(values[std::clamp<std::size_t>(rank, 1, values.size()) - 1]);
}

RunResult run_scenario(const Scenario& scenario, const std::string& source, const std::string& fixtures_dir,
                       const std::function<void(double)>& progress, MediaCache* cache) {
  RunResult result;
  result.scenario = scenario.name;
  result.source = source;
  result.seed = scenario.seed;
  result.duration_ms = scenario.duration_ms;
  std::unique_ptr<World> world;
  // A failed assertion aborts; it names the scenario, seed, virtual time and last step first, so
  // `hailer-sim` can replay exactly that run.
  struct Where {
    const RunResult* result;
    const std::unique_ptr<World>* world;
  } where{&result, &world};
  const AssertContext context(
      [](const void* arg, char* out, std::size_t size) {
        const auto& w = *static_cast<const Where*>(arg);
        World* running = w.world->get();
        std::snprintf(out, size, "running scenario %s (seed %llu) at t=%s after %s", w.result->scenario.c_str(),
                      static_cast<unsigned long long>(w.result->seed),
                      running ? ms_text(running->queue().now().us).c_str() : "0",
                      running ? running->last_step().c_str() : "setup");
      },
      &where);
  try {
    world = std::make_unique<World>(scenario, fixtures_dir, cache);
    world->run(progress);
  } catch (const FixtureError&) {
    throw;                             // the scenario cannot run here at all: a usage error, not a failed run
  } catch (const std::exception& e) {  // a broken world invariant (InvariantBroken) or a setup error
    const int64_t at = world ? world->queue().now().us : 0;
    result.failure =
        std::string(e.what()) + " (at t=" + ms_text(at) + (world ? ", after " + world->last_step() : "") + ")";
    result.passed = false;
    return result;
  }
  // Each stream is measured from its own tracks alone, so the streams share the cores.
  std::deque<AudioStream>& streams = world->streams();
  result.streams.resize(streams.size());
  run_in_parallel(streams.size(), [&](std::size_t i) { result.streams[i] = measure(streams[i]); });
  for (const Recording& rec : world->server().recordings()) {
    result.recordings.push_back(RecordingResult{rec.file, rec.room, (rec.ended_us - rec.started_us) / 1000,
                                                static_cast<int64_t>(rec.pcm.size() / 48), rec.pcm});
  }
  for (const Notice& n : world->notices()) {
    if (n.cause_us) result.notice_latency_us[n.type].push_back(n.at_us - *n.cause_us);
  }
  result.reply_rtt_us = world->reply_rtts_us();
  result.notices = world->notices().size();
  result.events = world->queue().executed();
  result.core = world->server().host().core().stats();
  result.host = world->server().host().stats();
  result.speaker = world->server().host().speaker_stats();
  result.messages = world->messages();
  result.media = media_counters(*world);
  result.attack = attack_counters(world->attacker());
  result.passed = true;
  for (std::size_t i = 0; i < scenario.expectations.size(); ++i) {
    const Expectation& e = scenario.expectations[i];
    ExpectationResult r;
    r.index = i;
    r.text = e.text;
    switch (e.kind) {
      case ExpectKind::notice:
        judge_notice(r, e, *world);
        break;
      case ExpectKind::no_notice:
        judge_no_notice(r, e, *world);
        break;
      case ExpectKind::count:
        judge_count(r, e, *world);
        break;
      case ExpectKind::order:
        judge_order(r, e, *world);
        break;
      case ExpectKind::audio:
        judge_audio(r, e, result.streams);
        break;
      case ExpectKind::no_audio:
        judge_no_audio(r, e, result.streams);
        break;
      case ExpectKind::recording:
        judge_recording(r, e, result.recordings);
        break;
      case ExpectKind::metric:
        judge_metric(r, e, result);
        break;
    }
    result.passed = result.passed && r.passed;
    result.expectations.push_back(std::move(r));
  }
  return result;
}

}  // namespace hailer::sim
