#include "codec.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "assert.hpp"
#include "utf8.hpp"

namespace hailer {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;  // keeps "type" and "id" first on the wire, for people reading logs

// Longest string field accepted; names are validated further by the core.
constexpr std::size_t max_string_field_bytes = 256;

// ------------------------------------------------------------------ enum name tables

constexpr std::array<std::string_view, 3> presence_names{"available", "ringing", "in_call"};
constexpr std::array<std::string_view, 2> role_names{"student", "instructor"};
constexpr std::array<std::string_view, 2> codec_names{"opus", "pcm16"};
constexpr std::array<std::string_view, 2> policy_names{"deny", "queue"};
constexpr std::array<std::string_view, 2> call_role_names{"caller", "callee"};
constexpr std::array<std::string_view, 5> end_reason_names{"hangup", "rejected", "no_answer", "cancelled",
                                                           "peer_disconnected"};
constexpr std::array<std::string_view, 2> wait_status_names{"queued", "suspended"};
constexpr std::array<std::string_view, 5> wait_end_names{"completed", "cancelled", "expired", "window_expired",
                                                         "callee_offline"};
constexpr std::array<std::string_view, 3> deny_names{"floor_taken", "queue_full", "receive_only"};
constexpr std::array<std::string_view, 3> revoke_names{"max_talk_time", "silence", "instructor"};
constexpr std::array<std::string_view, 2> dequeue_names{"released", "policy_changed"};

// Request type names, in RequestBody's alternative order.
constexpr std::array<std::string_view, std::variant_size_v<RequestBody>> request_names{
    "register", "who",     "call",  "accept",  "reject",  "hangup",  "cancel",    "cancel_wait",
    "missed",   "ping",    "join",  "press",   "release", "revoke",  "set_policy"};

// Server message type names, in ServerMessage's alternative order.
constexpr std::array<std::string_view, std::variant_size_v<ServerMessage>> server_names{
    "ok",          "error",        "call_ringing", "call_connected", "call_ended",     "missed_call",
    "wait_update", "callee_available", "wait_ended", "waiting_count", "floor_granted", "floor_denied",
    "floor_queued", "floor_taken", "floor_idle",   "floor_revoked",  "floor_dequeued", "member_joined",
    "member_left", "policy_changed"};

template <typename E, std::size_t N>
std::string_view name_of(E value, const std::array<std::string_view, N>& table) {
  const auto index = static_cast<std::size_t>(value);
  HAILER_ASSERT(index < N);
  return table[index];
}

template <typename E, std::size_t N>
std::optional<E> parse_enum(std::string_view text, const std::array<std::string_view, N>& table) {
  for (std::size_t i = 0; i < N; ++i) {
    if (table[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

template <std::size_t N>
std::optional<std::size_t> index_of(std::string_view text, const std::array<std::string_view, N>& table) {
  for (std::size_t i = 0; i < N; ++i) {
    if (table[i] == text) return i;
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ strict field reading

// Reads typed fields from a request object and keeps the first error. A JSON null counts as absent.
class FieldReader {
 public:
  FieldReader(const json& object, DecodeError& error) : object_(object), error_(error) {}

  bool failed() const { return failed_; }

  std::optional<std::string> text(const char* key, bool required) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) return fail_field(key, "must be a string"), std::nullopt;
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max_string_field_bytes) return fail_field(key, "is too long"), std::nullopt;
    return s;
  }

  std::optional<uint64_t> unsigned_int(const char* key, bool required, uint64_t max) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
      return fail_field(key, "must be a non-negative integer"), std::nullopt;
    }
    const auto n = v->get<uint64_t>();
    if (n > max) return fail_field(key, "is out of range"), std::nullopt;
    return n;
  }

  std::optional<int64_t> signed_int(const char* key, bool required) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) return fail_field(key, "must be an integer"), std::nullopt;
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return fail_field(key, "is out of range"), std::nullopt;
    }
    return v->get<int64_t>();
  }

  std::optional<bool> boolean(const char* key, bool required) {
    const json* v = find(key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) return fail_field(key, "must be true or false"), std::nullopt;
    return v->get<bool>();
  }

  template <typename E, std::size_t N>
  std::optional<E> enumeration(const char* key, bool required, const std::array<std::string_view, N>& table) {
    auto s = text(key, required);
    if (!s) return std::nullopt;
    auto e = parse_enum<E>(*s, table);
    if (!e) return fail_field(key, "has an unknown value"), std::nullopt;
    return e;
  }

 private:
  const json* find(const char* key, bool required) {
    if (failed_) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) {
      if (required) fail(ErrorCode::missing_field, std::string("field '") + key + "' is required");
      return nullptr;
    }
    return &*it;
  }
  void fail_field(const char* key, const char* what) {
    fail(ErrorCode::bad_field, std::string("field '") + key + "' " + what);
  }
  void fail(ErrorCode code, std::string detail) {
    if (failed_) return;
    failed_ = true;
    error_.code = code;
    error_.detail = std::move(detail);
  }

  const json& object_;
  DecodeError& error_;
  bool failed_ = false;
};

