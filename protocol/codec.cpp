#include "protocol/codec.hpp"

#include <array>
#include <limits>
#include <tuple>
#include <utility>

#include "base/assert.hpp"
#include "protocol/json.hpp"
#include "protocol/utf8.hpp"

namespace hailer {

namespace {
// One parse tree per thread, reused: after the first messages a decode allocates nothing for
// the tree (its vectors keep their capacity). Decoding never nests, so one per thread is enough.
json::Document& scratch_document() {
  thread_local json::Document doc;
  return doc;
}
}  // namespace

namespace {

// ====================================================================== enum names

template <typename E>
struct EnumNames;
template <>
struct EnumNames<PresenceState> {
  static constexpr std::array<std::string_view, 3> names{"available", "ringing", "in_call"};
};
template <>
struct EnumNames<Role> {
  static constexpr std::array<std::string_view, 2> names{"student", "instructor"};
};
template <>
struct EnumNames<AudioCodec> {
  static constexpr std::array<std::string_view, 2> names{"opus", "pcm16"};
};
template <>
struct EnumNames<FloorPolicy> {
  static constexpr std::array<std::string_view, 2> names{"deny", "queue"};
};
template <>
struct EnumNames<CallRole> {
  static constexpr std::array<std::string_view, 2> names{"caller", "callee"};
};
template <>
struct EnumNames<EndReason> {
  static constexpr std::array<std::string_view, 5> names{"hangup", "rejected", "no_answer", "cancelled",
                                                         "peer_disconnected"};
};
template <>
struct EnumNames<WaitStatus> {
  static constexpr std::array<std::string_view, 2> names{"queued", "suspended"};
};
template <>
struct EnumNames<WaitEndReason> {
  static constexpr std::array<std::string_view, 5> names{"completed", "cancelled", "expired", "window_expired",
                                                         "callee_offline"};
};
template <>
struct EnumNames<DenyReason> {
  static constexpr std::array<std::string_view, 3> names{"floor_taken", "queue_full", "receive_only"};
};
template <>
struct EnumNames<RevokeReason> {
  static constexpr std::array<std::string_view, 3> names{"max_talk_time", "silence", "instructor"};
};
template <>
struct EnumNames<DequeueReason> {
  static constexpr std::array<std::string_view, 2> names{"released", "policy_changed"};
};
template <>
struct EnumNames<RecordingStopReason> {
  static constexpr std::array<std::string_view, 5> names{"disk_full", "quota", "student_budget", "address_budget",
                                                         "error"};
};

// Every name in `names` is written between quotes as it is (Writer::plain_member skips the scan).
template <std::size_t N>
consteval bool all_plain(const std::array<std::string_view, N>& names) {
  for (const auto name : names) {
    if (!json::needs_no_escape(name) || name.size() > 32) return false;
  }
  return true;
}

template <typename E>
std::string_view enum_name(E value) {
  static_assert(all_plain(EnumNames<E>::names), "an enum's wire name must need no JSON escape");
  const auto index = static_cast<std::size_t>(value);
  HAILER_ASSERT(index < EnumNames<E>::names.size());
  return EnumNames<E>::names[index];
}

template <typename E>
std::optional<E> enum_parse(std::string_view text) {
  for (std::size_t i = 0; i < EnumNames<E>::names.size(); ++i) {
    if (EnumNames<E>::names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

std::optional<ErrorCode> error_code_parse(std::string_view text) {
  for (int c = 0; c < error_code_count; ++c) {
    if (to_string(static_cast<ErrorCode>(c)) == text) return static_cast<ErrorCode>(c);
  }
  return std::nullopt;
}

// ====================================================================== field names

// A field name of the wire protocol, checked when the program is compiled to need no JSON escape
// and kept with its quoted form: writing a key is one append, reading one knows its length.
class FieldKey {
 public:
  consteval FieldKey(const char* name) {  // NOLINT(google-explicit-constructor): written as literals
    std::size_t n = 0;
    while (name[n] != 0) ++n;
    if (n == 0 || n + 4 > sizeof quoted_) throw "a field name is empty or too long";
    quoted_[0] = ',';
    quoted_[1] = '"';
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(name[i]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) throw "a field name must be plain ASCII";
      quoted_[2 + i] = name[i];
    }
    quoted_[2 + n] = '"';
    quoted_[3 + n] = ':';
    size_ = static_cast<uint8_t>(n);
    head_ = json::key_head(std::string_view(quoted_ + 2, n));
  }

  /// The name itself.
  constexpr std::string_view name() const { return {quoted_ + 2, size_}; }
  /// json::key_head(name()), for lookups.
  constexpr uint64_t head() const { return head_; }
  /// `,"name":`, ready for json::Writer::quoted_key.
  constexpr std::string_view comma_quoted() const { return {quoted_, size_ + 4u}; }
  /// Reads as its name where a text is wanted (errors, lookups).
  constexpr operator std::string_view() const { return name(); }  // NOLINT(google-explicit-constructor)

 private:
  char quoted_[32]{};
  uint64_t head_ = 0;
  uint8_t size_ = 0;
};

/// Every message's first member.
constexpr FieldKey type_key{"type"};

// ====================================================================== field reading

// Reads the fields of one JSON object into a message and keeps the first error. A JSON null
// counts as absent. Every number is checked for being an integer in the field's range.
class Reader {
 public:
  Reader(const json::Document& doc, const json::Value& object, DecodeError& error, std::size_t max_string_bytes)
      : doc_(doc), object_(object), error_(error), max_string_bytes_(max_string_bytes) {}

  bool failed() const { return failed_; }

  void text(const FieldKey& key, std::string& out) {
    if (const json::Value* v = find(key, true)) read_text(key, *v, out);
  }

  /// A required text viewed in place (valid while the document is): for names looked up, not kept.
  void text_view(const FieldKey& key, std::string_view& out) {
    if (const json::Value* v = find(key, true)) {
      if (auto t = read_view(key, *v)) out = *t;
    }
  }

  // Optional text: absent or null reads as empty (the writer decides between omit and null).
  template <typename Absent>
  void text_opt(const FieldKey& key, std::string& out, Absent) {
    out.clear();
    if (const json::Value* v = find(key, false)) read_text(key, *v, out);
  }

  template <typename T>
  void number(const FieldKey& key, T& out, int64_t lo, uint64_t hi) {
    if (const json::Value* v = find(key, true)) read_number(key, *v, out, lo, hi);
  }

  template <typename T>
  void number_or(const FieldKey& key, T& out, int64_t lo, uint64_t hi, T fallback, bool /*omit*/) {
    out = fallback;
    if (const json::Value* v = find(key, false)) read_number(key, *v, out, lo, hi);
  }

  template <typename T>
  void number_opt(const FieldKey& key, std::optional<T>& out, int64_t lo, uint64_t hi) {
    out.reset();
    if (const json::Value* v = find(key, false)) {
      T n{};
      if (read_number(key, *v, n, lo, hi)) out = n;
    }
  }

  void flag(const FieldKey& key, bool& out) {
    if (const json::Value* v = find(key, true)) read_flag(key, *v, out);
  }

  void flag_opt(const FieldKey& key, std::optional<bool>& out) {
    out.reset();
    bool b = false;
    if (const json::Value* v = find(key, false); v != nullptr && read_flag(key, *v, b)) out = b;
  }

  template <typename E>
  void choice(const FieldKey& key, E& out) {
    if (const json::Value* v = find(key, true)) read_choice(key, *v, out);
  }

  template <typename E>
  void choice_or(const FieldKey& key, E& out, E fallback) {
    out = fallback;
    if (const json::Value* v = find(key, false)) read_choice(key, *v, out);
  }

  template <typename T>
  void object(const FieldKey& key, T& out);

  template <typename T>
  void list(const FieldKey& key, std::vector<T>& out);

  /// Fails the read for a reason outside the field rules (the first failure wins).
  void fail_with(ErrorCode code, std::string detail) { fail(code, std::move(detail)); }

  void error_code(const FieldKey& key, ErrorCode& out) {
    std::string name;
    text(key, name);
    if (failed_) return;
    if (auto c = error_code_parse(name))
      out = *c;
    else
      fail_field(key, "has an unknown value");
  }

 private:
  const json::Value* find(const FieldKey& key, bool required) {
    if (failed_) return nullptr;
    const json::Value* v = doc_.find(object_, key.name(), key.head(), cursor_);
    if (v == nullptr || v->type == json::Type::null) {
      if (required) fail(ErrorCode::missing_field, "field '" + std::string(key) + "' is required");
      return nullptr;
    }
    return v;
  }

  std::optional<std::string_view> read_view(const FieldKey& key, const json::Value& v) {
    if (v.type != json::Type::string) return fail_field(key, "must be a string"), std::nullopt;
    if (v.text.size() > max_string_bytes_) return fail_field(key, "is too long"), std::nullopt;
    return v.text;
  }

  bool read_text(const FieldKey& key, const json::Value& v, std::string& out) {
    const auto t = read_view(key, v);
    if (t) out.assign(*t);
    return t.has_value();
  }

  template <typename T>
  bool read_number(const FieldKey& key, const json::Value& v, T& out, int64_t lo, uint64_t hi) {
    static_assert(std::is_integral_v<T>);
    HAILER_ASSERT(static_cast<uint64_t>(std::numeric_limits<T>::max()) >= hi);
    if (v.type != json::Type::integer) return fail_field(key, "must be an integer");
    if (v.overflow) return fail_field(key, "is out of range");
    if (v.negative) {
      // -magnitude >= lo, with lo <= 0 when negatives are allowed at all
      if (lo >= 0 || v.magnitude > static_cast<uint64_t>(-(lo + 1)) + 1) return fail_field(key, "is out of range");
      out = static_cast<T>(-static_cast<int64_t>(v.magnitude - 1) - 1);
      return true;
    }
    if (v.magnitude > hi || (lo > 0 && v.magnitude < static_cast<uint64_t>(lo)))
      return fail_field(key, "is out of range");
    out = static_cast<T>(v.magnitude);
    return true;
  }

  bool read_flag(const FieldKey& key, const json::Value& v, bool& out) {
    if (v.type != json::Type::boolean) return fail_field(key, "must be true or false");
    out = v.boolean;
    return true;
  }

  template <typename E>
  bool read_choice(const FieldKey& key, const json::Value& v, E& out) {
    const auto name = read_view(key, v);
    if (!name) return false;
    const auto e = enum_parse<E>(*name);
    if (!e) return fail_field(key, "has an unknown value");
    out = *e;
    return true;
  }

  bool fail_field(const FieldKey& key, const char* what) {
    return fail(ErrorCode::bad_field, "field '" + std::string(key) + "' " + what);
  }

  bool fail(ErrorCode code, std::string detail) {
    if (failed_) return false;
    failed_ = true;
    error_.code = code;
    error_.detail = std::move(detail);
    return false;
  }

  const json::Document& doc_;
  const json::Value& object_;
  DecodeError& error_;
  std::size_t max_string_bytes_;
  uint32_t cursor_ = 0;  // where the next field is looked for first: the member after the last found
  bool failed_ = false;
};

// ====================================================================== field writing

/// How an empty optional text is written: left out, or as null.
struct OmitEmpty {};
struct NullEmpty {};

class Writer {
 public:
  explicit Writer(json::Writer& w) : w_(w) {}

  void text(const FieldKey& key, const std::string& v) { w_.string_member(key.comma_quoted(), std::string_view(v)); }
  void text_opt(const FieldKey& key, const std::string& v, OmitEmpty) {
    if (!v.empty()) text(key, v);
  }
  void text_opt(const FieldKey& key, const std::string& v, NullEmpty) {
    if (!v.empty()) return text(key, v);
    w_.quoted_key(key.comma_quoted());
    w_.null();
  }
  template <typename T>
  void number(const FieldKey& key, const T& v, int64_t lo, uint64_t hi) {
    check_range(v, lo, hi);
    if constexpr (std::is_signed_v<T>) {
      w_.quoted_key(key.comma_quoted());
      w_.integer(v);
    } else {
      w_.uinteger_member(key.comma_quoted(), static_cast<uint64_t>(v));
    }
  }
  template <typename T>
  void number_or(const FieldKey& key, const T& v, int64_t lo, uint64_t hi, T fallback, bool omit) {
    if (omit && v == fallback) return;
    number(key, v, lo, hi);
  }
  template <typename T>
  void number_opt(const FieldKey& key, const std::optional<T>& v, int64_t lo, uint64_t hi) {
    if (v) number(key, *v, lo, hi);
  }
  void flag(const FieldKey& key, bool v) {
    w_.quoted_key(key.comma_quoted());
    w_.boolean(v);
  }
  void flag_opt(const FieldKey& key, const std::optional<bool>& v) {
    if (v) flag(key, *v);
  }
  template <typename E>
  void choice(const FieldKey& key, E v) {
    w_.plain_member(key.comma_quoted(), std::string_view(enum_name(v)));
  }
  template <typename E>
  void choice_or(const FieldKey& key, E v, E /*fallback*/) {
    choice(key, v);
  }
  template <typename T>
  void object(const FieldKey& key, const T& v);
  template <typename T>
  void list(const FieldKey& key, const std::vector<T>& v);
  void error_code(const FieldKey& key, ErrorCode c) {
    w_.string_member(key.comma_quoted(), std::string_view(to_string(c)));
  }

  json::Writer& raw() { return w_; }

 private:
  // The server never sends what its own decoder would refuse: a range slip is a bug.
  template <typename T>
  static void check_range(const T& v, int64_t lo, uint64_t hi) {
    if constexpr (std::is_signed_v<T>) {
      HAILER_ASSERT(static_cast<int64_t>(v) >= lo && (v < 0 || static_cast<uint64_t>(v) <= hi));
    } else {
      HAILER_ASSERT(static_cast<uint64_t>(v) <= hi &&
                    (lo <= 0 || static_cast<uint64_t>(v) >= static_cast<uint64_t>(lo)));
    }
  }
  json::Writer& w_;
};

// ====================================================================== field schema

// A third IO for the table: records each field's name and shape instead of reading or writing.
class SchemaCollector {
 public:
  std::vector<FieldSchema> fields;

  template <typename T>
  void text(const FieldKey& key, const T&) {
    add(key, FieldSchema::Kind::string);
  }
  template <typename T>
  void text_opt(const FieldKey& key, const T&, NullEmpty) {
    add(key, FieldSchema::Kind::nullable_string);
  }
  template <typename T>
  void text_opt(const FieldKey& key, const T&, OmitEmpty) {
    add(key, FieldSchema::Kind::string);
  }
  template <typename T>
  void number(const FieldKey& key, const T&, int64_t, uint64_t) {
    add(key, FieldSchema::Kind::integer);
  }
  template <typename T, typename F>
  void number_or(const FieldKey& key, const T&, int64_t, uint64_t, F, bool) {
    add(key, FieldSchema::Kind::integer);
  }
  template <typename T>
  void number_opt(const FieldKey& key, const T&, int64_t, uint64_t) {
    add(key, FieldSchema::Kind::integer);
  }
  template <typename T>
  void flag(const FieldKey& key, const T&) {
    add(key, FieldSchema::Kind::boolean);
  }
  template <typename T>
  void flag_opt(const FieldKey& key, const T&) {
    add(key, FieldSchema::Kind::boolean);
  }
  template <typename E>
  void choice(const FieldKey& key, const E&) {
    add(key, FieldSchema::Kind::string);
    for (auto n : EnumNames<E>::names) fields.back().values.emplace_back(n);
  }
  template <typename E>
  void choice_or(const FieldKey& key, const E& v, E) {
    choice(key, v);
  }
  template <typename T>
  void object(const FieldKey& key, const T& v);
  template <typename T>
  void list(const FieldKey& key, const T&) {
    add(key, FieldSchema::Kind::array);
  }

  void add(const FieldKey& key, FieldSchema::Kind kind) {
    for (const auto& f : fields) {
      if (f.name == key.name()) return;  // the same name in two reply kinds (e.g. "name")
    }
    fields.push_back(FieldSchema{std::string(key), kind, {}, {}});
  }
};

// ====================================================================== the message table
//
// Wire<T> gives each message its wire name and lists its fields once; `fields` serves reading
// (IO = Reader, M = T) and writing (IO = Writer, M = const T), so the two directions cannot
// drift apart. Requests also say where they may be sent and what their ok reply carries.

constexpr int64_t no_min = std::numeric_limits<int64_t>::min();
constexpr uint64_t int64_top = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr uint64_t u16_top = 65535;
constexpr uint64_t u32_top = std::numeric_limits<uint32_t>::max();

template <typename T>
struct Wire;

// ---------------------------------------------------------------- requests

template <>
struct Wire<RegisterRequest> {
  static constexpr std::string_view name = "register";
  static constexpr RequestScope scope = RequestScope::hello;
  static constexpr ReplyKind reply = ReplyKind::registered;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("version", m.version, no_min, int64_top);
    io.text("name", m.name);
    io.number_or("media_port", m.media_port, 0, u16_top, uint16_t{0}, true);
  }
};
template <>
struct Wire<WhoRequest> {
  static constexpr std::string_view name = "who";
  static constexpr RequestScope scope = RequestScope::any;
  static constexpr ReplyKind reply = ReplyKind::who;  // room on a PTT session: see reply_kind()
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
template <>
struct Wire<CallRequest> {
  static constexpr std::string_view name = "call";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::call;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("to", m.to);
    io.flag_opt("auto_connect", m.auto_connect);
  }
};
template <>
struct Wire<AcceptRequest> {
  static constexpr std::string_view name = "accept";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number_opt("call_id", m.call_id, 0, max_request_id);
  }
};
template <>
struct Wire<RejectRequest> {
  static constexpr std::string_view name = "reject";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number_opt("call_id", m.call_id, 0, max_request_id);
  }
};

// Requests without fields share one shape.
template <typename T, const std::string_view& Name, RequestScope Scope>
struct EmptyRequestWire {
  static constexpr std::string_view name = Name;
  static constexpr RequestScope scope = Scope;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
constexpr std::string_view hangup_name = "hangup", cancel_name = "cancel", cancel_wait_name = "cancel_wait",
                           ping_name = "ping", press_name = "press", release_name = "release", revoke_name = "revoke";
template <>
struct Wire<HangupRequest> : EmptyRequestWire<HangupRequest, hangup_name, RequestScope::calls> {};
template <>
struct Wire<CancelRequest> : EmptyRequestWire<CancelRequest, cancel_name, RequestScope::calls> {};
template <>
struct Wire<CancelWaitRequest> : EmptyRequestWire<CancelWaitRequest, cancel_wait_name, RequestScope::calls> {};
template <>
struct Wire<PingRequest> : EmptyRequestWire<PingRequest, ping_name, RequestScope::any> {};
template <>
struct Wire<PressRequest> : EmptyRequestWire<PressRequest, press_name, RequestScope::ptt> {};
template <>
struct Wire<ReleaseRequest> : EmptyRequestWire<ReleaseRequest, release_name, RequestScope::ptt> {};
template <>
struct Wire<RevokeRequest> : EmptyRequestWire<RevokeRequest, revoke_name, RequestScope::ptt> {};

template <>
struct Wire<MissedRequest> {
  static constexpr std::string_view name = "missed";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::missed;
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
template <>
struct Wire<JoinRequest> {
  static constexpr std::string_view name = "join";
  static constexpr RequestScope scope = RequestScope::hello;
  static constexpr ReplyKind reply = ReplyKind::room;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("version", m.version, no_min, int64_top);
    io.text("name", m.name);
    io.text("room", m.room);
    io.choice_or("role", m.role, Role::student);
    io.choice_or("codec", m.codec, AudioCodec::pcm16);
    // A browser's AudioContext runs at 8-192 kHz; anything else is not a sample rate.
    io.number_or("sample_rate", m.sample_rate_hz, 8'000, 192'000, uint32_t{48'000}, false);
    io.text_opt("token", m.token, OmitEmpty{});
  }
};
template <>
struct Wire<SetPolicyRequest> {
  static constexpr std::string_view name = "set_policy";
  static constexpr RequestScope scope = RequestScope::ptt;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("policy", m.policy);
  }
};

// ---------------------------------------------------------------- reply data and parts

template <>
struct Wire<std::monostate> {
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
template <>
struct Wire<RegisteredData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
    io.number("heartbeat_ms", m.heartbeat_ms, 1, int64_top);
    io.text_opt("media_token", m.media_token, OmitEmpty{});
    io.text_opt("media_id", m.media_id, OmitEmpty{});
    io.number_opt("rendezvous_port", m.rendezvous_port, 1, u16_top);
  }
};
template <>
struct Wire<CallData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number_opt("call_id", m.call_id, 0, max_request_id);
    io.flag("queued", m.queued);
  }
};
template <>
struct Wire<UserInfo> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
    io.choice("state", m.state);
    io.number("waiting", m.waiting, 0, u32_top);
  }
};
template <>
struct Wire<WhoData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.list("users", m.users);
  }
};
template <>
struct Wire<MissedCallInfo> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("from", m.from);
    io.number("at_ms", m.at_ms, 0, int64_top);
  }
};
template <>
struct Wire<MissedData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.list("calls", m.calls);
  }
};
template <>
struct Wire<MemberInfo> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
    io.choice("role", m.role);
  }
};
template <>
struct Wire<RoomData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("room", m.room);
    io.choice("policy", m.policy);
    io.text_opt("talker", m.talker, NullEmpty{});
    io.list("members", m.members);
    io.number("max_talk_ms", m.max_talk_ms, 1, int64_top);
  }
};
template <>
struct Wire<MediaEndpoint> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("address", m.address);
    io.number("port", m.port, 0, u16_top);
  }
};

