#include "protocol/codec.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

using namespace hailer;

namespace {
DecodeError decode_error(std::string_view text, uint32_t max = 4096) {
  auto r = decode_request(text, max);
  REQUIRE(std::holds_alternative<DecodeError>(r));
  return std::get<DecodeError>(r);
}
Request decode_ok(std::string_view text) {
  auto r = decode_request(text, 4096);
  if (auto* e = std::get_if<DecodeError>(&r)) FAIL("decode failed: " << to_string(e->code) << " " << e->detail);
  return std::get<Request>(r);
}
ServerMessage server_ok(std::string_view text, ReplyKind kind = ReplyKind::none) {
  auto r = decode_server_message(text, any_reply_is(kind));
  if (auto* e = std::get_if<DecodeError>(&r))
    FAIL("decode failed: " << to_string(e->code) << " " << e->detail << ": " << text);
  return std::get<ServerMessage>(r);
}
DecodeError server_error(std::string_view text, ReplyKind kind = ReplyKind::none) {
  auto r = decode_server_message(text, any_reply_is(kind));
  REQUIRE(std::holds_alternative<DecodeError>(r));
  return std::get<DecodeError>(r);
}
}  // namespace

TEST_CASE("requests decode with their fields", "[codec]") {
  auto r = decode_ok(R"({"type":"register","id":1,"version":1,"name":"alice","media_port":5004})");
  CHECK(r.id == 1);
  CHECK(std::get<RegisterRequest>(r.body) == RegisterRequest{1, "alice", 5004, {}, {}, {}});

  r = decode_ok(R"({"type":"call","id":2,"to":"bob","auto_connect":true})");
  CHECK(std::get<CallRequest>(r.body) == CallRequest{"bob", true});

  r = decode_ok(R"({"type":"accept","id":3})");
  CHECK_FALSE(std::get<AcceptRequest>(r.body).call_id.has_value());
  r = decode_ok(R"({"type":"accept","id":3,"call_id":null})");  // null counts as absent
  CHECK_FALSE(std::get<AcceptRequest>(r.body).call_id.has_value());

  r = decode_ok(
      R"({"type":"join","id":4,"version":1,"name":"ann","room":"class","role":"instructor","codec":"opus","sample_rate":44100,"token":"t"})");
  CHECK(std::get<JoinRequest>(r.body) ==
        JoinRequest{1, "ann", "class", Role::instructor, AudioCodec::opus, 44100, "t"});

  r = decode_ok(R"({"type":"set_policy","id":5,"policy":"queue","extra":"ignored"})");
  CHECK(std::get<SetPolicyRequest>(r.body).policy == FloorPolicy::queue);

  r = decode_ok(" \t\r\n{\"type\":\"ping\",\"id\":6} \r\n");  // JSON whitespace around the object
  CHECK(std::holds_alternative<PingRequest>(r.body));
}

TEST_CASE("bad input gets a stable error code, with the id when it was readable", "[codec]") {
  CHECK(decode_error(std::string(5000, ' '), 4096).code == ErrorCode::message_too_large);
  CHECK(decode_error("{\"type\":\"who\",\"id\":1,\"x\":\"\xff\"}").code == ErrorCode::invalid_utf8);
  CHECK(decode_error("{\"type\":").code == ErrorCode::bad_json);
  CHECK(decode_error("[1,2]").code == ErrorCode::not_an_object);
  CHECK(decode_error(R"({"type":"who"})").code == ErrorCode::missing_field);
  CHECK(decode_error(R"({"type":"who","id":-1})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"who","id":1.5})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"who","id":1.0})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"who","id":1e2})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"who","id":9007199254740992})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"who","id":99999999999999999999999})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"id":7})").code == ErrorCode::missing_field);

  auto e = decode_error(R"({"type":"dance","id":7})");
  CHECK(e.code == ErrorCode::unknown_type);
  CHECK(e.id == 7u);

  e = decode_error(R"({"type":"call","id":8})");
  CHECK(e.code == ErrorCode::missing_field);
  CHECK(e.id == 8u);
  CHECK(e.detail.find("'to'") != std::string::npos);

  e = decode_error(R"({"type":"call","id":9,"to":42})");
  CHECK(e.code == ErrorCode::bad_field);
  CHECK(e.id == 9u);

  CHECK(decode_error(R"({"type":"register","id":1,"version":"1","name":"a"})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"register","id":1,"version":1,"name":"a","media_port":70000})").code ==
        ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"register","id":1,"version":1,"name":"a","media_port":-1})").code ==
        ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"call","id":1,"to":"b","auto_connect":"yes"})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"set_policy","id":1,"policy":"chaos"})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"join","id":1,"version":1,"name":"a","room":"r","sample_rate":100})").code ==
        ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"join","id":1,"version":1,"name":"a","room":"r","role":"god"})").code ==
        ErrorCode::bad_field);
  CHECK(decode_error("{\"type\":\"call\",\"id\":1,\"to\":\"" + std::string(300, 'a') + "\"}").code ==
        ErrorCode::bad_field);
}