// ------------------------------------------------------------------ request bodies

RequestBody read_body(std::size_t type_index, FieldReader& r) {
  switch (type_index) {
    case 0: {
      RegisterRequest q;
      q.version = r.signed_int("version", true).value_or(0);
      q.name = r.text("name", true).value_or("");
      q.media_port = static_cast<uint16_t>(r.unsigned_int("media_port", false, 65535).value_or(0));
      return q;
    }
    case 1: return WhoRequest{};
    case 2: {
      CallRequest q;
      q.to = r.text("to", true).value_or("");
      q.auto_connect = r.boolean("auto_connect", false);
      return q;
    }
    case 3: return AcceptRequest{r.unsigned_int("call_id", false, max_request_id)};
    case 4: return RejectRequest{r.unsigned_int("call_id", false, max_request_id)};
    case 5: return HangupRequest{};
    case 6: return CancelRequest{};
    case 7: return CancelWaitRequest{};
    case 8: return MissedRequest{};
    case 9: return PingRequest{};
    case 10: {
      JoinRequest q;
      q.version = r.signed_int("version", true).value_or(0);
      q.name = r.text("name", true).value_or("");
      q.room = r.text("room", true).value_or("");
      q.role = r.enumeration<Role>("role", false, role_names).value_or(Role::student);
      q.codec = r.enumeration<AudioCodec>("codec", false, codec_names).value_or(AudioCodec::pcm16);
      const auto rate = r.unsigned_int("sample_rate", false, 192'000).value_or(48'000);
      q.sample_rate_hz = static_cast<uint32_t>(rate);
      q.token = r.text("token", false).value_or("");
      return q;
    }
    case 11: return PressRequest{};
    case 12: return ReleaseRequest{};
    case 13: return RevokeRequest{};
    case 14: return SetPolicyRequest{r.enumeration<FloorPolicy>("policy", true, policy_names).value_or(FloorPolicy::deny)};
    default: HAILER_ASSERT(false && "request table and switch disagree");
  }
  return PingRequest{};
}

// Rejects sample rates a browser cannot produce; only checked for join.
bool sample_rate_ok(const RequestBody& body) {
  const auto* join = std::get_if<JoinRequest>(&body);
  return join == nullptr || join->sample_rate_hz >= 8'000;
}

// ------------------------------------------------------------------ request encoding

void write_body(ojson& j, const RequestBody& body) {
  std::visit(
      [&](const auto& q) {
        using T = std::decay_t<decltype(q)>;
        if constexpr (std::is_same_v<T, RegisterRequest>) {
          j["version"] = q.version;
          j["name"] = q.name;
          if (q.media_port != 0) j["media_port"] = q.media_port;
        } else if constexpr (std::is_same_v<T, CallRequest>) {
          j["to"] = q.to;
          if (q.auto_connect) j["auto_connect"] = *q.auto_connect;
        } else if constexpr (std::is_same_v<T, AcceptRequest> || std::is_same_v<T, RejectRequest>) {
          if (q.call_id) j["call_id"] = *q.call_id;
        } else if constexpr (std::is_same_v<T, JoinRequest>) {
          j["version"] = q.version;
          j["name"] = q.name;
          j["room"] = q.room;
          j["role"] = name_of(q.role, role_names);
          j["codec"] = name_of(q.codec, codec_names);
          j["sample_rate"] = q.sample_rate_hz;
          if (!q.token.empty()) j["token"] = q.token;
        } else if constexpr (std::is_same_v<T, SetPolicyRequest>) {
          j["policy"] = name_of(q.policy, policy_names);
        }
      },
      body);
}

// ------------------------------------------------------------------ server message encoding

