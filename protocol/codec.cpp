#include "protocol/codec.hpp"

#include <array>
#include <limits>
#include <tuple>
#include <utility>

#include "base/assert.hpp"
#include "protocol/json.hpp"
#include "protocol/utf8.hpp"
#include "protocol/wire.hpp"

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

using namespace codec_detail;  // the machinery and the table, included once, here

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
               std::tuple<RegisteredData, CallData, WhoData, MissedData, RoomData, ChannelBindingData>{});
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
