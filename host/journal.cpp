#include "host/journal.hpp"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "base/assert.hpp"
#include "base/secret.hpp"
#include "core/core.hpp"
#include "protocol/codec.hpp"
#include "protocol/names.hpp"

namespace hailer {

namespace {

using nlohmann::json;

// What stands for a secret in the journal, and what a replay puts back in its place.
constexpr std::string_view redacted = "<redacted>";
constexpr std::string_view right_token_marker = "<instructor-token>";
constexpr std::string_view wrong_token_marker = "<wrong-token>";
constexpr std::string_view stand_in_token = "journal-replay-stand-in-instructor-token";

// The journal's header holds every row of the config table by name (core/config.hpp); the
// instructor token only as a marker that there was one.
json config_json(const Config& c) {
  json j = json::object();
  for (const ConfigField& f : config_fields()) {
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(c.*member)>;
          if constexpr (ConfigChoice<T>) {
            j[std::string(f.name)] = std::string(choice_name(c.*member));
          } else if constexpr (std::is_same_v<T, std::string>) {
            HAILER_ASSERT(f.secret);  // the one text field is the token: never written out
            j[std::string(f.name)] = (c.*member).empty() ? std::string() : std::string(redacted);
          } else {
            j[std::string(f.name)] = c.*member;
          }
        },
        f.member);
  }
  return j;
}

Config config_from(const json& j) {
  Config c;
  for (const ConfigField& f : config_fields()) {
    const json& v = j.at(std::string(f.name));
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(c.*member)>;
          if constexpr (ConfigChoice<T>) {
            const auto value = choice_from<T>(v.get<std::string>());
            if (!value) throw std::runtime_error("journal: " + std::string(f.name) + " is " + v.get<std::string>());
            c.*member = *value;
          } else if constexpr (std::is_same_v<T, std::string>) {
            const std::string token = v.get<std::string>();
            if (!token.empty() && token != redacted) throw std::runtime_error("the instructor token is not redacted");
            c.*member = token.empty() ? "" : std::string(stand_in_token);
          } else {
            c.*member = v.get<T>();
          }
        },
        f.member);
  }
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

// The marker an invite code is journaled as: the core never sees the code, only the host's
// verdict on it (an "invite" line), so a replay needs only that the register carried one.
constexpr std::string_view invite_marker = "<redacted>";

// A request as journaled: an instructor token is replaced by whether it was the right one, an
// invite code by a marker.
std::string request_text(const Request& request, const std::string& instructor_token) {
  if (const auto* reg = std::get_if<RegisterRequest>(&request.body); reg != nullptr && !reg->invite.empty()) {
    Request copy = request;
    std::get<RegisterRequest>(copy.body).invite = std::string(invite_marker);
    return encode_request(copy);
  }
  const auto* join = std::get_if<JoinRequest>(&request.body);
  if (join == nullptr || join->token.empty()) return encode_request(request);
  Request copy = request;
  auto& token = std::get<JoinRequest>(copy.body).token;
  const bool right = !instructor_token.empty() && constant_time_equal(token, instructor_token);
  token = std::string(right ? right_token_marker : wrong_token_marker);
  return encode_request(copy);
}

