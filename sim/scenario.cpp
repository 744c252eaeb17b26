#include "scenario.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/codec.hpp"
#include "core/names.hpp"

namespace hailer::sim {

namespace {

using json = nlohmann::json;

// Typed access to one JSON object, failing with the path. Unknown keys are errors: in a
// scenario a typo ("withn_ms") must not silently weaken a check.
class Obj {
 public:
  Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) fail("", "must be an object");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ScenarioError(path_ + (key.empty() ? "" : "." + key) + ": " + what);
  }

  void allow(std::initializer_list<const char*> keys) const {
    std::set<std::string> ok(keys.begin(), keys.end());
    for (const auto& [k, v] : j_.items()) {
      if (!ok.contains(k)) fail(k, "unknown field");
    }
  }

  bool has(const char* key) const { return j_.contains(key); }
  const json& raw(const char* key) const { return j_.at(key); }
  std::string path(const char* key) const { return path_ + "." + key; }

  std::string str(const char* key, std::optional<std::string> fallback = std::nullopt) const {
    if (!has(key)) return fallback ? *fallback : (fail(key, "is required"), "");
    if (!j_.at(key).is_string()) fail(key, "must be a string");
    return j_.at(key).get<std::string>();
  }
  int64_t integer(const char* key, std::optional<int64_t> fallback, int64_t lo, int64_t hi) const {
    if (!has(key)) return fallback ? *fallback : (fail(key, "is required"), 0);
    if (!j_.at(key).is_number_integer()) fail(key, "must be an integer");
    const auto v = j_.at(key).get<int64_t>();
    if (v < lo || v > hi) fail(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
    return v;
  }
  double number(const char* key, double fallback, double lo, double hi) const {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_number()) fail(key, "must be a number");
    const auto v = j_.at(key).get<double>();
    if (v < lo || v > hi) fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }
  std::optional<double> opt_number(const char* key, double lo, double hi) const {
    if (!has(key)) return std::nullopt;
    return number(key, 0, lo, hi);
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_boolean()) fail(key, "must be true or false");
    return j_.at(key).get<bool>();
  }
  const json& array(const char* key) const {
    static const json empty = json::array();
    if (!has(key)) return empty;
    if (!j_.at(key).is_array()) fail(key, "must be an array");
    return j_.at(key);
  }

 private:
  const json& j_;
  std::string path_;
};

constexpr int64_t max_ms = 24LL * 3600 * 1000;

