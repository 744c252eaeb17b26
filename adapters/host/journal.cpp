#include "adapters/host/journal.hpp"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "core/assert.hpp"
#include "core/codec.hpp"
#include "core/core.hpp"

namespace hailer {

namespace {

using nlohmann::json;

json config_json(const Config& c) {
  return json{{"max_sessions", c.max_sessions},
              {"max_message_bytes", c.max_message_bytes},
              {"heartbeat_timeout_ms", c.heartbeat_timeout_ms},
              {"rendezvous_udp_port", c.rendezvous_udp_port},
              {"ring_timeout_ms", c.ring_timeout_ms},
              {"max_missed_calls", c.max_missed_calls},
              {"max_waiters_per_callee", c.max_waiters_per_callee},
              {"recall_window_ms", c.recall_window_ms},
              {"wait_expiry_ms", c.wait_expiry_ms},
              {"auto_connect_default", c.auto_connect_default},
              {"max_rooms", c.max_rooms},
              {"max_room_members", c.max_room_members},
              {"max_floor_queue", c.max_floor_queue},
              {"max_talk_ms", c.max_talk_ms},
              {"silence_timeout_ms", c.silence_timeout_ms},
              {"silence_threshold_dbfs", c.silence_threshold_dbfs},
              {"default_floor_policy", to_string(c.default_floor_policy)},
              {"instructor_token", c.instructor_token},
              {"first_recording_serial", c.first_recording_serial}};
}

Config config_from(const json& j) {
  Config c;
  c.max_sessions = j.at("max_sessions").get<uint32_t>();
  c.max_message_bytes = j.at("max_message_bytes").get<uint32_t>();
  c.heartbeat_timeout_ms = j.at("heartbeat_timeout_ms").get<int64_t>();
  c.rendezvous_udp_port = j.at("rendezvous_udp_port").get<uint16_t>();
  c.ring_timeout_ms = j.at("ring_timeout_ms").get<int64_t>();
  c.max_missed_calls = j.at("max_missed_calls").get<uint32_t>();
  c.max_waiters_per_callee = j.at("max_waiters_per_callee").get<uint32_t>();
  c.recall_window_ms = j.at("recall_window_ms").get<int64_t>();
  c.wait_expiry_ms = j.at("wait_expiry_ms").get<int64_t>();
  c.auto_connect_default = j.at("auto_connect_default").get<bool>();
  c.max_rooms = j.at("max_rooms").get<uint32_t>();
  c.max_room_members = j.at("max_room_members").get<uint32_t>();
  c.max_floor_queue = j.at("max_floor_queue").get<uint32_t>();
  c.max_talk_ms = j.at("max_talk_ms").get<int64_t>();
  c.silence_timeout_ms = j.at("silence_timeout_ms").get<int64_t>();
  c.silence_threshold_dbfs = j.at("silence_threshold_dbfs").get<int32_t>();
  c.default_floor_policy = j.at("default_floor_policy").get<std::string>() == "queue" ? FloorPolicy::queue : FloorPolicy::deny;
  c.instructor_token = j.at("instructor_token").get<std::string>();
  c.first_recording_serial = j.at("first_recording_serial").get<uint64_t>();
  return c;
}

std::optional<CloseReason> close_reason_from(const std::string& name) {
  for (std::size_t r = 0; r < close_reason_count; ++r) {
    if (to_string(static_cast<CloseReason>(r)) == name) return static_cast<CloseReason>(r);
  }
  return std::nullopt;
}

std::optional<ErrorCode> error_code_from(const std::string& name) {
  for (int e = 0; e < error_code_count; ++e) {
    if (to_string(static_cast<ErrorCode>(e)) == name) return static_cast<ErrorCode>(e);
  }
  return std::nullopt;
}

json event_json(const Event& event) {
  return std::visit(
      [](const auto& e) -> json {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, SessionOpened>) {
          return {{"type", "opened"}, {"session", e.session.value}, {"address", e.peer_address}};
        } else if constexpr (std::is_same_v<T, SessionClosed>) {
          return {{"type", "closed"}, {"session", e.session.value}, {"reason", to_string(e.reason)}};
        } else if constexpr (std::is_same_v<T, RequestReceived>) {
          return {{"type", "request"}, {"session", e.session.value}, {"text", encode_request(e.request)}};
        } else if constexpr (std::is_same_v<T, BadRequest>) {
          return {{"type", "bad"},
                  {"session", e.session.value},
                  {"id", e.error.id ? json(*e.error.id) : json(nullptr)},
                  {"code", to_string(e.error.code)},
                  {"detail", e.error.detail}};
        } else if constexpr (std::is_same_v<T, MediaProbe>) {
          return {{"type", "probe"}, {"token", e.token}, {"address", e.observed.address}, {"port", e.observed.port}};
        } else if constexpr (std::is_same_v<T, AudioFrame>) {
          return {{"type", "frame"}, {"session", e.session.value}};
        } else if constexpr (std::is_same_v<T, AudioPlayed>) {
          return {{"type", "played"}, {"session", e.session.value}, {"level", e.level_dbfs}};
        } else if constexpr (std::is_same_v<T, TimerFired>) {
          return {{"type", "timer"}};
        } else {
          static_assert(std::is_same_v<T, Shutdown>);
          return {{"type", "shutdown"}};
        }
      },
      event);
}

// Throws std::runtime_error (or nlohmann's errors) when the line is not an event.
Event event_from(const json& j) {
  const std::string type = j.at("type").get<std::string>();
  auto session = [&] { return SessionId{j.at("session").get<uint64_t>()}; };
  if (type == "opened") return SessionOpened{session(), j.at("address").get<std::string>()};
  if (type == "closed") {
    const auto reason = close_reason_from(j.at("reason").get<std::string>());
    if (!reason) throw std::runtime_error("unknown close reason");
    return SessionClosed{session(), *reason};
  }
  if (type == "request") {
    auto r = decode_request(j.at("text").get<std::string>(), 1u << 24);
    if (auto* request = std::get_if<Request>(&r)) return RequestReceived{session(), std::move(*request)};
    throw std::runtime_error("a journaled request does not decode");
  }
  if (type == "bad") {
    const auto code = error_code_from(j.at("code").get<std::string>());
    if (!code) throw std::runtime_error("unknown error code");
    std::optional<uint64_t> id;
    if (!j.at("id").is_null()) id = j.at("id").get<uint64_t>();
    return BadRequest{session(), DecodeError{id, *code, j.at("detail").get<std::string>()}};
  }
  if (type == "probe") {
    return MediaProbe{j.at("token").get<std::string>(),
                      MediaEndpoint{j.at("address").get<std::string>(), j.at("port").get<uint16_t>()}};
  }
  if (type == "frame") return AudioFrame{session()};
  if (type == "played") return AudioPlayed{session(), j.at("level").get<int32_t>()};
  if (type == "timer") return TimerFired{};
  if (type == "shutdown") return Shutdown{};
  throw std::runtime_error("unknown event type " + type);
}

std::string digest(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits: stable across builds and machines
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016" PRIx64, h);
  return out;
}

}  // namespace