// ---------------------------------------------------------------- server messages

template <>
struct Wire<OkReply> {
  static constexpr std::string_view name = "ok";
};
template <>
struct Wire<ErrorReply> {
  static constexpr std::string_view name = "error";
};
template <>
struct Wire<MediaReady> {
  static constexpr std::string_view name = "media_ready";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("address", m.address);
    io.number("port", m.port, 1, u16_top);
  }
};
template <>
struct Wire<CallRinging> {
  static constexpr std::string_view name = "call_ringing";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.text("peer", m.peer);
    io.choice("role", m.role);
  }
};
template <>
struct Wire<CallConnected> {
  static constexpr std::string_view name = "call_connected";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.text("peer", m.peer);
    io.object("peer_media", m.peer_media);
  }
};
template <>
struct Wire<CallEnded> {
  static constexpr std::string_view name = "call_ended";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.text("peer", m.peer);
    io.choice("reason", m.reason);
    io.text_opt("by", m.by, NullEmpty{});
  }
};
template <>
struct Wire<MissedCall> {
  static constexpr std::string_view name = "missed_call";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("from", m.from);
    io.number("at_ms", m.at_ms, 0, int64_top);
  }
};
template <>
struct Wire<WaitUpdate> {
  static constexpr std::string_view name = "wait_update";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("callee", m.callee);
    io.number("position", m.position, 1, u32_top);
    io.choice("status", m.status);
  }
};
template <>
struct Wire<CalleeAvailable> {
  static constexpr std::string_view name = "callee_available";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("callee", m.callee);
    io.number("window_ms", m.window_ms, 0, int64_top);
    io.flag("auto_connect", m.auto_connect);
  }
};
template <>
struct Wire<WaitEnded> {
  static constexpr std::string_view name = "wait_ended";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("callee", m.callee);
    io.choice("reason", m.reason);
  }
};
template <>
struct Wire<WaitingCount> {
  static constexpr std::string_view name = "waiting_count";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("count", m.count, 0, u32_top);
  }
};
template <>
struct Wire<FloorGranted> {
  static constexpr std::string_view name = "floor_granted";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("remaining_ms", m.remaining_ms, 0, int64_top);
  }
};
template <>
struct Wire<FloorDenied> {
  static constexpr std::string_view name = "floor_denied";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("reason", m.reason);
    io.text_opt("talker", m.talker, NullEmpty{});
  }
};
template <>
struct Wire<FloorQueued> {
  static constexpr std::string_view name = "floor_queued";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("position", m.position, 1, u32_top);
  }
};
template <>
struct Wire<FloorTaken> {
  static constexpr std::string_view name = "floor_taken";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("talker", m.talker);
  }
};
template <>
struct Wire<FloorIdle> {
  static constexpr std::string_view name = "floor_idle";
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
template <>
struct Wire<FloorRevoked> {
  static constexpr std::string_view name = "floor_revoked";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("reason", m.reason);
  }
};
template <>
struct Wire<FloorDequeued> {
  static constexpr std::string_view name = "floor_dequeued";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("reason", m.reason);
  }
};
template <>
struct Wire<MemberJoined> {
  static constexpr std::string_view name = "member_joined";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
    io.choice("role", m.role);
  }
};
template <>
struct Wire<MemberLeft> {
  static constexpr std::string_view name = "member_left";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
  }
};
template <>
struct Wire<PolicyChanged> {
  static constexpr std::string_view name = "policy_changed";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("policy", m.policy);
  }
};