LinkProfile parse_link(const Obj& o, LinkProfile base) {
  base.latency_ms = o.integer("latency_ms", base.latency_ms, 0, 10'000);
  base.jitter_ms = o.integer("jitter_ms", base.jitter_ms, 0, 10'000);
  base.loss.random = o.number("loss", base.loss.random, 0, 1);
  base.loss.burst_enter = o.number("burst_enter", base.loss.burst_enter, 0, 1);
  base.loss.burst_exit = o.number("burst_exit", base.loss.burst_exit, 0.001, 1);
  base.loss.burst_loss = o.number("burst_loss", base.loss.burst_loss, 0, 1);
  base.duplicate = o.number("duplicate", base.duplicate, 0, 1);
  base.reorder = o.number("reorder", base.reorder, 0, 1);
  base.reorder_delay_ms = o.integer("reorder_delay_ms", base.reorder_delay_ms, 0, 10'000);
  base.retransmit_ms = o.integer("retransmit_ms", base.retransmit_ms, 1, 10'000);
  return base;
}

constexpr std::initializer_list<const char*> link_keys{"latency_ms", "jitter_ms", "loss", "burst_enter", "burst_exit",
                                                        "burst_loss", "duplicate", "reorder", "reorder_delay_ms",
                                                        "retransmit_ms"};

void parse_server(const Obj& o, Config& c) {
  o.allow({"max_sessions", "heartbeat_timeout_ms", "ring_timeout_ms", "max_missed_calls", "max_waiters_per_callee",
           "recall_window_ms", "wait_expiry_ms", "auto_connect_default", "max_rooms", "max_room_members",
           "max_floor_queue", "max_talk_ms", "silence_timeout_ms", "silence_threshold_dbfs", "default_floor_policy",
           "instructor_token", "max_message_bytes"});
  c.max_sessions = static_cast<uint32_t>(o.integer("max_sessions", c.max_sessions, 1, 100'000));
  c.max_message_bytes = static_cast<uint32_t>(o.integer("max_message_bytes", c.max_message_bytes, 64, 1'048'576));
  c.heartbeat_timeout_ms = o.integer("heartbeat_timeout_ms", c.heartbeat_timeout_ms, 1, max_ms);
  c.ring_timeout_ms = o.integer("ring_timeout_ms", c.ring_timeout_ms, 1, max_ms);
  c.max_missed_calls = static_cast<uint32_t>(o.integer("max_missed_calls", c.max_missed_calls, 1, 1000));
  c.max_waiters_per_callee = static_cast<uint32_t>(o.integer("max_waiters_per_callee", c.max_waiters_per_callee, 1, 1000));
  c.recall_window_ms = o.integer("recall_window_ms", c.recall_window_ms, 1, max_ms);
  c.wait_expiry_ms = o.integer("wait_expiry_ms", c.wait_expiry_ms, 1, max_ms);
  c.auto_connect_default = o.boolean("auto_connect_default", c.auto_connect_default);
  c.max_rooms = static_cast<uint32_t>(o.integer("max_rooms", c.max_rooms, 1, 10'000));
  c.max_room_members = static_cast<uint32_t>(o.integer("max_room_members", c.max_room_members, 1, 10'000));
  c.max_floor_queue = static_cast<uint32_t>(o.integer("max_floor_queue", c.max_floor_queue, 1, 10'000));
  c.max_talk_ms = o.integer("max_talk_ms", c.max_talk_ms, 1, max_ms);
  c.silence_timeout_ms = o.integer("silence_timeout_ms", c.silence_timeout_ms, 1, max_ms);
  c.silence_threshold_dbfs = static_cast<int32_t>(o.integer("silence_threshold_dbfs", c.silence_threshold_dbfs, -150, 0));
  const std::string policy = o.str("default_floor_policy", "deny");
  if (policy != "deny" && policy != "queue") o.fail("default_floor_policy", "must be deny or queue");
  c.default_floor_policy = policy == "queue" ? FloorPolicy::queue : FloorPolicy::deny;
  c.instructor_token = o.str("instructor_token", "");
}

Participant parse_participant(const Obj& o) {
  o.allow({"name", "face", "room", "role", "codec", "token", "audio", "start_ms", "auto_ping", "ping_interval_ms",
           "auto_accept_ms", "auto_recall_ms"});
  Participant p;
  p.name = o.str("name");
  if (!valid_name(p.name)) o.fail("name", "is not a valid name");
  const std::string face = o.str("face", "calls");
  if (face != "calls" && face != "ptt") o.fail("face", "must be calls or ptt");
  p.face = face == "ptt" ? Face::ptt : Face::calls;
  if (p.face == Face::ptt) {
    p.room = o.str("room");
    const std::string role = o.str("role", "student");
    if (role != "student" && role != "instructor") o.fail("role", "must be student or instructor");
    p.role = role == "instructor" ? Role::instructor : Role::student;
    const std::string codec = o.str("codec", "opus");
    if (codec != "opus" && codec != "pcm16") o.fail("codec", "must be opus or pcm16");
    p.codec = codec == "pcm16" ? AudioCodec::pcm16 : AudioCodec::opus;
    p.token = o.str("token", "");
  }
  p.audio = o.str("audio", "");
  p.start_ms = o.integer("start_ms", 0, 0, max_ms);
  p.auto_ping = o.boolean("auto_ping", true);
  p.ping_interval_ms = o.integer("ping_interval_ms", 10'000, 100, max_ms);
  if (o.has("auto_accept_ms")) p.auto_accept_ms = o.integer("auto_accept_ms", 0, 0, max_ms);
  if (o.has("auto_recall_ms")) p.auto_recall_ms = o.integer("auto_recall_ms", 0, 0, max_ms);
  return p;
}

const std::set<std::string> step_actions{"connect", "disconnect", "reconnect", "register", "join", "who", "call",
                                         "accept", "reject", "hangup", "cancel", "cancel_wait", "missed", "ping",
                                         "press", "release", "revoke", "set_policy", "raw"};

Step parse_step(const Obj& o, const std::set<std::string>& names) {
  o.allow({"at_ms", "who", "do", "to", "call_id", "auto_connect", "policy", "label", "text"});
  Step s;
  s.at_ms = o.integer("at_ms", std::nullopt, 0, max_ms);
  s.who = o.str("who");
  if (!names.contains(s.who)) o.fail("who", "names no participant");
  s.action = o.str("do");
  if (!step_actions.contains(s.action)) o.fail("do", "unknown action '" + s.action + "'");
  for (const char* k : {"to", "call_id", "auto_connect", "policy", "text"}) {
    if (o.has(k)) s.args[k] = o.raw(k);
  }
  if (s.action == "call" && !o.has("to")) o.fail("to", "is required for call");
  if (s.action == "set_policy" && !o.has("policy")) o.fail("policy", "is required for set_policy");
  if (s.action == "raw" && !o.has("text")) o.fail("text", "is required for raw");
  s.label = o.str("label", "");
  return s;
}

Fault parse_fault(const Obj& o, const std::set<std::string>& names) {
  o.allow({"at_ms", "kind", "groups", "who", "duration_ms", "between", "label", "latency_ms", "jitter_ms", "loss",
           "burst_enter", "burst_exit", "burst_loss", "duplicate", "reorder", "reorder_delay_ms", "retransmit_ms"});
  Fault f;
  f.at_ms = o.integer("at_ms", std::nullopt, 0, max_ms);
  f.kind = o.str("kind");
  f.label = o.str("label", "");
  auto known = [&](const std::string& n, const char* key) {
    if (!names.contains(n) && n != "server") o.fail(key, "names no participant: " + n);
  };
  if (f.kind == "partition") {
    f.duration_ms = o.integer("duration_ms", std::nullopt, 1, max_ms);
    for (const auto& g : o.array("groups")) {
      std::set<std::string> group;
      for (const auto& n : g) {
        if (!n.is_string()) o.fail("groups", "must hold arrays of names");
        known(n.get<std::string>(), "groups");
        group.insert(n.get<std::string>());
      }
      f.groups.push_back(group);
    }
    if (f.groups.empty()) o.fail("groups", "is required for a partition");
  } else if (f.kind == "stall") {
    f.who = o.str("who");
    known(f.who, "who");
    f.duration_ms = o.integer("duration_ms", std::nullopt, 1, max_ms);
  } else if (f.kind == "disconnect") {
    f.who = o.str("who");
    if (!names.contains(f.who)) o.fail("who", "names no participant");
  } else if (f.kind == "link") {
    const auto& between = o.array("between");
    if (between.size() != 2 || !between[0].is_string() || !between[1].is_string()) o.fail("between", "must be two names");
    f.a = between[0].get<std::string>();
    f.b = between[1].get<std::string>();
    known(f.a, "between");
    known(f.b, "between");
    f.profile = parse_link(o, LinkProfile{});
  } else {
    o.fail("kind", "must be partition, stall, disconnect or link");
  }
  return f;
}

Expectation parse_expectation(const Obj& o, const std::set<std::string>& names, const std::set<std::string>& labels) {
  o.allow({"notice", "no_notice", "order", "to", "where", "after", "before", "within_ms", "audio", "recording",
           "mos_min", "loss_max", "m2e_p95_max_ms", "correlation_min", "interruptions_max", "min_duration_ms"});
  Expectation e;
  auto recipients = [&]() {
    std::vector<std::string> to;
    if (!o.has("to")) o.fail("to", "is required");
    const json& t = o.raw("to");
    if (t.is_string()) to.push_back(t.get<std::string>());
    else if (t.is_array()) for (const auto& n : t) to.push_back(n.is_string() ? n.get<std::string>() : "");
    else o.fail("to", "must be a name or an array of names");
    for (const auto& n : to) {
      if (!names.contains(n)) o.fail("to", "names no participant: " + n);
    }
    return to;
  };
  auto label = [&](const char* key) {
    const std::string l = o.str(key, "");
    if (!l.empty() && !labels.contains(l)) o.fail(key, "names no step or fault label: " + l);
    return l;
  };
  if (o.has("notice") || o.has("no_notice") || o.has("order")) {
    e.kind = o.has("notice") ? ExpectKind::notice : o.has("no_notice") ? ExpectKind::no_notice : ExpectKind::order;
    e.type = o.str(e.kind == ExpectKind::notice ? "notice" : e.kind == ExpectKind::no_notice ? "no_notice" : "order");
    e.to = recipients();
    if (o.has("where")) {
      if (!o.raw("where").is_object()) o.fail("where", "must be an object");
      e.where = o.raw("where");
    }
    e.after = label("after");
    e.before = label("before");
    if (o.has("within_ms")) {
      e.within_ms = o.integer("within_ms", 0, 0, max_ms);
      if (e.after.empty()) o.fail("within_ms", "needs 'after'");
    }
  } else if (o.has("audio")) {
    e.kind = ExpectKind::audio;
    Obj a(o.raw("audio"), o.path("audio"));
    a.allow({"from", "to"});
    e.from = a.str("from");
    e.sink = a.str("to");
    if (!names.contains(e.from)) a.fail("from", "names no participant");
    if (!names.contains(e.sink) && e.sink != "speaker") a.fail("to", "names no participant (or \"speaker\")");
    e.mos_min = o.opt_number("mos_min", 1, 4.5);
    e.loss_max = o.opt_number("loss_max", 0, 1);
    e.m2e_p95_max_ms = o.opt_number("m2e_p95_max_ms", 0, 100'000);
    e.correlation_min = o.opt_number("correlation_min", -1, 1);
    if (o.has("interruptions_max")) e.interruptions_max = static_cast<uint64_t>(o.integer("interruptions_max", 0, 0, 1'000'000));
  } else if (o.has("recording")) {
    e.kind = ExpectKind::recording;
    e.file = o.str("recording");
    e.min_duration_ms = o.integer("min_duration_ms", 0, 0, max_ms);
  } else {
    o.fail("", "needs one of notice, no_notice, order, audio, recording");
  }
  // The type must be a real server message, or the expectation could never be met.
  if (!e.type.empty()) {
    static const std::set<std::string> types{
        "ok", "error", "call_ringing", "call_connected", "call_ended", "missed_call", "wait_update",
        "callee_available", "wait_ended", "waiting_count", "floor_granted", "floor_denied", "floor_queued",
        "floor_taken", "floor_idle", "floor_revoked", "floor_dequeued", "member_joined", "member_left",
        "policy_changed", "disconnected"};
    if (!types.contains(e.type)) o.fail("", "unknown notice type '" + e.type + "'");
  }
  return e;
}

}  // namespace

Scenario parse_scenario(const json& j, const std::string& source) {
  Obj o(j, source);
  o.allow({"name", "description", "seed", "duration_ms", "server", "network", "participants", "steps", "faults",
           "expect", "opus", "jitter_buffer"});
  Scenario s;
  s.name = o.str("name");
  s.description = o.str("description", "");
  s.seed = static_cast<uint64_t>(o.integer("seed", 1, 0, INT64_MAX));
  s.duration_ms = o.integer("duration_ms", std::nullopt, 1, max_ms);
  if (o.has("server")) parse_server(Obj(o.raw("server"), o.path("server")), s.server);
  if (auto err = validate(s.server)) o.fail("server", *err);
  if (o.has("network")) {
    Obj n(o.raw("network"), o.path("network"));
    n.allow({"default", "links"});
    if (n.has("default")) {
      Obj d(n.raw("default"), n.path("default"));
      d.allow(link_keys);
      s.default_link = parse_link(d, LinkProfile{});
    }
    std::size_t i = 0;
    for (const auto& l : n.array("links")) {
      Obj lo(l, n.path("links") + "[" + std::to_string(i++) + "]");
      lo.allow({"between", "latency_ms", "jitter_ms", "loss", "burst_enter", "burst_exit", "burst_loss", "duplicate",
                "reorder", "reorder_delay_ms", "retransmit_ms"});
      const auto& between = lo.array("between");
      if (between.size() != 2 || !between[0].is_string() || !between[1].is_string()) lo.fail("between", "must be two names");
      s.links.push_back({{between[0].get<std::string>(), between[1].get<std::string>()}, parse_link(lo, s.default_link)});
    }
  }
  if (o.has("opus")) {
    Obj op(o.raw("opus"), o.path("opus"));
    op.allow({"bitrate_bps", "complexity", "fec", "expected_loss_percent"});
    s.opus.bitrate_bps = static_cast<int32_t>(op.integer("bitrate_bps", s.opus.bitrate_bps, 6'000, 510'000));
    s.opus.complexity = static_cast<int32_t>(op.integer("complexity", s.opus.complexity, 0, 10));
    s.opus.fec = op.boolean("fec", s.opus.fec);
    s.opus.expected_loss_percent = static_cast<int32_t>(op.integer("expected_loss_percent", s.opus.expected_loss_percent, 0, 100));
  }
  if (o.has("jitter_buffer")) {
    Obj jb(o.raw("jitter_buffer"), o.path("jitter_buffer"));
    jb.allow({"min_delay_ms", "start_delay_ms", "max_delay_ms", "fec"});
    s.jitter_buffer.min_delay_ms = jb.integer("min_delay_ms", s.jitter_buffer.min_delay_ms, 20, 1000);
    s.jitter_buffer.max_delay_ms = jb.integer("max_delay_ms", s.jitter_buffer.max_delay_ms, s.jitter_buffer.min_delay_ms, 2000);
    s.jitter_buffer.start_delay_ms = jb.integer("start_delay_ms", std::min<int64_t>(80, s.jitter_buffer.max_delay_ms),
                                                s.jitter_buffer.min_delay_ms, s.jitter_buffer.max_delay_ms);
    s.jitter_buffer.fec = jb.boolean("fec", s.jitter_buffer.fec);
  }

  std::set<std::string> names;
  std::size_t i = 0;
  for (const auto& p : o.array("participants")) {
    s.participants.push_back(parse_participant(Obj(p, o.path("participants") + "[" + std::to_string(i++) + "]")));
    if (!names.insert(s.participants.back().name).second) o.fail("participants", "duplicate name " + s.participants.back().name);
  }
  if (s.participants.empty()) o.fail("participants", "needs at least one participant");
  if (names.contains("server") || names.contains("speaker")) o.fail("participants", "'server' and 'speaker' are reserved");

  std::set<std::string> labels;
  i = 0;
  for (const auto& st : o.array("steps")) {
    s.steps.push_back(parse_step(Obj(st, o.path("steps") + "[" + std::to_string(i++) + "]"), names));
    if (!s.steps.back().label.empty() && !labels.insert(s.steps.back().label).second) o.fail("steps", "duplicate label " + s.steps.back().label);
  }
  i = 0;
  for (const auto& f : o.array("faults")) {
    s.faults.push_back(parse_fault(Obj(f, o.path("faults") + "[" + std::to_string(i++) + "]"), names));
    if (!s.faults.back().label.empty() && !labels.insert(s.faults.back().label).second) o.fail("faults", "duplicate label " + s.faults.back().label);
  }
  for (const auto& l : s.links) {
    for (const auto& n : {l.first.first, l.first.second}) {
      if (!names.contains(n) && n != "server") o.fail("network.links", "names no participant: " + n);
    }
  }
  std::map<std::string, int64_t> label_ms;
  for (const auto& st : s.steps) {
    if (!st.label.empty()) label_ms[st.label] = st.at_ms;
  }
  for (const auto& f : s.faults) {
    if (!f.label.empty()) label_ms[f.label] = f.at_ms;
  }
  i = 0;
  for (const auto& e : o.array("expect")) {
    const std::string path = o.path("expect") + "[" + std::to_string(i++) + "]";
    s.expectations.push_back(parse_expectation(Obj(e, path), names, labels));
    s.expectations.back().text = e.dump();
    const Expectation& x = s.expectations.back();
    // An empty window makes a check that cannot fail: refuse it.
    if (!x.after.empty() && !x.before.empty() && label_ms.at(x.before) <= label_ms.at(x.after)) {
      Obj(e, path).fail("before", "must come after '" + x.after + "': the window is empty");
    }
  }
  return s;
}

Scenario load_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ScenarioError(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const json j = json::parse(buffer.str(), nullptr, false);
  if (j.is_discarded()) throw ScenarioError(path + ": not valid JSON");
  return parse_scenario(j, path);
}

}  // namespace hailer::sim