std::string describe_effects(std::span<const Effect> effects) {
  std::string out;
  for (const Effect& effect : effects) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, SendMessage>) {
            out += "send " + std::to_string(e.to.value) + " " + encode(e.message);
          } else if constexpr (std::is_same_v<T, Broadcast>) {
            out += "broadcast";
            for (SessionId s : e.to) out += " " + std::to_string(s.value);
            out += " " + encode(e.message);
          } else if constexpr (std::is_same_v<T, CloseSession>) {
            out += "close " + std::to_string(e.session.value) + " " + std::string(to_string(e.reason));
          } else if constexpr (std::is_same_v<T, RouteMedia>) {
            out += "route " + std::to_string(e.from.value) + " " + std::to_string(e.to.value) + (e.open ? " open" : " shut");
          } else if constexpr (std::is_same_v<T, RouteSpeaker>) {
            out += "speaker " + std::to_string(e.talker.value) + " " + e.room + " " + std::string(to_string(e.format.codec)) +
                   " " + std::to_string(e.format.sample_rate_hz) + (e.open ? " open" : " shut");
          } else if constexpr (std::is_same_v<T, StartRecording>) {
            out += "record " + std::to_string(e.session.value) + " " + e.room + " " + e.file_name;
          } else {
            static_assert(std::is_same_v<T, StopRecording>);
            out += "stop " + std::to_string(e.session.value);
          }
        },
        effect);
    out += "\n";
  }
  return out;
}

std::string journal_header(const Config& config, uint64_t seed) {
  return json{{"journal", "hailer"}, {"version", journal_version}, {"seed", seed}, {"config", config_json(config)}}.dump();
}

std::string journal_line(Time now, const Event& event, std::span<const Effect> effects) {
  return json{{"t", now.us}, {"e", event_json(event)}, {"fx", digest(describe_effects(effects))}}.dump();
}

JournalWriter::JournalWriter(std::ostream& out, const Config& config, uint64_t seed) : out_(out) {
  out_ << journal_header(config, seed) << '\n' << std::flush;
}

void JournalWriter::fed(Time now, const Event& event, std::span<const Effect> effects) {
  out_ << journal_line(now, event, effects) << '\n' << std::flush;
}

namespace {

// A fresh core from a header line; the reason when the header is not usable.
std::variant<Core, std::string> core_from_header(const std::string& text) {
  try {
    const json header = json::parse(text);
    if (header.at("journal") != "hailer" || header.at("version") != journal_version) {
      return "not a hailer journal of version " + std::to_string(journal_version);
    }
    const Config config = config_from(header.at("config"));
    if (auto err = validate(config)) return "journal config: " + *err;
    return Core(config, header.at("seed").get<uint64_t>());
  } catch (const std::exception& e) {
    return std::string("journal header: ") + e.what();
  }
}

}  // namespace

ReplayResult replay_journal(std::istream& in) {
  ReplayResult result;
  std::string text;
  if (!std::getline(in, text)) return {0, std::nullopt, "empty journal"};
  auto first = core_from_header(text);
  if (auto* err = std::get_if<std::string>(&first)) return {0, std::nullopt, *err};
  std::optional<Core> core(std::move(std::get<Core>(first)));
  uint64_t line = 1;
  std::vector<Effect> effects;
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    if (text.starts_with("{\"config\"") || text.find("\"journal\":\"hailer\"") != std::string::npos) {
      // The server restarted and appended a new run: a fresh core from its header.
      auto next = core_from_header(text);
      if (auto* err = std::get_if<std::string>(&next)) return {result.events, line, *err};
      core.emplace(std::move(std::get<Core>(next)));
      continue;
    }
    try {
      const json j = json::parse(text);
      const Time now{j.at("t").get<int64_t>()};
      const Event event = event_from(j.at("e"));
      effects.clear();
      step(*core, now, event, effects, true);
      ++result.events;
      const std::string described = describe_effects(effects);
      if (digest(described) != j.at("fx").get<std::string>()) {
        result.line = line;
        result.detail = "the effects differ from the journal's; replayed:\n" + described;
        return result;
      }
    } catch (const AssertionFailure& e) {
      result.line = line;
      result.detail = std::string("invariant broken: ") + e.what();
      return result;
    } catch (const std::exception& e) {
      result.line = line;
      result.detail = std::string("unreadable line: ") + e.what();
      return result;
    }
  }
  return result;
}

}  // namespace hailer