template <>
struct Wire<RecordingStopped> {
  static constexpr std::string_view name = "recording_stopped";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("talker", m.talker);
    io.choice("reason", m.reason);
  }
};

template <>
struct Wire<ServerClosing> {
  static constexpr std::string_view name = "server_closing";
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};

// ---------------------------------------------------------------- nested parts, now that Wire exists

template <typename T>
void Reader::object(const FieldKey& key, T& out) {
  const json::Value* v = find(key, true);
  if (v == nullptr) return;
  if (v->type != json::Type::object) return static_cast<void>(fail_field(key, "must be an object"));
  Reader inner(doc_, *v, error_, max_string_bytes_);
  Wire<T>::fields(inner, out);
  failed_ = inner.failed();
}

template <typename T>
void Reader::list(const FieldKey& key, std::vector<T>& out) {
  out.clear();
  const json::Value* v = find(key, true);
  if (v == nullptr) return;
  if (v->type != json::Type::array) return static_cast<void>(fail_field(key, "must be an array"));
  out.reserve(v->size);
  for (uint32_t k = v->first_child; k != 0; k = doc_.at(k).next_sibling) {
    const json::Value& item = doc_.at(k);
    if (item.type != json::Type::object) return static_cast<void>(fail_field(key, "must hold objects"));
    Reader inner(doc_, item, error_, max_string_bytes_);
    Wire<T>::fields(inner, out.emplace_back());
    if ((failed_ = inner.failed())) return;
  }
}