TEST_CASE("sample_rate: 8000 and 192000 are accepted, 7999 and 192001 refused", "[codec]") {
  auto join = [](int64_t rate) {
    return R"({"type":"join","id":1,"version":1,"name":"a","room":"r","sample_rate":)" + std::to_string(rate) + "}";
  };
  CHECK(std::get<JoinRequest>(decode_ok(join(8000)).body).sample_rate_hz == 8000);
  CHECK(std::get<JoinRequest>(decode_ok(join(192000)).body).sample_rate_hz == 192000);
  CHECK(decode_error(join(7999)).code == ErrorCode::bad_field);
  CHECK(decode_error(join(192001)).code == ErrorCode::bad_field);
}

TEST_CASE("raw NUL, duplicate keys, a byte-order mark and an escaped NUL are refused", "[codec]") {
  using namespace std::string_literals;
  // Without the check, a parser that stops at NUL would read the ping and never see the hangup.
  CHECK(decode_error("{\"type\":\"ping\",\"id\":1}\0{\"type\":\"hangup\",\"id\":2}"s).code == ErrorCode::bad_json);
  CHECK(decode_error("{\"type\":\"ping\",\"id\":1\0}"s).code == ErrorCode::bad_json);
  auto dup = decode_error(R"({"type":"hangup","type":"ping","id":3})");
  CHECK(dup.code == ErrorCode::bad_json);
  CHECK(dup.detail.find("duplicate key 'type'") != std::string::npos);
  CHECK(decode_error(R"({"type":"ping","id":3,"id":4})").code == ErrorCode::bad_json);
  CHECK(decode_error("\xEF\xBB\xBF{\"type\":\"ping\",\"id\":1}").code == ErrorCode::bad_json);
  CHECK(decode_error(
            R"({"type":"join","id":1,"version":1,"name":"a","room":"r","role":"instructor","token":"ab\u0000cd"})")
            .code == ErrorCode::bad_json);
  CHECK(decode_error(R"({"type":"ping","id":1,"x":"\ud800"})").code == ErrorCode::bad_json);  // lone surrogate
  CHECK(decode_error(R"({"type":"ping","id":1,"x":"\udc00"})").code == ErrorCode::bad_json);
  CHECK(decode_error("{\"type\":\"ping\",\"id\":1,\"x\":\"a\tb\"}").code == ErrorCode::bad_json);  // raw control char
  std::string deep = R"({"type":"ping","id":1,"x":)" + std::string(40, '[') + std::string(40, ']') + "}";
  CHECK(decode_error(deep).code == ErrorCode::bad_json);
  // Escapes that are fine decode to what they say.
  auto r = decode_ok(R"({"type":"call","id":1,"to":"b\u00f6b\ud83d\ude00"})");
  CHECK(std::get<CallRequest>(r.body).to ==
        "b\xC3\xB6"
        "b\xF0\x9F\x98\x80");
}