json event_json(const Event& event, const std::string& instructor_token, const MediaKeys& keys) {
  return std::visit(
      [&](const auto& e) -> json {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, SessionOpened>) {
          return {{"type", "opened"},
                  {"session", e.session.value},
                  {"address", e.peer_address},
                  {"media_id", media_id_text(e.secrets.media_id)},
                  {"cookie", e.instructor_cookie},
                  {"binding", to_hex(e.binding)}};
        } else if constexpr (std::is_same_v<T, SessionClosed>) {
          return {{"type", "closed"}, {"session", e.session.value}, {"reason", to_string(e.reason)}};
        } else if constexpr (std::is_same_v<T, RequestReceived>) {
          return {
              {"type", "request"}, {"session", e.session.value}, {"text", request_text(e.request, instructor_token)}};
        } else if constexpr (std::is_same_v<T, BadRequest>) {
          return {{"type", "bad"},
                  {"session", e.session.value},
                  {"id", e.error.id ? json(*e.error.id) : json(nullptr)},
                  {"code", to_string(e.error.code)},
                  {"detail", e.error.detail}};
        } else if constexpr (std::is_same_v<T, MediaProbe>) {
          const SecretKey* key = keys.key_of(e.probe.media_id);
          return {{"type", "probe"},
                  {"media_id", media_id_text(e.probe.media_id)},
                  {"counter", e.probe.counter},
                  {"mac_ok", key != nullptr && verify_media_probe(*key, e.probe)},
                  {"address", e.observed.address},
                  {"port", e.observed.port}};
        } else if constexpr (std::is_same_v<T, AudioFrame>) {
          return {{"type", "frame"}, {"session", e.session.value}};
        } else if constexpr (std::is_same_v<T, AudioPlayed>) {
          return {{"type", "played"}, {"session", e.session.value}, {"level", e.level_dbfs}};
        } else if constexpr (std::is_same_v<T, RecordingFailed>) {
          return {{"type", "recording_failed"}, {"session", e.talker.value}, {"reason", to_string(e.reason)}};
        } else if constexpr (std::is_same_v<T, TimerFired>) {
          return {{"type", "timer"}};
        } else if constexpr (std::is_same_v<T, AccountsLoaded>) {
          json list = json::array();
          for (const Account& a : e.accounts) list.push_back({{"name", a.name}, {"key", to_hex(a.key)}});
          return {{"type", "accounts"}, {"accounts", list}};
        } else if constexpr (std::is_same_v<T, InviteChecked>) {
          return {{"type", "invite"}, {"session", e.session.value}, {"name_key", e.name_key}, {"expired", e.expired}};
        } else {
          static_assert(std::is_same_v<T, Shutdown>);
          return {{"type", "shutdown"}};
        }
      },
      event);
}

uint64_t media_id_from(const json& j) {
  std::array<uint8_t, 8> bytes{};
  if (!from_hex(j.get<std::string>(), bytes)) throw std::runtime_error("bad media_id");
  uint64_t id = 0;
  for (uint8_t b : bytes) id = (id << 8) | b;
  return id;
}

// An "opened" line: the session's stand-in secrets with its journaled media id, and its channel
// binding (journals written before accounts have none). Throws std::runtime_error.
SessionOpened opened_from(const json& j) {
  const SessionId id{j.at("session").get<uint64_t>()};
  SessionSecrets secrets = stand_in_secrets(id.value);
  secrets.media_id = media_id_from(j.at("media_id"));
  ChannelBinding binding{};
  if (j.contains("binding") && !from_hex(j.at("binding").get<std::string>(), binding))
    throw std::runtime_error("bad binding");
  return SessionOpened{id, j.at("address").get<std::string>(), secrets, j.at("cookie").get<bool>(), binding};
}

// The accounts of an "accounts" line. Throws std::runtime_error.
AccountsLoaded accounts_from(const json& list) {
  AccountsLoaded loaded;
  for (const json& a : list) {
    Account account{a.at("name").get<std::string>(), {}};
    if (!valid_name(account.name) || !from_hex(a.at("key").get<std::string>(), account.key))
      throw std::runtime_error("bad account");
    loaded.accounts.push_back(std::move(account));
  }
  return loaded;
}