template <typename T>
void Writer::object(const FieldKey& key, const T& v) {
  w_.quoted_key(key.comma_quoted());
  w_.begin_object();
  Wire<T>::fields(*this, v);
  w_.end_object();
}

template <typename T>
void SchemaCollector::object(const FieldKey& key, const T& v) {
  add(key, FieldSchema::Kind::object);
  SchemaCollector inner;
  Wire<T>::fields(inner, v);
  fields.back().fields = std::move(inner.fields);
}

template <typename T>
void Writer::list(const FieldKey& key, const std::vector<T>& v) {
  w_.quoted_key(key.comma_quoted());
  w_.begin_array();
  for (const T& item : v) {
    w_.begin_object();
    Wire<T>::fields(*this, item);
    w_.end_object();
  }
  w_.end_array();
}

// ====================================================================== tables derived from Wire

template <typename Variant, std::size_t... I>
constexpr auto names_of(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{Wire<std::variant_alternative_t<I, Variant>>::name...};
}
template <typename Variant>
constexpr auto names_of() {
  return names_of<Variant>(std::make_index_sequence<std::variant_size_v<Variant>>{});
}
constexpr auto request_names = names_of<RequestBody>();
constexpr auto server_names = names_of<ServerMessage>();

// `{"type":"<name>"`: how every server message opens, one constant per type, so an event's
// brace and type cost one append (json::Writer::begin_object_with).
struct Opening {
  char bytes[48]{};
  uint8_t size = 0;
  constexpr std::string_view view() const { return {bytes, size}; }
};
template <std::size_t N>
consteval auto openings_of(const std::array<std::string_view, N>& names) {
  std::array<Opening, N> out{};
  constexpr std::string_view head = "{\"type\":\"";
  for (std::size_t i = 0; i < N; ++i) {
    if (!json::needs_no_escape(names[i]) || head.size() + names[i].size() + 1 > sizeof out[i].bytes)
      throw "a type name must be short and plain";
    std::size_t n = 0;
    for (const char c : head) out[i].bytes[n++] = c;
    for (const char c : names[i]) out[i].bytes[n++] = c;
    out[i].bytes[n++] = '"';
    out[i].size = static_cast<uint8_t>(n);
  }
  return out;
}
constexpr auto server_openings = openings_of(server_names);

