#include "core/codec.hpp"

#include <catch2/catch.hpp>
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
}  // namespace

TEST_CASE("requests decode with their fields", "[codec]") {
  auto r = decode_ok(R"({"type":"register","id":1,"version":1,"name":"alice","media_port":5004})");
  CHECK(r.id == 1);
  CHECK(std::get<RegisterRequest>(r.body) == RegisterRequest{1, "alice", 5004});

  r = decode_ok(R"({"type":"call","id":2,"to":"bob","auto_connect":true})");
  CHECK(std::get<CallRequest>(r.body) == CallRequest{"bob", true});

  r = decode_ok(R"({"type":"accept","id":3})");
  CHECK_FALSE(std::get<AcceptRequest>(r.body).call_id.has_value());
  r = decode_ok(R"({"type":"accept","id":3,"call_id":null})");  // null counts as absent
  CHECK_FALSE(std::get<AcceptRequest>(r.body).call_id.has_value());

  r = decode_ok(R"({"type":"join","id":4,"version":1,"name":"ann","room":"class","role":"instructor","codec":"opus","sample_rate":44100,"token":"t"})");
  CHECK(std::get<JoinRequest>(r.body) == JoinRequest{1, "ann", "class", Role::instructor, AudioCodec::opus, 44100, "t"});

  r = decode_ok(R"({"type":"set_policy","id":5,"policy":"queue","extra":"ignored"})");
  CHECK(std::get<SetPolicyRequest>(r.body).policy == FloorPolicy::queue);
}

TEST_CASE("bad input gets a stable error code, with the id when it was readable", "[codec]") {
  CHECK(decode_error(std::string(5000, ' '), 4096).code == ErrorCode::message_too_large);
  CHECK(decode_error("{\"type\":\"who\",\"id\":1,\"x\":\"\xff\"}").code == ErrorCode::invalid_utf8);
  CHECK(decode_error("{\"type\":").code == ErrorCode::bad_json);
  CHECK(decode_error("[1,2]").code == ErrorCode::not_an_object);
  CHECK(decode_error(R"({"type":"who"})").code == ErrorCode::missing_field);
  CHECK(decode_error(R"({"type":"who","id":-1})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"who","id":1.5})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"who","id":9007199254740992})").code == ErrorCode::bad_field);
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
  CHECK(decode_error(R"({"type":"register","id":1,"version":1,"name":"a","media_port":70000})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"call","id":1,"to":"b","auto_connect":"yes"})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"set_policy","id":1,"policy":"chaos"})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"join","id":1,"version":1,"name":"a","room":"r","sample_rate":100})").code == ErrorCode::bad_field);
  CHECK(decode_error(R"({"type":"join","id":1,"version":1,"name":"a","room":"r","role":"god"})").code == ErrorCode::bad_field);
  CHECK(decode_error("{\"type\":\"call\",\"id\":1,\"to\":\"" + std::string(300, 'a') + "\"}").code == ErrorCode::bad_field);
}

TEST_CASE("every request round-trips through encode_request and decode_request", "[codec]") {
  const std::vector<RequestBody> bodies{
      RegisterRequest{1, "alice", 5004}, WhoRequest{}, CallRequest{"bob", std::nullopt}, CallRequest{"bob", false},
      AcceptRequest{12}, AcceptRequest{}, RejectRequest{3}, HangupRequest{}, CancelRequest{}, CancelWaitRequest{},
      MissedRequest{}, PingRequest{}, JoinRequest{1, "ann", "room1", Role::student, AudioCodec::opus, 48000, ""},
      PressRequest{}, ReleaseRequest{}, RevokeRequest{}, SetPolicyRequest{FloorPolicy::queue}};
  REQUIRE(bodies.size() >= std::variant_size_v<RequestBody>);
  uint64_t id = 1;
  for (const auto& body : bodies) {
    const Request original{id++, body};
    CAPTURE(encode_request(original));
    CHECK(decode_ok(encode_request(original)) == original);
  }
}

TEST_CASE("every server message round-trips through encode and decode_server_message", "[codec]") {
  const std::vector<ServerMessage> messages{
      OkReply{1, std::monostate{}},
      OkReply{2, RegisteredData{"alice", 30000}},
      OkReply{3, CallData{7, false}},
      OkReply{4, CallData{std::nullopt, true}},
      OkReply{5, WhoData{{{"alice", PresenceState::in_call, 2}, {"bob", PresenceState::available, 0}}}},
      OkReply{6, MissedData{{{"carol", 1234}}}},
      OkReply{7, RoomData{"class", FloorPolicy::queue, "ann", {{"ann", Role::student}, {"t", Role::instructor}}, 60000}},
      OkReply{8, RoomData{"class", FloorPolicy::deny, "", {}, 60000}},
      ErrorReply{9, ErrorCode::name_taken, "that name is in use"},
      ErrorReply{std::nullopt, ErrorCode::bad_json, "x"},
      CallRinging{7, "bob", CallRole::callee},
      CallConnected{7, "bob", {"10.0.0.2", 5004}},
      CallEnded{7, "bob", EndReason::no_answer, ""},
      CallEnded{7, "bob", EndReason::hangup, "bob"},
      MissedCall{"alice", 99},
      WaitUpdate{"bob", 2, WaitStatus::suspended},
      CalleeAvailable{"bob", 15000, false},
      WaitEnded{"bob", WaitEndReason::window_expired},
      WaitingCount{3},
      FloorGranted{60000},
      FloorDenied{DenyReason::floor_taken, "ann"},
      FloorQueued{2},
      FloorTaken{"ann"},
      FloorIdle{},
      FloorRevoked{RevokeReason::silence},
      FloorDequeued{DequeueReason::policy_changed},
      MemberJoined{"ann", Role::student},
      MemberLeft{"ann"},
      PolicyChanged{FloorPolicy::queue},
  };
  std::set<std::size_t> kinds;
  for (const auto& m : messages) {
    kinds.insert(m.index());
    const std::string text = encode(m);
    CAPTURE(text);
    auto back = decode_server_message(text);
    REQUIRE(back.has_value());
    CHECK(*back == m);
  }
  CHECK(kinds.size() == std::variant_size_v<ServerMessage>);  // every kind is covered
}

TEST_CASE("the wire shape starts with type and id, as docs/protocol.md shows", "[codec]") {
  CHECK(encode(OkReply{1, RegisteredData{"alice", 30000}}) == R"({"type":"ok","id":1,"name":"alice","heartbeat_ms":30000})");
  CHECK(encode(ErrorReply{std::nullopt, ErrorCode::bad_json, "the message is not valid JSON"}) ==
        R"({"type":"error","id":null,"code":"bad_json","message":"the message is not valid JSON"})");
  CHECK(encode(FloorTaken{"ann"}) == R"({"type":"floor_taken","talker":"ann"})");
  CHECK(encode_request(Request{3, CallRequest{"bob", std::nullopt}}) == R"({"type":"call","id":3,"to":"bob"})");
}

TEST_CASE("decode_server_message rejects what is not a server message", "[codec]") {
  CHECK_FALSE(decode_server_message("nope").has_value());
  CHECK_FALSE(decode_server_message(R"({"type":"unknown"})").has_value());
  CHECK_FALSE(decode_server_message(R"({"type":"floor_taken"})").has_value());
  CHECK_FALSE(decode_server_message(R"({"type":"floor_revoked","reason":"boredom"})").has_value());
}