TEST_CASE("every request round-trips through encode_request and decode_request", "[codec]") {
  const std::vector<RequestBody> bodies{
      RegisterRequest{1, "alice", 5004, {}, {}, {}},
      RegisterRequest{1, "alice", 0, std::string(64, 'a'), std::string(128, 'b'), "c0de"},
      AddKeyRequest{std::string(64, 'd')},
      WhoRequest{},
      CallRequest{"bob", std::nullopt},
      CallRequest{"bob", false},
      AcceptRequest{12},
      AcceptRequest{},
      RejectRequest{3},
      HangupRequest{},
      CancelRequest{},
      CancelWaitRequest{},
      MissedRequest{},
      PingRequest{},
      JoinRequest{1, "ann", "room1", Role::student, AudioCodec::opus, 48000, ""},
      PressRequest{},
      ReleaseRequest{},
      RevokeRequest{},
      SetPolicyRequest{FloorPolicy::queue},
      GrantRequest{"ann"},
      SkipRequest{"ben"},
      ChannelBindingRequest{},
      MediaKeyRequest{7, std::string(64, 'a'), std::string(64, 'b'), std::string(128, 'c')}};
  std::set<std::size_t> kinds;
  uint64_t id = 1;
  for (const auto& body : bodies) {
    kinds.insert(body.index());
    const Request original{id++, body};
    CAPTURE(encode_request(original));
    CHECK(decode_ok(encode_request(original)) == original);
  }
  CHECK(kinds.size() == std::variant_size_v<RequestBody>);
}

namespace {
std::vector<ServerMessage> every_server_message() {
  return {
      OkReply{1, std::monostate{}},
      OkReply{2, RegisteredData{"alice", 30000, "00112233445566778899aabbccddeeff", "0123456789abcdef", std::nullopt}},
      OkReply{2, RegisteredData{"alice", 30000, "00112233445566778899aabbccddeeff", "0123456789abcdef", 7701}},
      OkReply{3, CallData{7, false}},
      OkReply{4, CallData{std::nullopt, true}},
      OkReply{
          5, WhoData{{{"alice", PresenceState::in_call, 2, std::nullopt}, {"bob", PresenceState::available, 0, true}}}},
      OkReply{5, WhoData{}},
      OkReply{6, MissedData{{{"carol", 1234}}, 5678}},
      OkReply{7,
              RoomData{"class", FloorPolicy::queue, "ann", {{"ann", Role::student}, {"t", Role::instructor}}, 60000}},
      OkReply{8, RoomData{"class", FloorPolicy::deny, "", {}, 60000}},
      OkReply{10, ChannelBindingData{std::string(64, 'e')}},
      ErrorReply{9, ErrorCode::name_taken, "that name is in use"},
      ErrorReply{std::nullopt, ErrorCode::bad_json, "x \"quoted\" \\ \n\t\x01 \xC3\xA9"},
      MediaReady{"203.0.113.9", 40001},
      CallRinging{7, "bob", CallRole::callee},
      CallConnected{7, "bob", {"10.0.0.2", 5004}, std::nullopt},
      CallConnected{8, "bob", {"10.0.0.2", 0}, std::nullopt},
      CallConnected{9, "bob", {"10.0.0.2", 5004}, 7701},
      CallEnded{7, "bob", EndReason::no_answer, ""},
      CallEnded{7, "bob", EndReason::hangup, "bob"},
      MissedCall{"alice", 99},
      WaitUpdate{"bob", 2, WaitStatus::suspended},
      CalleeAvailable{"bob", 15000, false},
      WaitEnded{"bob", WaitEndReason::window_expired},
      WaitingCount{3},
      FloorGranted{60000},
      FloorDenied{DenyReason::floor_taken, "ann"},
      FloorDenied{DenyReason::receive_only, ""},
      FloorQueued{2},
      FloorTaken{"ann"},
      FloorIdle{},
      FloorRevoked{RevokeReason::silence},
      FloorDequeued{DequeueReason::policy_changed},
      FloorDequeued{DequeueReason::skipped},
      FloorQueue{{{"ann"}, {"ben"}}},
      FloorQueue{},
      MemberJoined{"ann", Role::student},
      MemberLeft{"ann"},
      PolicyChanged{FloorPolicy::queue},
      RecordingStopped{"ann", RecordingStopReason::disk_full},
      RecordingStopped{"ben", RecordingStopReason::student_budget},
      ServerClosing{},
      RelayDropped{7, RelayDropReason::too_fast},
      RelayDropped{8, RelayDropReason::oversized},
      PeerMediaKey{7, "bob", std::string(64, 'a'), std::string(64, 'b'), std::string(128, 'c')},
  };
}
}  // namespace

