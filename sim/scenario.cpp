#include "sim/scenario.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include "base/assert.hpp"
#include "protocol/codec.hpp"
#include "protocol/names.hpp"
#include "sim/metrics.hpp"

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

  void allow(std::initializer_list<const char*> keys, std::initializer_list<const char*> more = {}) const {
    std::set<std::string> ok(keys.begin(), keys.end());
    ok.insert(more.begin(), more.end());
    for (const auto& [k, v] : j_.items()) {
      if (!ok.contains(k)) fail(k, "unknown field");
    }
  }

  void allow_names(const std::vector<std::string>& keys) const {
    const std::set<std::string> ok(keys.begin(), keys.end());
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
    if (j_.at(key).is_number_unsigned() && j_.at(key).get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      fail(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    const auto v = j_.at(key).get<int64_t>();
    if (v < lo || v > hi) fail(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
    return v;
  }
  std::optional<int64_t> opt_integer(const char* key, int64_t lo, int64_t hi) const {
    if (!has(key)) return std::nullopt;
    return integer(key, 0, lo, hi);
  }
  double number(const char* key, double fallback, double lo, double hi) const {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_number()) fail(key, "must be a number");
    const auto v = j_.at(key).get<double>();
    if (!(v >= lo && v <= hi)) fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
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
  template <typename E>
  E choice(const char* key, const std::vector<std::pair<std::string, E>>& options, std::optional<E> fallback) const {
    if (!has(key) && fallback) return *fallback;
    const std::string v = str(key);
    std::string all;
    for (const auto& [name, value] : options) {
      if (name == v) return value;
      all += (all.empty() ? "" : ", ") + name;
    }
    fail(key, "must be one of " + all);
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

constexpr std::initializer_list<const char*> link_keys{"latency_ms",       "jitter_ms",    "loss",      "burst_enter",
                                                       "burst_exit",       "burst_loss",   "duplicate", "reorder",
                                                       "reorder_delay_ms", "retransmit_ms"};

// The `server` block: any settable row of the config table (core/config.hpp), by name, within
// the row's range.
void parse_server(const Obj& o, Config& c) {
  std::vector<std::string> keys;
  for (const ConfigField& f : config_fields()) {
    if (f.settable) keys.emplace_back(f.name);
  }
  o.allow_names(keys);
  for (const ConfigField& f : config_fields()) {
    const std::string name(f.name);
    if (!f.settable || !o.has(name.c_str())) continue;
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(c.*member)>;
          if constexpr (ConfigChoice<T>) {
            std::vector<std::pair<std::string, T>> options;
            options.reserve(ConfigChoices<T>::values.size());
            for (const auto& [n, v] : ConfigChoices<T>::values) options.emplace_back(std::string(n), v);
            c.*member = o.choice<T>(name.c_str(), options, c.*member);
          } else if constexpr (std::is_same_v<T, std::string>) {
            c.*member = o.str(name.c_str(), "");
          } else if constexpr (std::is_same_v<T, bool>) {
            c.*member = o.boolean(name.c_str(), c.*member);
          } else {
            c.*member = static_cast<T>(o.integer(name.c_str(), static_cast<int64_t>(c.*member), f.min, f.max));
          }
        },
        f.member);
  }
}

// An attacker: which call it sits on and what it tries.
AttackPlan parse_attack(const Obj& a) {
  a.allow({"on", "eavesdrop", "inject_per_second", "replay_after_ms", "swap_keys"});
  AttackPlan plan;
  const auto& on = a.array("on");
  if (on.size() != 2 || !on[0].is_string() || !on[1].is_string() || on[0] == on[1])
    a.fail("on", "must be two participants' names");
  plan.on = {on[0].get<std::string>(), on[1].get<std::string>()};
  plan.eavesdrop = a.boolean("eavesdrop", true);
  plan.inject_per_second = static_cast<uint32_t>(a.integer("inject_per_second", 0, 0, 1000));
  plan.replay_after_ms = a.opt_integer("replay_after_ms", 0, 60'000);
  plan.swap_keys = a.boolean("swap_keys", false);
  return plan;
}

// At most one attacker, on two calls participants that are users.
void check_attackers(const Obj& o, const Scenario& s, const std::map<std::string, const Participant*>& people) {
  int attackers = 0;
  for (const auto& p : s.participants) {
    if (!p.attack) continue;
    if (++attackers > 1) o.fail("participants", "at most one attacker");
    for (const auto& n : p.attack->on) {
      const auto it = people.find(n);
      if (it == people.end() || it->second->attack || it->second->face != Face::calls)
        o.fail("participants", p.name + ".attack.on: " + n + " is no calls participant");
    }
  }
}

}  // namespace

const char* to_string(NatKind kind) {
  switch (kind) {
    case NatKind::none:
      return "none";
    case NatKind::full_cone:
      return "full_cone";
    case NatKind::port_restricted:
      return "port_restricted";
    case NatKind::symmetric:
      return "symmetric";
    case NatKind::udp_blocked:
      return "udp_blocked";
  }
  HAILER_ASSERT(false && "unknown NAT kind");
  return "";
}

namespace {

Participant parse_participant(const Obj& o) {
  Participant p;
  p.name = o.str("name");
  if (!valid_name(p.name)) o.fail("name", "is not a valid name");
  if (o.has("attack")) {
    o.allow({"name", "attack"});  // an attacker is no user: nothing else applies
    p.attack = parse_attack(Obj(o.raw("attack"), o.path("attack")));
    return p;
  }
  o.allow({"name", "face", "room", "role", "codec", "sample_rate", "token", "audio", "start_ms", "auto_ping",
           "ping_interval_ms", "auto_accept_ms", "auto_recall_ms", "nat", "probe", "plaintext_media"});
  p.face = o.choice<Face>("face", {{"calls", Face::calls}, {"ptt", Face::ptt}}, Face::calls);
  if (p.face == Face::ptt) {
    p.room = o.str("room");
    if (!valid_name(p.room)) o.fail("room", "is not a valid room name");
    p.role = o.choice<Role>("role", {{"student", Role::student}, {"instructor", Role::instructor}}, Role::student);
    p.format.codec =
        o.choice<AudioCodec>("codec", {{"opus", AudioCodec::opus}, {"pcm16", AudioCodec::pcm16}}, AudioCodec::opus);
    p.format.sample_rate_hz = static_cast<uint32_t>(o.integer("sample_rate", 48'000, 8'000, 192'000));
    if (p.format.codec == AudioCodec::opus && p.format.sample_rate_hz != 48'000)
      o.fail("sample_rate", "Opus is always 48000");
    p.token = o.str("token", "");
  } else {
    for (const char* k : {"room", "role", "codec", "sample_rate", "token"}) {
      if (o.has(k)) o.fail(k, "is for PTT participants");
    }
  }
  if (p.face == Face::ptt) {
    for (const char* k : {"nat", "probe", "auto_accept_ms", "auto_recall_ms", "plaintext_media"}) {
      if (o.has(k)) o.fail(k, "is for calls participants");
    }
  }
  p.audio = o.str("audio", "");
  p.start_ms = o.integer("start_ms", 0, 0, max_ms);
  p.auto_ping = o.boolean("auto_ping", true);
  p.ping_interval_ms = o.integer("ping_interval_ms", 10'000, 100, max_ms);
  p.auto_accept_ms = o.opt_integer("auto_accept_ms", 0, max_ms);
  p.auto_recall_ms = o.opt_integer("auto_recall_ms", 0, max_ms);
  if (o.has("nat") && o.raw("nat").is_boolean()) {
    p.nat = o.boolean("nat", false) ? NatKind::full_cone : NatKind::none;  // `true`: the first NAT model
  } else {
    p.nat = o.choice<NatKind>("nat",
                              {{"none", NatKind::none},
                               {"full_cone", NatKind::full_cone},
                               {"port_restricted", NatKind::port_restricted},
                               {"symmetric", NatKind::symmetric},
                               {"udp_blocked", NatKind::udp_blocked}},
                              NatKind::none);
  }
  p.probe = o.boolean("probe", true);
  p.plaintext_media = o.boolean("plaintext_media", false);
  return p;
}

const std::vector<std::pair<std::string, Action>> actions{{"connect", Action::connect},
                                                          {"disconnect", Action::disconnect},
                                                          {"reconnect", Action::reconnect},
                                                          {"register", Action::hello},
                                                          {"join", Action::hello},
                                                          {"who", Action::who},
                                                          {"call", Action::call},
                                                          {"accept", Action::accept},
                                                          {"reject", Action::reject},
                                                          {"hangup", Action::hangup},
                                                          {"cancel", Action::cancel},
                                                          {"cancel_wait", Action::cancel_wait},
                                                          {"missed", Action::missed},
                                                          {"ping", Action::ping},
                                                          {"press", Action::press},
                                                          {"release", Action::release},
                                                          {"revoke", Action::revoke},
                                                          {"set_policy", Action::set_policy},
                                                          {"grant", Action::grant},
                                                          {"skip", Action::skip},
                                                          {"raw", Action::raw},
                                                          {"raw_audio", Action::raw_audio},
                                                          {"raw_binary", Action::raw_binary}};

std::vector<uint8_t> parse_hex(const Obj& o, const std::string& hex) {
  if (hex.empty() || hex.size() % 2 != 0) o.fail("hex", "must be an even number of hex digits");
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const std::string byte = hex.substr(i, 2);
    if (byte.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) o.fail("hex", "must be hex digits");
    out.push_back(static_cast<uint8_t>(std::stoi(byte, nullptr, 16)));
  }
  return out;
}

Step parse_step(const Obj& o, const std::map<std::string, const Participant*>& people) {
  o.allow(
      {"at_ms", "who", "do", "to", "call_id", "auto_connect", "policy", "label", "text", "frames", "gap_ms", "hex"});
  Step s;
  s.at_ms = o.integer("at_ms", std::nullopt, 0, max_ms);
  s.who = o.str("who");
  if (!people.contains(s.who)) o.fail("who", "names no participant");
  if (people.at(s.who)->attack) o.fail("who", "is an attacker: it takes no steps");
  const Face face = people.at(s.who)->face;
  s.action_name = o.str("do");
  s.action = o.choice<Action>("do", actions, std::nullopt);
  // Each argument belongs to some actions only; anywhere else it would be silently ignored.
  auto only_for = [&](const char* key, std::initializer_list<Action> for_actions) {
    if (o.has(key) && std::find(for_actions.begin(), for_actions.end(), s.action) == for_actions.end()) {
      o.fail(key, "is not an argument of '" + s.action_name + "'");
    }
  };
  only_for("to", {Action::call, Action::grant, Action::skip});
  only_for("auto_connect", {Action::call});
  only_for("call_id", {Action::accept, Action::reject});
  only_for("policy", {Action::set_policy});
  only_for("text", {Action::raw});
  only_for("frames", {Action::raw_audio});
  only_for("gap_ms", {Action::raw_audio});
  only_for("hex", {Action::raw_binary});
  if (s.action == Action::grant || s.action == Action::skip) s.to = o.str("to");
  if (s.action == Action::call) {
    s.to = o.str("to");
    if (o.has("auto_connect")) s.auto_connect = o.boolean("auto_connect", false);
  }
  if (o.has("call_id")) s.call_id = static_cast<uint64_t>(o.integer("call_id", 0, 0, (1LL << 53) - 1));
  if (s.action == Action::set_policy) {
    s.policy =
        o.choice<FloorPolicy>("policy", {{"deny", FloorPolicy::deny}, {"queue", FloorPolicy::queue}}, std::nullopt);
  }
  if (s.action == Action::raw) s.text = o.str("text");
  if (s.action == Action::raw_audio) {
    if (face != Face::ptt) o.fail("do", "raw_audio is for PTT participants");
    s.frames = static_cast<uint32_t>(o.integer("frames", 10, 1, 10'000));
    s.gap_ms = o.integer("gap_ms", 20, 1, 1000);
  }
  if (s.action == Action::raw_binary) s.bytes = parse_hex(o, o.str("hex"));
  s.label = o.str("label", "");
  return s;
}

Fault parse_fault(const Obj& o, const std::set<std::string>& names) {
  o.allow({"at_ms", "kind", "groups", "who", "duration_ms", "between", "label"}, link_keys);
  Fault f;
  f.at_ms = o.integer("at_ms", std::nullopt, 0, max_ms);
  f.kind = o.choice<FaultKind>("kind",
                               {{"partition", FaultKind::partition},
                                {"stall", FaultKind::stall},
                                {"disconnect", FaultKind::disconnect},
                                {"link", FaultKind::link},
                                {"udp_block", FaultKind::udp_block}},
                               std::nullopt);
  f.label = o.str("label", "");
  auto known = [&](const std::string& n, const char* key) {
    if (!names.contains(n) && n != "server") o.fail(key, "names no participant: " + n);
  };
  switch (f.kind) {
    case FaultKind::partition:
      f.duration_ms = o.integer("duration_ms", std::nullopt, 1, max_ms);
      for (const auto& g : o.array("groups")) {
        std::set<std::string> group;
        if (!g.is_array()) o.fail("groups", "must hold arrays of names");
        for (const auto& n : g) {
          if (!n.is_string()) o.fail("groups", "must hold arrays of names");
          known(n.get<std::string>(), "groups");
          group.insert(n.get<std::string>());
        }
        f.groups.push_back(group);
      }
      if (f.groups.empty()) o.fail("groups", "is required for a partition");
      break;
    case FaultKind::stall:
      f.who = o.str("who");
      known(f.who, "who");
      f.duration_ms = o.integer("duration_ms", std::nullopt, 1, max_ms);
      break;
    case FaultKind::disconnect:
      f.who = o.str("who");
      if (!names.contains(f.who)) o.fail("who", "names no participant");
      break;
    case FaultKind::udp_block:
      f.who = o.str("who");
      if (!names.contains(f.who)) o.fail("who", "names no participant");
      f.duration_ms = o.integer("duration_ms", 0, 0, max_ms);  // 0: until the end
      break;
    case FaultKind::link: {
      const auto& between = o.array("between");
      if (between.size() != 2 || !between[0].is_string() || !between[1].is_string())
        o.fail("between", "must be two names");
      f.a = between[0].get<std::string>();
      f.b = between[1].get<std::string>();
      known(f.a, "between");
      known(f.b, "between");
      f.profile = parse_link(o, LinkProfile{});
      break;
    }
  }
  return f;
}

// A `where` may only name fields the notice type has, with values of the field's JSON type:
// a typo or a quoted number would otherwise match nothing and weaken a no_notice silently.
// Checks `where` (at `path`) against the fields a message can carry: every key must be one of
// them, with the right JSON shape and, for an enum, one of its values; nested objects alike.
void check_fields(const Obj& o, const std::string& path, const std::string& what,
                  const std::vector<FieldSchema>& fields, const json& where) {
  if (!where.is_object()) o.fail(path, "must be an object");
  for (const auto& [key, value] : where.items()) {
    const FieldSchema* f = nullptr;
    for (const auto& x : fields) {
      if (x.name == key) f = &x;
    }
    const std::string at = path + "." + key;
    if (f == nullptr) o.fail(at, "'" + what + "' has no such field");
    using K = FieldSchema::Kind;
    bool ok = false;
    switch (f->kind) {
      case K::string:
        ok = value.is_string();
        break;
      case K::nullable_string:
        ok = value.is_string() || value.is_null();
        break;
      case K::integer:
        ok = value.is_number_integer();
        break;
      case K::nullable_integer:
        ok = value.is_number_integer() || value.is_null();
        break;
      case K::boolean:
        ok = value.is_boolean();
        break;
      case K::object:
        ok = value.is_object();
        break;
      case K::array:
        ok = value.is_array();
        break;
    }
    static const char* kind_names[] = {"a string",      "a string or null", "an integer", "an integer or null",
                                       "true or false", "an object",        "an array"};
    if (!ok) o.fail(at, std::string("must be ") + kind_names[static_cast<int>(f->kind)]);
    if (!f->values.empty() && value.is_string() &&
        std::find(f->values.begin(), f->values.end(), value.get<std::string>()) == f->values.end()) {
      o.fail(at, "is not a value '" + key + "' can have");
    }
    if (f->kind == K::object) check_fields(o, at, what + "." + key, f->fields, value);
  }
}

// The fields of the notices a simulated client notes about itself (docs/scenarios.md).
std::optional<std::vector<FieldSchema>> client_notice_fields(const std::string& type) {
  using K = FieldSchema::Kind;
  const auto field = [](const char* name, K kind) {
    FieldSchema f;
    f.name = name;
    f.kind = kind;
    return f;
  };
  if (type == "call_secured")
    return std::vector<FieldSchema>{field("call_id", K::integer), field("peer", K::string),
                                    field("safety_number", K::string)};
  if (type == "call_key_refused")
    return std::vector<FieldSchema>{field("call_id", K::integer), field("peer", K::string), field("reason", K::string)};
  return std::nullopt;
}

void check_where(const Obj& o, const std::string& type, const json& where) {
  auto fields = server_message_fields(type);
  if (!fields) fields = client_notice_fields(type);
  check_fields(o, "where", type, fields ? *fields : std::vector<FieldSchema>{}, where);
}

void check_type(const Obj& o, const char* key, const std::string& type) {
  if (!is_server_message_type(type) && !client_notice_types.contains(type))
    o.fail(key, "unknown notice type '" + type + "'");
}

std::vector<std::string> names_in(const Obj& o, const char* key, const std::set<std::string>& names,
                                  bool allow_speaker) {
  std::vector<std::string> out;
  if (!o.has(key)) o.fail(key, "is required");
  const json& t = o.raw(key);
  if (t.is_string())
    out.push_back(t.get<std::string>());
  else if (t.is_array() && !t.empty()) {
    for (const auto& n : t) {
      if (!n.is_string()) o.fail(key, "must be a name or an array of names");
      out.push_back(n.get<std::string>());
    }
  } else {
    o.fail(key, "must be a name or a non-empty array of names");
  }
  for (const auto& n : out) {
    if (!names.contains(n) && !(allow_speaker && n == "speaker")) o.fail(key, "names no participant: " + n);
  }
  return out;
}

void parse_window(const Obj& o, Expectation& e, const std::set<std::string>& labels) {
  auto label = [&](const char* key) {
    std::string l = o.str(key, "");
    if (!l.empty() && !labels.contains(l)) o.fail(key, "names no step or fault label: " + l);
    return l;
  };
  e.after = label("after");
  e.before = label("before");
  e.within_ms = o.opt_integer("within_ms", 0, max_ms);
  e.not_before_ms = o.opt_integer("not_before_ms", 0, max_ms);
  if (e.within_ms && e.after.empty()) o.fail("within_ms", "needs 'after'");
  if (e.not_before_ms && e.after.empty()) o.fail("not_before_ms", "needs 'after'");
  if (e.within_ms && e.not_before_ms && *e.not_before_ms > *e.within_ms)
    o.fail("not_before_ms", "is beyond within_ms: the window is empty");
}

void parse_notice_kind(const Obj& o, Expectation& e, const char* key, const std::set<std::string>& names,
                       const std::set<std::string>& labels) {
  o.allow({"notice", "no_notice", "count", "to", "where", "after", "before", "within_ms", "not_before_ms", "exactly",
           "min", "max"});
  e.types = {o.str(key)};
  check_type(o, key, e.types[0]);
  e.to = names_in(o, "to", names, false);
  if (o.has("where")) {
    check_where(o, e.types[0], o.raw("where"));
    e.where = {o.raw("where")};
  }
  parse_window(o, e, labels);
  if (e.kind == ExpectKind::count) {
    if (o.has("exactly")) e.exactly = static_cast<uint64_t>(o.integer("exactly", 0, 0, 1'000'000));
    if (o.has("min")) e.min_count = static_cast<uint64_t>(o.integer("min", 0, 0, 1'000'000));
    if (o.has("max")) e.max_count = static_cast<uint64_t>(o.integer("max", 0, 0, 1'000'000));
    if (!e.exactly && !e.min_count && !e.max_count) o.fail("count", "needs exactly, min or max");
    if (e.exactly && (e.min_count || e.max_count)) o.fail("exactly", "cannot be combined with min or max");
  } else {
    for (const char* k : {"exactly", "min", "max"}) {
      if (o.has(k)) o.fail(k, "is for count expectations");
    }
  }
}

void parse_order(const Obj& o, Expectation& e, const std::set<std::string>& names,
                 const std::set<std::string>& labels) {
  o.allow({"order", "to", "where", "after", "before", "within_ms", "not_before_ms"});
  const json& order = o.raw("order");
  if (order.is_string()) {  // one type, to several recipients in this order
    e.types = {order.get<std::string>()};
    e.to = names_in(o, "to", names, false);
    if (e.to.size() < 2) o.fail("to", "needs two or more recipients to order");
  } else if (order.is_array() && order.size() >= 2) {  // several types, to one recipient in this order
    for (const auto& t : order) {
      if (!t.is_string()) o.fail("order", "must be a type or an array of types");
      e.types.push_back(t.get<std::string>());
    }
    e.to = names_in(o, "to", names, false);
    if (e.to.size() != 1) o.fail("to", "must be one recipient when ordering several types");
  } else {
    o.fail("order", "must be a type, or an array of two or more types");
  }
  for (const auto& t : e.types) check_type(o, "order", t);
  if (o.has("where")) {
    const json& w = o.raw("where");
    if (e.types.size() == 1) {
      check_where(o, e.types[0], w);
      e.where = {w};
    } else {
      if (!w.is_array() || w.size() != e.types.size()) o.fail("where", "must be an array with one object per type");
      for (std::size_t i = 0; i < w.size(); ++i) check_where(o, e.types[i], w[i]);
      e.where.assign(w.begin(), w.end());
    }
  }
  parse_window(o, e, labels);
}

void parse_audio(const Obj& o, Expectation& e, const std::set<std::string>& names) {
  o.allow({"audio", "mos_min", "loss_max", "m2e_p95_max_ms", "correlation_min", "correlation_max", "interruptions_max",
           "leg", "path", "first_audio_max_ms"});
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
  e.correlation_max = o.opt_number("correlation_max", -1, 1);
  if (o.has("interruptions_max"))
    e.interruptions_max = static_cast<uint64_t>(o.integer("interruptions_max", 0, 0, 1'000'000));
  if (o.has("leg")) e.leg = static_cast<uint32_t>(o.integer("leg", 1, 1, 10'000));
  if (o.has("path")) {
    e.path = o.str("path");
    if (e.path != "direct" && e.path != "relay" && e.path != "tunnel")
      o.fail("path", "must be direct, relay or tunnel");
  }
  e.first_audio_max_ms = o.opt_integer("first_audio_max_ms", 0, max_ms);
}

Expectation parse_expectation(const Obj& o, const std::set<std::string>& names, const std::set<std::string>& labels) {
  Expectation e;
  if (o.has("notice")) {
    e.kind = ExpectKind::notice;
    parse_notice_kind(o, e, "notice", names, labels);
  } else if (o.has("no_notice")) {
    e.kind = ExpectKind::no_notice;
    parse_notice_kind(o, e, "no_notice", names, labels);
  } else if (o.has("count")) {
    e.kind = ExpectKind::count;
    parse_notice_kind(o, e, "count", names, labels);
  } else if (o.has("order")) {
    e.kind = ExpectKind::order;
    parse_order(o, e, names, labels);
  } else if (o.has("audio")) {
    e.kind = ExpectKind::audio;
    parse_audio(o, e, names);
  } else if (o.has("no_audio")) {
    e.kind = ExpectKind::no_audio;
    o.allow({"no_audio"});
    Obj a(o.raw("no_audio"), o.path("no_audio"));
    a.allow({"from", "to"});
    e.from = a.str("from");
    e.sink = a.str("to", "");
    if (!names.contains(e.from)) a.fail("from", "names no participant");
    if (!e.sink.empty() && !names.contains(e.sink) && e.sink != "speaker")
      a.fail("to", "names no participant (or \"speaker\")");
  } else if (o.has("recording")) {
    e.kind = ExpectKind::recording;
    o.allow({"recording", "min_duration_ms"});
    e.file = o.str("recording");
    e.min_duration_ms = o.integer("min_duration_ms", 0, 0, max_ms);
  } else if (o.has("metric")) {
    e.kind = ExpectKind::metric;
    o.allow({"metric", "min", "max"});
    e.metric = o.str("metric");
    if (!known_metric(e.metric)) o.fail("metric", "names no report value (see docs/scenarios.md)");
    e.min = o.opt_number("min", -1e18, 1e18);
    e.max = o.opt_number("max", -1e18, 1e18);
    if (!e.min && !e.max) o.fail("metric", "needs min or max");
  } else {
    o.fail("", "needs one of notice, no_notice, count, order, audio, no_audio, recording, metric");
  }
  return e;
}

}  // namespace

bool known_metric(const std::string& path) { return metric_known(path); }

// The network block: the default link and the links between two named ends.
void parse_network(const Obj& o, Scenario& s) {
  if (!o.has("network")) return;
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
    lo.allow({"between"}, link_keys);
    const auto& between = lo.array("between");
    if (between.size() != 2 || !between[0].is_string() || !between[1].is_string())
      lo.fail("between", "must be two names");
    s.links.push_back({{between[0].get<std::string>(), between[1].get<std::string>()}, parse_link(lo, s.default_link)});
  }
}

// The transport block: the limits hailer-server's transports keep (host/transport_rules.hpp).
void parse_transport(const Obj& o, Scenario& s) {
  if (!o.has("transport")) return;
  Obj t(o.raw("transport"), o.path("transport"));
  t.allow({"max_outbound_bytes", "max_frames_per_second", "max_sessions_per_address"});
  auto& l = s.transport;
  l.max_outbound_bytes =
      static_cast<std::size_t>(t.integer("max_outbound_bytes", static_cast<int64_t>(l.max_outbound_bytes), 1, 1 << 30));
  l.max_frames_per_second =
      static_cast<uint32_t>(t.integer("max_frames_per_second", l.max_frames_per_second, 1, 100'000));
  l.max_sessions_per_address =
      static_cast<uint32_t>(t.integer("max_sessions_per_address", l.max_sessions_per_address, 1, 100'000));
}

// The media blocks: the Opus encoder's settings and the jitter buffer's bounds.
void parse_media(const Obj& o, Scenario& s) {
  if (o.has("opus")) {
    Obj op(o.raw("opus"), o.path("opus"));
    op.allow({"bitrate_bps", "complexity", "fec", "expected_loss_percent"});
    s.opus.bitrate_bps = static_cast<int32_t>(op.integer("bitrate_bps", s.opus.bitrate_bps, 6'000, 510'000));
    s.opus.complexity = static_cast<int32_t>(op.integer("complexity", s.opus.complexity, 0, 10));
    s.opus.fec = op.boolean("fec", s.opus.fec);
    s.opus.expected_loss_percent =
        static_cast<int32_t>(op.integer("expected_loss_percent", s.opus.expected_loss_percent, 0, 100));
  }
  if (o.has("jitter_buffer")) {
    Obj jb(o.raw("jitter_buffer"), o.path("jitter_buffer"));
    jb.allow({"min_delay_ms", "start_delay_ms", "max_delay_ms", "fec"});
    s.jitter_buffer.min_delay_ms = jb.integer("min_delay_ms", s.jitter_buffer.min_delay_ms, 20, 1000);
    s.jitter_buffer.max_delay_ms =
        jb.integer("max_delay_ms", s.jitter_buffer.max_delay_ms, s.jitter_buffer.min_delay_ms, 2000);
    s.jitter_buffer.start_delay_ms = jb.integer("start_delay_ms", std::min<int64_t>(80, s.jitter_buffer.max_delay_ms),
                                                s.jitter_buffer.min_delay_ms, s.jitter_buffer.max_delay_ms);
    s.jitter_buffer.fec = jb.boolean("fec", s.jitter_buffer.fec);
  }
}

// The expectations, each window checked against the labels' times: an empty window is refused.
void parse_expectations(const Obj& o, Scenario& s, const std::set<std::string>& names,
                        const std::set<std::string>& labels) {
  std::map<std::string, int64_t> label_ms;
  for (const auto& st : s.steps) {
    if (!st.label.empty()) label_ms[st.label] = st.at_ms;
  }
  for (const auto& f : s.faults) {
    if (!f.label.empty()) label_ms[f.label] = f.at_ms;
  }
  std::size_t i = 0;
  for (const auto& e : o.array("expect")) {
    const std::string path = o.path("expect") + "[" + std::to_string(i++) + "]";
    s.expectations.push_back(parse_expectation(Obj(e, path), names, labels));
    s.expectations.back().text = e.dump();
    const Expectation& x = s.expectations.back();
    // An empty window makes a check that cannot fail: refuse it.
    if (!x.after.empty() && !x.before.empty()) {
      const int64_t from = label_ms.at(x.after) + x.not_before_ms.value_or(0);
      if (label_ms.at(x.before) <= from)
        Obj(e, path).fail("before", "must come after '" + x.after + "': the window is empty");
    }
  }
}

Scenario parse_scenario(const json& j, const std::string& source) {
  Obj o(j, source);
  o.allow({"name", "description", "seed", "duration_ms", "server", "network", "participants", "steps", "faults",
           "expect", "opus", "jitter_buffer", "transport"});
  Scenario s;
  s.name = o.str("name");
  s.description = o.str("description", "");
  s.seed = static_cast<uint64_t>(o.integer("seed", 1, 0, INT64_MAX));
  s.duration_ms = o.integer("duration_ms", std::nullopt, 1, max_ms);
  if (o.has("server")) parse_server(Obj(o.raw("server"), o.path("server")), s.server);
  if (auto err = validate(s.server)) o.fail("server", *err);
  parse_network(o, s);
  parse_media(o, s);
  parse_transport(o, s);

  std::set<std::string> names;
  std::size_t i = 0;
  for (const auto& p : o.array("participants")) {
    s.participants.push_back(parse_participant(Obj(p, o.path("participants") + "[" + std::to_string(i++) + "]")));
    if (!names.insert(s.participants.back().name).second)
      o.fail("participants", "duplicate name " + s.participants.back().name);
  }
  if (s.participants.empty()) o.fail("participants", "needs at least one participant");
  if (names.contains("server") || names.contains("speaker"))
    o.fail("participants", "'server' and 'speaker' are reserved");
  std::map<std::string, const Participant*> people;
  for (const auto& p : s.participants) people[p.name] = &p;
  check_attackers(o, s, people);

  std::set<std::string> labels;
  i = 0;
  for (const auto& st : o.array("steps")) {
    s.steps.push_back(parse_step(Obj(st, o.path("steps") + "[" + std::to_string(i++) + "]"), people));
    if (!s.steps.back().label.empty() && !labels.insert(s.steps.back().label).second)
      o.fail("steps", "duplicate label " + s.steps.back().label);
  }
  i = 0;
  for (const auto& f : o.array("faults")) {
    s.faults.push_back(parse_fault(Obj(f, o.path("faults") + "[" + std::to_string(i++) + "]"), names));
    if (!s.faults.back().label.empty() && !labels.insert(s.faults.back().label).second)
      o.fail("faults", "duplicate label " + s.faults.back().label);
  }
  for (const auto& l : s.links) {
    for (const auto& n : {l.first.first, l.first.second}) {
      if (!names.contains(n) && n != "server") o.fail("network.links", "names no participant: " + n);
    }
  }
  parse_expectations(o, s, names, labels);
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