void write_reply_data(ojson& j, const ReplyData& data) {
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, RegisteredData>) {
          j["name"] = d.name;
          j["heartbeat_ms"] = d.heartbeat_ms;
        } else if constexpr (std::is_same_v<T, CallData>) {
          if (d.call_id) j["call_id"] = *d.call_id;
          j["queued"] = d.queued;
        } else if constexpr (std::is_same_v<T, WhoData>) {
          ojson users = ojson::array();
          for (const auto& u : d.users) {
            users.push_back({{"name", u.name}, {"state", name_of(u.state, presence_names)}, {"waiting", u.waiting}});
          }
          j["users"] = std::move(users);
        } else if constexpr (std::is_same_v<T, MissedData>) {
          ojson calls = ojson::array();
          for (const auto& c : d.calls) calls.push_back({{"from", c.from}, {"at_ms", c.at_ms}});
          j["calls"] = std::move(calls);
        } else if constexpr (std::is_same_v<T, RoomData>) {
          j["room"] = d.room;
          j["policy"] = name_of(d.policy, policy_names);
          j["talker"] = d.talker.empty() ? ojson(nullptr) : ojson(d.talker);
          ojson members = ojson::array();
          for (const auto& m : d.members) members.push_back({{"name", m.name}, {"role", name_of(m.role, role_names)}});
          j["members"] = std::move(members);
          j["max_talk_ms"] = d.max_talk_ms;
        }
      },
      data);
}

void write_message(ojson& j, const ServerMessage& message) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, OkReply>) {
          j["id"] = m.id;
          write_reply_data(j, m.data);
        } else if constexpr (std::is_same_v<T, ErrorReply>) {
          j["id"] = m.id ? ojson(*m.id) : ojson(nullptr);
          j["code"] = to_string(m.code);
          j["message"] = m.message;
        } else if constexpr (std::is_same_v<T, CallRinging>) {
          j["call_id"] = m.call_id;
          j["peer"] = m.peer;
          j["role"] = name_of(m.role, call_role_names);
        } else if constexpr (std::is_same_v<T, CallConnected>) {
          j["call_id"] = m.call_id;
          j["peer"] = m.peer;
          j["peer_media"] = {{"address", m.peer_media.address}, {"port", m.peer_media.port}};
        } else if constexpr (std::is_same_v<T, CallEnded>) {
          j["call_id"] = m.call_id;
          j["peer"] = m.peer;
          j["reason"] = name_of(m.reason, end_reason_names);
          j["by"] = m.by.empty() ? ojson(nullptr) : ojson(m.by);
        } else if constexpr (std::is_same_v<T, MissedCall>) {
          j["from"] = m.from;
          j["at_ms"] = m.at_ms;
        } else if constexpr (std::is_same_v<T, WaitUpdate>) {
          j["callee"] = m.callee;
          j["position"] = m.position;
          j["status"] = name_of(m.status, wait_status_names);
        } else if constexpr (std::is_same_v<T, CalleeAvailable>) {
          j["callee"] = m.callee;
          j["window_ms"] = m.window_ms;
          j["auto_connect"] = m.auto_connect;
        } else if constexpr (std::is_same_v<T, WaitEnded>) {
          j["callee"] = m.callee;
          j["reason"] = name_of(m.reason, wait_end_names);
        } else if constexpr (std::is_same_v<T, WaitingCount>) {
          j["count"] = m.count;
        } else if constexpr (std::is_same_v<T, FloorGranted>) {
          j["remaining_ms"] = m.remaining_ms;
        } else if constexpr (std::is_same_v<T, FloorDenied>) {
          j["reason"] = name_of(m.reason, deny_names);
          j["talker"] = m.talker.empty() ? ojson(nullptr) : ojson(m.talker);
        } else if constexpr (std::is_same_v<T, FloorQueued>) {
          j["position"] = m.position;
        } else if constexpr (std::is_same_v<T, FloorTaken>) {
          j["talker"] = m.talker;
        } else if constexpr (std::is_same_v<T, FloorRevoked>) {
          j["reason"] = name_of(m.reason, revoke_names);
        } else if constexpr (std::is_same_v<T, FloorDequeued>) {
          j["reason"] = name_of(m.reason, dequeue_names);
        } else if constexpr (std::is_same_v<T, MemberJoined>) {
          j["name"] = m.name;
          j["role"] = name_of(m.role, role_names);
        } else if constexpr (std::is_same_v<T, MemberLeft>) {
          j["name"] = m.name;
        } else if constexpr (std::is_same_v<T, PolicyChanged>) {
          j["policy"] = name_of(m.policy, policy_names);
        }
      },
      message);
}