TEST_CASE("every server message round-trips through encode and decode_server_message", "[codec]") {
  std::set<std::size_t> kinds;
  for (const auto& m : every_server_message()) {
    kinds.insert(m.index());
    const std::string text = encode(m);
    CAPTURE(text);
    const ReplyKind kind = std::holds_alternative<OkReply>(m) ? reply_kind(std::get<OkReply>(m).data) : ReplyKind::none;
    CHECK(server_ok(text, kind) == m);
    // The bytes are what nlohmann::json writes for the same document: escaping and order agree.
    CHECK(nlohmann::ordered_json::parse(text).dump() == text);
  }
  CHECK(kinds.size() == std::variant_size_v<ServerMessage>);  // every kind is covered
}

TEST_CASE("the wire shape starts with type and id, as docs/protocol.md shows", "[codec]") {
  CHECK(encode(OkReply{1, RegisteredData{"alice", 30000, "00ff", "0a", std::nullopt}}) ==
        R"({"type":"ok","id":1,"name":"alice","heartbeat_ms":30000,"media_token":"00ff","media_id":"0a"})");
  CHECK(encode(ErrorReply{std::nullopt, ErrorCode::bad_json, "the message is not valid JSON"}) ==
        R"({"type":"error","id":null,"code":"bad_json","message":"the message is not valid JSON"})");
  CHECK(encode(FloorTaken{"ann"}) == R"({"type":"floor_taken","talker":"ann"})");
  CHECK(encode(CallEnded{7, "bob", EndReason::no_answer, ""}) ==
        R"({"type":"call_ended","call_id":7,"peer":"bob","reason":"no_answer","by":null})");
  CHECK(encode_request(Request{3, CallRequest{"bob", std::nullopt}}) == R"({"type":"call","id":3,"to":"bob"})");
}

TEST_CASE("the reply's data kind comes from the request, never from the fields present", "[codec]") {
  const std::string text = R"({"type":"ok","id":5,"users":[{"name":"a","state":"available","waiting":0}]})";
  CHECK(std::get<OkReply>(server_ok(text, ReplyKind::who)).data ==
        ReplyData{WhoData{{{"a", PresenceState::available, 0, std::nullopt}}}});
  CHECK(std::holds_alternative<std::monostate>(std::get<OkReply>(server_ok(text, ReplyKind::none)).data));
  CHECK(server_error(text, ReplyKind::room).code == ErrorCode::missing_field);  // a room reply has no "users"
  // An ok that answers no request the client sent is refused.
  auto r = decode_server_message(text, [](uint64_t) { return std::optional<ReplyKind>(); });
  REQUIRE(std::holds_alternative<DecodeError>(r));
  CHECK(std::get<DecodeError>(r).detail.find("answers no request") != std::string::npos);
  CHECK(reply_kind(WhoRequest{}, Face::calls) == ReplyKind::who);
  CHECK(reply_kind(WhoRequest{}, Face::ptt) == ReplyKind::room);
  CHECK(reply_kind(JoinRequest{}, Face::ptt) == ReplyKind::room);
  CHECK(reply_kind(HangupRequest{}, Face::calls) == ReplyKind::none);
}