template <std::size_t N>
std::optional<std::size_t> index_of(std::string_view name, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return i;
  }
  return std::nullopt;
}

// One reader per alternative: builds the message from the object's fields.
template <typename Variant, typename T>
Variant read_alternative(Reader& r) {
  T m{};
  Wire<T>::fields(r, m);
  return m;
}
template <typename Variant, std::size_t... I>
constexpr auto readers_of(std::index_sequence<I...>) {
  using Fn = Variant (*)(Reader&);
  return std::array<Fn, sizeof...(I)>{&read_alternative<Variant, std::variant_alternative_t<I, Variant>>...};
}
template <typename Variant>
constexpr auto readers_of() {
  return readers_of<Variant>(std::make_index_sequence<std::variant_size_v<Variant>>{});
}

// One reader per request body, building it in the caller's variant.
template <typename T>
void read_body(Reader& r, RequestBody& body) {
  Wire<T>::fields(r, body.emplace<T>());
}
template <std::size_t... I>
constexpr auto body_readers_of(std::index_sequence<I...>) {
  using Fn = void (*)(Reader&, RequestBody&);
  return std::array<Fn, sizeof...(I)>{&read_body<std::variant_alternative_t<I, RequestBody>>...};
}

// ====================================================================== envelopes

const json::Limits request_limits{16, 64, 4096};
const json::Limits server_limits{16, 64, 1u << 22};