// Throws std::runtime_error (or nlohmann's errors) when the line is not an event. Secrets come
// back as stand-ins: the session's stand-in key, the stand-in instructor token, and for a proof
// a MAC made (or, when it was wrong, not made) under the stand-in key its media id names.
Event event_from(const json& j, const MediaKeys& keys) {
  const std::string type = j.at("type").get<std::string>();
  auto session = [&] { return SessionId{j.at("session").get<uint64_t>()}; };
  if (type == "opened") return opened_from(j);
  if (type == "closed") {
    const auto reason = close_reason_from(j.at("reason").get<std::string>());
    if (!reason) throw std::runtime_error("unknown close reason");
    return SessionClosed{session(), *reason};
  }
  if (type == "request") {
    auto r = decode_request(j.at("text").get<std::string>(), 1u << 24);
    auto* request = std::get_if<Request>(&r);
    if (request == nullptr) throw std::runtime_error("a journaled request does not decode");
    if (auto* join = std::get_if<JoinRequest>(&request->body); join != nullptr && join->token == right_token_marker) {
      join->token = std::string(stand_in_token);
    }
    return RequestReceived{session(), std::move(*request)};
  }
  if (type == "bad") {
    const auto code = error_code_from(j.at("code").get<std::string>());
    if (!code) throw std::runtime_error("unknown error code");
    std::optional<uint64_t> id;
    if (!j.at("id").is_null()) id = j.at("id").get<uint64_t>();
    return BadRequest{session(), DecodeError{id, *code, j.at("detail").get<std::string>()}};
  }
  if (type == "probe") {
    MediaProbeDatagram probe;
    probe.media_id = media_id_from(j.at("media_id"));
    probe.counter = j.at("counter").get<uint64_t>();
    const SecretKey* key = keys.key_of(probe.media_id);
    if (j.at("mac_ok").get<bool>() && key != nullptr) probe.mac = media_probe_mac(*key, probe.media_id, probe.counter);
    return MediaProbe{probe, MediaEndpoint{j.at("address").get<std::string>(), j.at("port").get<uint16_t>()}};
  }
  if (type == "frame") return AudioFrame{session()};
  if (type == "played") return AudioPlayed{session(), j.at("level").get<int32_t>()};
  if (type == "recording_failed") {
    const std::string reason = j.at("reason").get<std::string>();
    for (int r = 0; r <= static_cast<int>(RecordingStopReason::error); ++r) {
      if (to_string(static_cast<RecordingStopReason>(r)) == reason)
        return RecordingFailed{session(), static_cast<RecordingStopReason>(r)};
    }
    throw std::runtime_error("unknown recording stop reason");
  }
  if (type == "timer") return TimerFired{};
  if (type == "accounts") return accounts_from(j.at("accounts"));
  if (type == "invite")
    return InviteChecked{session(), j.at("name_key").get<std::string>(), j.at("expired").get<bool>()};
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

// A register reply carries the session's media key: it is digested with the key blanked, so the
// digest derives nothing and a replay's stand-in key digests the same.
static ServerMessage without_media_key(const ServerMessage& message) {
  const auto* ok = std::get_if<OkReply>(&message);
  if (ok == nullptr || !std::holds_alternative<RegisteredData>(ok->data)) return message;
  OkReply copy = *ok;
  std::get<RegisteredData>(copy.data).media_token = std::string(redacted);
  return copy;
}

std::string describe_effects(std::span<const Effect> effects) {
  std::string out;
  for (const Effect& effect : effects) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, SendMessage>) {
            out += "send " + std::to_string(e.to.value) + " " + encode(without_media_key(e.message));
          } else if constexpr (std::is_same_v<T, Broadcast>) {
            out += "broadcast";
            for (SessionId s : e.to) out += " " + std::to_string(s.value);
            out += " " + encode(e.message);
          } else if constexpr (std::is_same_v<T, CloseSession>) {
            out += "close " + std::to_string(e.session.value) + " " + std::string(to_string(e.reason));
          } else if constexpr (std::is_same_v<T, RouteMedia>) {
            out += "route " + std::to_string(e.from.value) + " " + std::to_string(e.to.value) +
                   (e.open ? " open" : " shut");
          } else if constexpr (std::is_same_v<T, RouteSpeaker>) {
            out += "speaker " + std::to_string(e.talker.value) + " " + e.room + " " +
                   std::string(to_string(e.format.codec)) + " " + std::to_string(e.format.sample_rate_hz) +
                   (e.open ? " open" : " shut");
          } else if constexpr (std::is_same_v<T, StartRecording>) {
            out += "record " + std::to_string(e.session.value) + " " + e.room + " " + e.file_name;
          } else if constexpr (std::is_same_v<T, AccountClaimed>) {
            out += "claim " + e.account.name + " " + to_hex(e.account.key);
          } else if constexpr (std::is_same_v<T, InviteUsed>) {
            out += "invite_used " + e.name_key;
          } else if constexpr (std::is_same_v<T, RelayCall>) {
            // The legs' ids are secrets: the journal names the call and its sessions only.
            out += "relay " + std::to_string(e.call_id) + " " + std::to_string(e.a.value) + " " +
                   std::to_string(e.b.value) + (e.open ? " open" : " shut");
          } else {
            static_assert(std::is_same_v<T, StopRecording>);
            out += "stop " + std::to_string(e.session.value) + (e.at_once ? " now" : "");
          }
        },
        effect);
    out += "\n";
  }
  return out;
}