// ------------------------------------------------------------------ server message decoding (clients)

// Lenient typed access for the client side: a wrong shape throws, and the caller returns nothing.
std::string str_or_empty(const json& j, const char* key) {
  auto it = j.find(key);
  return (it == j.end() || it->is_null()) ? std::string() : it->get<std::string>();
}

template <typename E, std::size_t N>
E enum_at(const json& j, const char* key, const std::array<std::string_view, N>& table) {
  auto e = parse_enum<E>(j.at(key).get<std::string>(), table);
  if (!e) throw std::invalid_argument(key);
  return *e;
}

ReplyData read_reply_data(const json& j) {
  if (j.contains("heartbeat_ms")) return RegisteredData{j.at("name").get<std::string>(), j.at("heartbeat_ms").get<int64_t>()};
  if (j.contains("users")) {
    WhoData d;
    for (const auto& u : j.at("users")) {
      d.users.push_back({u.at("name").get<std::string>(), enum_at<PresenceState>(u, "state", presence_names),
                         u.at("waiting").get<uint32_t>()});
    }
    return d;
  }
  if (j.contains("calls")) {
    MissedData d;
    for (const auto& c : j.at("calls")) d.calls.push_back({c.at("from").get<std::string>(), c.at("at_ms").get<int64_t>()});
    return d;
  }
  if (j.contains("room")) {
    RoomData d;
    d.room = j.at("room").get<std::string>();
    d.policy = enum_at<FloorPolicy>(j, "policy", policy_names);
    d.talker = str_or_empty(j, "talker");
    for (const auto& m : j.at("members")) d.members.push_back({m.at("name").get<std::string>(), enum_at<Role>(m, "role", role_names)});
    d.max_talk_ms = j.at("max_talk_ms").get<int64_t>();
    return d;
  }
  if (j.contains("queued")) {
    CallData d;
    if (j.contains("call_id")) d.call_id = j.at("call_id").get<uint64_t>();
    d.queued = j.at("queued").get<bool>();
    return d;
  }
  return std::monostate{};
}

ServerMessage read_message(std::size_t index, const json& j) {
  switch (index) {
    case 0: return OkReply{j.at("id").get<uint64_t>(), read_reply_data(j)};
    case 1: {
      ErrorReply e;
      if (!j.at("id").is_null()) e.id = j.at("id").get<uint64_t>();
      auto code_name = j.at("code").get<std::string>();
      bool found = false;
      for (int c = 0; c < error_code_count; ++c) {
        if (to_string(static_cast<ErrorCode>(c)) == code_name) {
          e.code = static_cast<ErrorCode>(c);
          found = true;
        }
      }
      if (!found) throw std::invalid_argument("code");
      e.message = j.at("message").get<std::string>();
      return e;
    }
    case 2: return CallRinging{j.at("call_id").get<uint64_t>(), j.at("peer").get<std::string>(), enum_at<CallRole>(j, "role", call_role_names)};
    case 3: {
      const auto& media = j.at("peer_media");
      return CallConnected{j.at("call_id").get<uint64_t>(), j.at("peer").get<std::string>(),
                           {media.at("address").get<std::string>(), media.at("port").get<uint16_t>()}};
    }
    case 4: return CallEnded{j.at("call_id").get<uint64_t>(), j.at("peer").get<std::string>(),
                             enum_at<EndReason>(j, "reason", end_reason_names), str_or_empty(j, "by")};
    case 5: return MissedCall{j.at("from").get<std::string>(), j.at("at_ms").get<int64_t>()};
    case 6: return WaitUpdate{j.at("callee").get<std::string>(), j.at("position").get<uint32_t>(),
                              enum_at<WaitStatus>(j, "status", wait_status_names)};
    case 7: return CalleeAvailable{j.at("callee").get<std::string>(), j.at("window_ms").get<int64_t>(), j.at("auto_connect").get<bool>()};
    case 8: return WaitEnded{j.at("callee").get<std::string>(), enum_at<WaitEndReason>(j, "reason", wait_end_names)};
    case 9: return WaitingCount{j.at("count").get<uint32_t>()};
    case 10: return FloorGranted{j.at("remaining_ms").get<int64_t>()};
    case 11: return FloorDenied{enum_at<DenyReason>(j, "reason", deny_names), str_or_empty(j, "talker")};
    case 12: return FloorQueued{j.at("position").get<uint32_t>()};
    case 13: return FloorTaken{j.at("talker").get<std::string>()};
    case 14: return FloorIdle{};
    case 15: return FloorRevoked{enum_at<RevokeReason>(j, "reason", revoke_names)};
    case 16: return FloorDequeued{enum_at<DequeueReason>(j, "reason", dequeue_names)};
    case 17: return MemberJoined{j.at("name").get<std::string>(), enum_at<Role>(j, "role", role_names)};
    case 18: return MemberLeft{j.at("name").get<std::string>()};
    case 19: return PolicyChanged{enum_at<FloorPolicy>(j, "policy", policy_names)};
    default: HAILER_ASSERT(false && "message table and switch disagree");
  }
  return FloorIdle{};
}