// Reads the request id early so that even a malformed request's error names it.
std::optional<uint64_t> peek_id(const json::Document& doc) {
  const json::Value* v = doc.find(doc.root(), "id");
  if (v == nullptr || v->type != json::Type::integer || v->negative || v->overflow || v->magnitude > max_request_id) {
    return std::nullopt;
  }
  return v->magnitude;
}

ServerMessage read_ok(Reader& r, const ReplyKinds& kinds) {
  OkReply ok;
  r.number("id", ok.id, 0, max_request_id);
  if (r.failed()) return ok;
  const std::optional<ReplyKind> kind = kinds ? kinds(ok.id) : std::nullopt;
  if (!kind) {
    r.fail_with(ErrorCode::bad_field, "field 'id' answers no request sent");
    return ok;
  }
  static constexpr auto data_readers = readers_of<ReplyData>();
  ok.data = data_readers[static_cast<std::size_t>(*kind)](r);
  return ok;
}

ServerMessage read_error(Reader& r) {
  ErrorReply e;
  r.number_opt("id", e.id, 0, max_request_id);
  r.error_code("code", e.code);
  r.text("message", e.message);
  return e;
}

// Server messages: the generic reader per alternative, except the two replies.
template <typename T>
ServerMessage read_server(Reader& r, const ReplyKinds& kinds) {
  if constexpr (std::is_same_v<T, OkReply>)
    return read_ok(r, kinds);
  else if constexpr (std::is_same_v<T, ErrorReply>)
    return read_error(r);
  else
    return read_alternative<ServerMessage, T>(r);
}
template <std::size_t... I>
constexpr auto server_readers(std::index_sequence<I...>) {
  using Fn = ServerMessage (*)(Reader&, const ReplyKinds&);
  return std::array<Fn, sizeof...(I)>{&read_server<std::variant_alternative_t<I, ServerMessage>>...};
}