std::string journal_header(const Config& config) {
  return json{{"journal", "hailer"}, {"version", journal_version}, {"config", config_json(config)}}.dump();
}

void MediaKeys::observe(const Event& event, std::span<const Effect> effects) {
  if (const auto* closed = std::get_if<SessionClosed>(&event)) {
    if (const auto it = media_ids_.find(closed->session); it != media_ids_.end()) {
      keys_.erase(it->second);
      media_ids_.erase(it);
    }
  }
  for (const Effect& effect : effects) {
    const auto* send = std::get_if<SendMessage>(&effect);
    const auto* ok = send != nullptr ? std::get_if<OkReply>(&send->message) : nullptr;
    const auto* reg = ok != nullptr ? std::get_if<RegisteredData>(&ok->data) : nullptr;
    if (reg == nullptr) continue;
    SecretKey key;
    std::array<uint8_t, 8> id_bytes{};
    if (!from_hex(reg->media_token, key.bytes) || !from_hex(reg->media_id, id_bytes)) continue;
    uint64_t id = 0;
    for (uint8_t b : id_bytes) id = (id << 8) | b;
    keys_[id] = key;
    media_ids_[send->to] = id;
  }
}

const SecretKey* MediaKeys::key_of(uint64_t media_id) const {
  const auto it = keys_.find(media_id);
  return it == keys_.end() ? nullptr : &it->second;
}

JournalWriter::JournalWriter(std::ostream& out, const Config& config)
    : out_(out), instructor_token_(config.instructor_token) {
  out_ << journal_header(config) << '\n' << std::flush;
}

void JournalWriter::fed(Time now, const Event& event, std::span<const Effect> effects) {
  const json line{
      {"t", now.us}, {"e", event_json(event, instructor_token_, keys_)}, {"fx", digest(describe_effects(effects))}};
  out_ << line.dump() << '\n' << std::flush;
  keys_.observe(event, effects);
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
    return Core(config);
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
  MediaKeys keys;  // the stand-in keys, learnt from the replayed register replies
  uint64_t line = 1;
  std::vector<Effect> effects;
  Time last{0};
  // A replay that breaks an assertion aborts (it is a bug, or a journal edited by hand); the line
  // it was on is printed with the assertion.
  const AssertContext context(
      [](const void* arg, char* out, std::size_t size) {
        std::snprintf(out, size, "replaying journal line %llu",
                      static_cast<unsigned long long>(*static_cast<const uint64_t*>(arg)));
      },
      &line);
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    if (text.starts_with("{\"config\"") || text.find("\"journal\":\"hailer\"") != std::string::npos) {
      // The server restarted and appended a new run: a fresh core from its header.
      auto next = core_from_header(text);
      if (auto* err = std::get_if<std::string>(&next)) return {result.events, line, *err};
      core.emplace(std::move(std::get<Core>(next)));
      keys = MediaKeys{};
      last = Time{0};
      continue;
    }
    try {
      const json j = json::parse(text);
      const Time now{j.at("t").get<int64_t>()};
      if (now < last) {  // the core's contract: time never goes backwards
        result.line = line;
        result.detail =
            "time goes backwards (" + std::to_string(now.us) + " us after " + std::to_string(last.us) + " us)";
        return result;
      }
      last = now;
      const Event event = event_from(j.at("e"), keys);
      effects.clear();
      step(*core, now, event, effects, true);
      keys.observe(event, effects);
      ++result.events;
      const std::string described = describe_effects(effects);
      if (digest(described) != j.at("fx").get<std::string>()) {
        result.line = line;
        result.detail = "the effects differ from the journal's; replayed:\n" + described;
        return result;
      }
    } catch (const AssertionFailure& e) {  // only where a test installed a throwing handler
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