// Reads the request id early so that even a malformed request's error names it.
std::optional<uint64_t> peek_id(const json& object) {
  auto it = object.find("id");
  if (it == object.end() || !it->is_number_unsigned()) return std::nullopt;
  const auto id = it->get<uint64_t>();
  return id <= max_request_id ? std::optional<uint64_t>(id) : std::nullopt;
}

}  // namespace

DecodeResult decode_request(std::string_view text, uint32_t max_message_bytes) {
  if (text.size() > max_message_bytes) {
    return DecodeError{std::nullopt, ErrorCode::message_too_large,
                       "limit is " + std::to_string(max_message_bytes) + " bytes"};
  }
  if (!valid_utf8(text)) return DecodeError{std::nullopt, ErrorCode::invalid_utf8, ""};
  const json object = json::parse(text, nullptr, false);
  if (object.is_discarded()) return DecodeError{std::nullopt, ErrorCode::bad_json, ""};
  if (!object.is_object()) return DecodeError{std::nullopt, ErrorCode::not_an_object, ""};

  DecodeError error;
  error.id = peek_id(object);
  FieldReader reader(object, error);
  const auto id = reader.unsigned_int("id", true, max_request_id);
  const auto type = reader.text("type", true);
  if (reader.failed()) return error;
  const auto type_index = index_of(*type, request_names);
  if (!type_index) return DecodeError{id, ErrorCode::unknown_type, "type '" + *type + "' is not a request"};
  RequestBody body = read_body(*type_index, reader);
  if (reader.failed()) return error;
  if (!sample_rate_ok(body)) return DecodeError{id, ErrorCode::bad_field, "field 'sample_rate' is out of range"};
  return Request{*id, std::move(body)};
}

std::string encode_request(const Request& request) {
  ojson j;
  j["type"] = request_names[request.body.index()];
  j["id"] = request.id;
  write_body(j, request.body);
  return j.dump();
}

std::string encode(const ServerMessage& message) {
  ojson j;
  j["type"] = server_names[message.index()];
  write_message(j, message);
  return j.dump();
}

std::optional<ServerMessage> decode_server_message(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return std::nullopt;
  const auto index = index_of(type->get<std::string>(), server_names);
  if (!index) return std::nullopt;
  try {
    return read_message(*index, j);
  } catch (const std::exception&) {  // json type errors and unknown enum values: not a message
    return std::nullopt;
  }
}

std::string_view message_type(const ServerMessage& message) { return server_names[message.index()]; }

std::string_view to_string(PresenceState v) { return name_of(v, presence_names); }
std::string_view to_string(Role v) { return name_of(v, role_names); }
std::string_view to_string(AudioCodec v) { return name_of(v, codec_names); }
std::string_view to_string(FloorPolicy v) { return name_of(v, policy_names); }
std::string_view to_string(CallRole v) { return name_of(v, call_role_names); }
std::string_view to_string(EndReason v) { return name_of(v, end_reason_names); }
std::string_view to_string(WaitStatus v) { return name_of(v, wait_status_names); }
std::string_view to_string(WaitEndReason v) { return name_of(v, wait_end_names); }
std::string_view to_string(DenyReason v) { return name_of(v, deny_names); }
std::string_view to_string(RevokeReason v) { return name_of(v, revoke_names); }
std::string_view to_string(DequeueReason v) { return name_of(v, dequeue_names); }

}  // namespace hailer
