#include "core/config.hpp"

#include <array>
#include <limits>

#include "base/assert.hpp"
#include "protocol/codec.hpp"

namespace hailer {

namespace {

// The ceilings keep every queue and table small enough to scan on each event; a timer is at most
// a day, so a deadline never overflows.
constexpr int64_t day_ms = 24LL * 3600 * 1000;
constexpr int64_t int64_top = std::numeric_limits<int64_t>::max();

// The table. The order is --help's and the docs'; the journal and the scenarios go by name.
const std::array<ConfigField, 27> fields{{
    {"max_sessions", &Config::max_sessions, "", 1, 100'000, "most connections at once; one more is told server_full"},
    {"max_message_bytes", &Config::max_message_bytes, "bytes", 64, 1'048'576,
     "largest client message (one line); a longer one is message_too_large"},
    {"heartbeat_timeout_ms", &Config::heartbeat_timeout_ms, "ms", 1, day_ms,
     "a client silent this long is disconnected"},
    {"rendezvous_udp_port", &Config::rendezvous_udp_port, "", 0, 65'535,
     "the UDP port told in the register reply (set from the bound socket)", false},
    {"ring_timeout_ms", &Config::ring_timeout_ms, "ms", 1, day_ms, "how long a call rings before no_answer"},
    {"max_missed_calls", &Config::max_missed_calls, "", 1, 1000, "missed calls kept per user"},
    {"max_waiters_per_callee", &Config::max_waiters_per_callee, "", 1, 1000, "callers queued on one busy user"},
    {"recall_window_ms", &Config::recall_window_ms, "ms", 1, day_ms,
     "exclusive window of a waiter told the callee is free"},
    {"wait_expiry_ms", &Config::wait_expiry_ms, "ms", 1, day_ms, "a wait ends after this long"},
    {"auto_connect_default", &Config::auto_connect_default, "", 0, 1,
     "ring the callee for the waiter at once (camp-on)"},
    {"max_rooms", &Config::max_rooms, "", 1, 10'000, "PTT rooms open at once"},
    {"max_room_members", &Config::max_room_members, "", 1, 10'000, "members per PTT room"},
    {"max_floor_queue", &Config::max_floor_queue, "", 1, 10'000, "queued presses per room (queue policy)"},
    {"max_talk_ms", &Config::max_talk_ms, "ms", 1, day_ms, "longest PTT turn"},
    {"silence_timeout_ms", &Config::silence_timeout_ms, "ms", 1, day_ms,
     "a silent holder loses the floor after this long"},
    {"silence_threshold_dbfs", &Config::silence_threshold_dbfs, "dBFS", -150, 0,
     "frames at or below this level are silence"},
    {"accounts", &Config::accounts, "", 0, 2,
     "who may use a calls name: off, anyone while nobody connected uses it; open, the first key to log in owns it; "
     "invite, as open but a name is claimed only with an operator's invite (hailer-server: open, or off with "
     "--plaintext)"},
    {"default_floor_policy", &Config::default_floor_policy, "", 0, 1, "policy of a new room"},
    {"instructor_token", &Config::instructor_token, "", 0, 128,
     "secret instructors must give, at least 16 characters (default: made once, kept in the state folder)", true, true},
    {"max_token_failures_per_address_per_minute", &Config::max_token_failures_per_address_per_minute, "", 1, 10'000,
     "wrong instructor tokens one address may give per minute"},
    {"max_media_probes_per_session_per_second", &Config::max_media_probes_per_session_per_second, "", 1, 1000,
     "media proofs a session may have accepted per second"},
    {"max_media_probes_per_address_per_second", &Config::max_media_probes_per_address_per_second, "", 1, 100'000,
     "media proofs checked per source address per second"},
    {"max_media_probes_per_second", &Config::max_media_probes_per_second, "", 1, 100'000,
     "media proofs checked per second in all"},
    {"first_recording_serial", &Config::first_recording_serial, "", 0, int64_top,
     "serial of the first recorded turn (default: one past the highest in the recordings folder)"},
    {"max_rooms_per_address", &Config::max_rooms_per_address, "", 1, 10'000,
     "rooms the sessions of one address may have opened"},
    {"recorded_seconds_per_student_per_hour", &Config::recorded_seconds_per_student_per_hour, "", 1, 3600,
     "seconds of one student's turns recorded per hour (then turns go on unrecorded)"},
    {"recorded_seconds_per_address_per_hour", &Config::recorded_seconds_per_address_per_hour, "", 1, 100'000,
     "seconds of turns from one address recorded per hour"},
}};

// An integer field's value, widened; nothing for the others.
std::optional<int64_t> integer_of(const Config& c, const ConfigField& f) {
  return std::visit(
      [&](auto member) -> std::optional<int64_t> {
        using T = std::remove_cvref_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, uint64_t>) {
          const uint64_t v = c.*member;
          return v > static_cast<uint64_t>(int64_top) ? std::optional<int64_t>(int64_top) : static_cast<int64_t>(v);
        } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<int64_t>(c.*member);
        } else {
          return std::nullopt;
        }
      },
      f.member);
}

bool out_of_range(const Config& c, const ConfigField& f) {
  if (const auto v = integer_of(c, f)) {
    if (std::holds_alternative<uint64_t Config::*>(f.member) &&
        c.*std::get<uint64_t Config::*>(f.member) > static_cast<uint64_t>(int64_top))
      return true;
    return *v < f.min || *v > f.max;
  }
  if (const auto* text = std::get_if<std::string Config::*>(&f.member))
    return (c.**text).size() > static_cast<std::size_t>(f.max);
  return false;  // booleans and choices hold only valid values
}

}  // namespace

std::span<const ConfigField> config_fields() { return fields; }

const ConfigField* find_config_field(std::string_view name) {
  for (const ConfigField& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string config_flag(const ConfigField& field) {
  std::string flag = "--";
  for (const char ch : field.name) flag += ch == '_' ? '-' : ch;
  return flag;
}

std::string config_value_text(const Config& config, const ConfigField& field) {
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_cvref_t<decltype(config.*member)>;
        if constexpr (std::is_same_v<T, bool>) {
          return config.*member ? "true" : "false";
        } else if constexpr (ConfigChoice<T>) {
          return std::string(choice_name(config.*member));
        } else if constexpr (std::is_same_v<T, std::string>) {
          return config.*member;
        } else {
          return std::to_string(config.*member);
        }
      },
      field.member);
}

std::string config_range_text(const ConfigField& field) {
  if (std::holds_alternative<bool Config::*>(field.member)) return "true or false";
  if (auto choices = std::visit(
          [](auto member) -> std::string {
            using T = std::remove_cvref_t<decltype(std::declval<Config>().*member)>;
            std::string list;
            if constexpr (ConfigChoice<T>) {
              for (const auto& [name, value] : ConfigChoices<T>::values)
                list += (list.empty() ? "" : " or ") + std::string(name);
            }
            return list;
          },
          field.member);
      !choices.empty())
    return choices;
  if (std::holds_alternative<std::string Config::*>(field.member))
    return "at most " + std::to_string(field.max) + " bytes";
  if (field.unit == "ms" && field.max == day_ms) return std::to_string(field.min) + " ms..24 h";
  std::string range = std::to_string(field.min) + ".." + std::to_string(field.max);
  if (!field.unit.empty()) range += " " + std::string(field.unit);
  return range;
}

std::optional<std::string> validate(const Config& c) {
  for (const ConfigField& f : fields) {
    if (out_of_range(c, f)) return std::string(f.name) + " must be " + config_range_text(f);
  }
  return std::nullopt;
}

std::string config_table_markdown() {
  const Config defaults;
  std::string md = "| flag / config key | default | range | meaning |\n| --- | --- | --- | --- |\n";
  for (const ConfigField& f : fields) {
    if (!f.settable) continue;
    const std::string value = f.secret ? "(made once)" : config_value_text(defaults, f);
    md += "| `" + config_flag(f) + "` | " + value + " | " + config_range_text(f) + " | " + std::string(f.doc) + " |\n";
  }
  HAILER_ASSERT(md.size() > 100);
  return md;
}

}  // namespace hailer