void write_server_fields(Writer& io, const OkReply& m) {
  io.number("id", m.id, 0, max_request_id);
  std::visit([&](const auto& d) { Wire<std::decay_t<decltype(d)>>::fields(io, d); }, m.data);
}

void write_server_fields(Writer& io, const ErrorReply& m) {
  io.raw().key("id");
  if (m.id)
    io.raw().uinteger(*m.id);
  else
    io.raw().null();
  io.error_code("code", m.code);
  io.text("message", m.message);
}

template <typename T>
void write_server_fields(Writer& io, const T& m) {
  Wire<T>::fields(io, m);
}

}  // namespace

// ====================================================================== public entry points

DecodeResult decode_request(std::string_view text, uint32_t max_message_bytes) {
  if (text.size() > max_message_bytes) {
    return DecodeError{std::nullopt, ErrorCode::message_too_large,
                       "limit is " + std::to_string(max_message_bytes) + " bytes"};
  }
  if (!valid_utf8(text)) return DecodeError{std::nullopt, ErrorCode::invalid_utf8, ""};
  json::Document& doc = scratch_document();
  if (auto err = json::parse(text, doc, request_limits))
    return DecodeError{std::nullopt, ErrorCode::bad_json, err->what};
  if (doc.root().type != json::Type::object) return DecodeError{std::nullopt, ErrorCode::not_an_object, ""};

  DecodeError error;
  error.id = peek_id(doc);
  Reader reader(doc, doc.root(), error, max_request_string_bytes);
  uint64_t id = 0;
  std::string_view type;
  reader.number("id", id, 0, max_request_id);
  reader.text_view("type", type);
  if (reader.failed()) return error;
  const auto index = index_of(type, request_names);
  if (!index) return DecodeError{id, ErrorCode::unknown_type, "type '" + std::string(type) + "' is not a request"};
  // Read in place: a body's strings are moved once on the way out, not three times.
  DecodeResult result{std::in_place_type<Request>};
  Request& request = std::get<Request>(result);
  request.id = id;
  static constexpr auto body_readers = body_readers_of(std::make_index_sequence<std::variant_size_v<RequestBody>>{});
  body_readers[*index](reader, request.body);
  if (reader.failed()) return error;
  return result;
}

std::string encode_request(const Request& request) {
  std::string out;
  json::Writer w(out);
  Writer io(w);
  w.begin_object();
  w.quoted_key(type_key.comma_quoted());
  w.string(request_type(request.body));
  io.number("id", request.id, 0, max_request_id);
  std::visit([&](const auto& q) { Wire<std::decay_t<decltype(q)>>::fields(io, q); }, request.body);
  w.end_object();
  return out;
}