TEST_CASE("the client side is as strict as the server side: every number checked for type and range", "[codec]") {
  CHECK(server_error(R"({"type":"ok","id":1e20})").code == ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"ok","id":-1})").code == ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"ok","id":1.9})").code == ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"wait_update","callee":"b","position":4294967297,"status":"queued"})").code ==
        ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"wait_update","callee":"b","position":0,"status":"queued"})").code ==
        ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"call_connected","call_id":1,"peer":"b","peer_media":{"address":"x","port":65537}})")
            .code == ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"waiting_count","count":-1})").code == ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"floor_granted","remaining_ms":"60000"})").code == ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"floor_taken"})").code == ErrorCode::missing_field);
  CHECK(server_error(R"({"type":"floor_revoked","reason":"boredom"})").code == ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"error","id":null,"code":"no_such_code","message":"x"})").code == ErrorCode::bad_field);
  CHECK(server_error(R"({"type":"unknown"})").code == ErrorCode::unknown_type);
  CHECK(server_error("nope").code == ErrorCode::bad_json);
  CHECK(server_error(R"({"type":"floor_idle","type":"floor_idle"})").code == ErrorCode::bad_json);
  CHECK(server_error("[1]").code == ErrorCode::not_an_object);
  // Unknown fields are ignored both ways, for newer peers.
  CHECK(server_ok(R"({"type":"floor_idle","since_ms":5})") == ServerMessage{FloorIdle{}});
}

TEST_CASE("the field schema lists every field of a message with its shape", "[codec]") {
  const auto wait = server_message_fields("wait_update");
  REQUIRE(wait.has_value());
  REQUIRE(wait->size() == 3);
  CHECK((*wait)[0].name == "callee");
  CHECK((*wait)[1].name == "position");
  CHECK((*wait)[1].kind == FieldSchema::Kind::integer);
  CHECK((*wait)[2].values == std::vector<std::string>{"queued", "suspended"});
  const auto error = server_message_fields("error");
  REQUIRE(error.has_value());
  CHECK((*error)[0].kind == FieldSchema::Kind::nullable_integer);
  CHECK(server_message_fields("ok")->size() > 10);  // id plus every reply kind's fields
  CHECK_FALSE(server_message_fields("nonsense").has_value());
}

TEST_CASE("an error message never carries a broken UTF-8 sequence from the input (found by fuzzing)", "[codec]") {
  // A valid two-byte character where JSON expects a value: the error names the byte by value.
  const auto r = decode_request("\xd9\xb4", 4096);
  REQUIRE(std::holds_alternative<DecodeError>(r));
  const DecodeError& e = std::get<DecodeError>(r);
  CHECK(e.code == ErrorCode::bad_json);
  CHECK(e.detail.find("byte 0xd9") != std::string::npos);
  const std::string text = encode(ErrorReply{std::nullopt, e.code, e.detail});
  CHECK(std::holds_alternative<ServerMessage>(decode_server_message(text, any_reply_is(ReplyKind::none))));
}

TEST_CASE("a request of exactly max_message_bytes decodes and one byte more is message_too_large", "[codec]") {
  // JSON whitespace inside the object pads a ping to the exact size.
  const auto ping_of_size = [](std::size_t size) {
    const std::string body = R"("type":"ping","id":1})";
    return "{" + std::string(size - 1 - body.size(), ' ') + body;
  };
  for (const uint32_t limit : {64u, 4096u}) {
    INFO("limit " << limit);
    const std::string exact = ping_of_size(limit);
    REQUIRE(exact.size() == limit);
    const DecodeResult fits = decode_request(exact, limit);
    REQUIRE(std::holds_alternative<Request>(fits));
    CHECK(std::holds_alternative<PingRequest>(std::get<Request>(fits).body));
    const std::string over = ping_of_size(limit + 1);
    const DecodeResult too_large = decode_request(over, limit);
    REQUIRE(std::holds_alternative<DecodeError>(too_large));
    CHECK(std::get<DecodeError>(too_large).code == ErrorCode::message_too_large);
  }
}