void encode_to(std::string& out, const ServerMessage& message) {
  json::Writer w(out);
  Writer io(w);
  w.begin_object_with(server_openings[message.index()].view());
  std::visit([&](const auto& m) { write_server_fields(io, m); }, message);
  w.end_object();
}

std::string encode(const ServerMessage& message) {
  std::string out;
  out.reserve(160);  // one allocation for nearly every event (room states and lists grow once or twice)
  encode_to(out, message);
  return out;
}

ServerDecodeResult decode_server_message(std::string_view text, const ReplyKinds& kinds, uint32_t max_message_bytes) {
  if (text.size() > max_message_bytes) return DecodeError{std::nullopt, ErrorCode::message_too_large, ""};
  if (!valid_utf8(text)) return DecodeError{std::nullopt, ErrorCode::invalid_utf8, ""};
  json::Document& doc = scratch_document();
  if (auto err = json::parse(text, doc, server_limits))
    return DecodeError{std::nullopt, ErrorCode::bad_json, err->what};
  if (doc.root().type != json::Type::object) return DecodeError{std::nullopt, ErrorCode::not_an_object, ""};
  DecodeError error;
  Reader reader(doc, doc.root(), error, max_message_bytes);
  std::string type;
  reader.text("type", type);
  if (reader.failed()) return error;
  const auto index = index_of(type, server_names);
  if (!index) return DecodeError{std::nullopt, ErrorCode::unknown_type, "type '" + type + "' is not a server message"};
  static constexpr auto message_readers =
      server_readers(std::make_index_sequence<std::variant_size_v<ServerMessage>>{});
  ServerMessage message = message_readers[*index](reader, kinds);
  if (reader.failed()) return error;
  return message;
}

namespace {
template <typename T>
void collect(SchemaCollector& c) {
  if constexpr (std::is_same_v<T, OkReply>) {
    c.number("id", uint64_t{}, 0, max_request_id);
    std::apply([&](auto... d) { (Wire<decltype(d)>::fields(c, d), ...); },
               std::tuple<RegisteredData, CallData, WhoData, MissedData, RoomData>{});
  } else if constexpr (std::is_same_v<T, ErrorReply>) {
    c.add("id", FieldSchema::Kind::nullable_integer);
    c.text("code", std::string());
    for (int i = 0; i < error_code_count; ++i)
      c.fields.back().values.emplace_back(to_string(static_cast<ErrorCode>(i)));
    c.text("message", std::string());
  } else {
    T m{};
    Wire<T>::fields(c, m);
  }
}
template <std::size_t... I>
std::vector<FieldSchema> schema_at(std::size_t index, std::index_sequence<I...>) {
  SchemaCollector c;
  ((I == index ? collect<std::variant_alternative_t<I, ServerMessage>>(c) : void()), ...);
  return c.fields;
}
}  // namespace

std::optional<std::vector<FieldSchema>> server_message_fields(std::string_view type) {
  const auto index = index_of(type, server_names);
  if (!index) return std::nullopt;
  return schema_at(*index, std::make_index_sequence<std::variant_size_v<ServerMessage>>{});
}

ReplyKinds any_reply_is(ReplyKind kind) {
  return [kind](uint64_t) { return std::optional<ReplyKind>(kind); };
}

ReplyKind reply_kind(const RequestBody& body, Face face) {
  if (std::holds_alternative<WhoRequest>(body) && face == Face::ptt) return ReplyKind::room;
  return std::visit([](const auto& q) { return Wire<std::decay_t<decltype(q)>>::reply; }, body);
}

ReplyKind reply_kind(const ReplyData& data) { return static_cast<ReplyKind>(data.index()); }

RequestScope request_scope(const RequestBody& body) {
  return std::visit([](const auto& q) { return Wire<std::decay_t<decltype(q)>>::scope; }, body);
}

std::string_view request_type(const RequestBody& body) { return request_names[body.index()]; }

std::string_view message_type(const ServerMessage& message) { return server_names[message.index()]; }

bool is_server_message_type(std::string_view type) { return index_of(type, server_names).has_value(); }

std::string_view to_string(PresenceState v) { return enum_name(v); }
std::string_view to_string(Role v) { return enum_name(v); }
std::string_view to_string(AudioCodec v) { return enum_name(v); }
std::string_view to_string(FloorPolicy v) { return enum_name(v); }
std::string_view to_string(CallRole v) { return enum_name(v); }
std::string_view to_string(EndReason v) { return enum_name(v); }
std::string_view to_string(WaitStatus v) { return enum_name(v); }
std::string_view to_string(WaitEndReason v) { return enum_name(v); }
std::string_view to_string(DenyReason v) { return enum_name(v); }
std::string_view to_string(RevokeReason v) { return enum_name(v); }
std::string_view to_string(DequeueReason v) { return enum_name(v); }
std::string_view to_string(RecordingStopReason v) { return enum_name(v); }

}  // namespace hailer
