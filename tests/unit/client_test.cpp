// The sans-IO protocol client: what it sends, what it keeps, how it reacts, and its timers.
#include "client/client.hpp"

#include <catch2/catch.hpp>

using namespace hailer;

namespace {

// A client and the effects of its last step.
struct Rig {
  ProtocolClient client;
  std::vector<ClientEffect> out;
  Time now{0};

  explicit Rig(ClientConfig c) : client(std::move(c)) {}

  void connect() {
    out.clear();
    client.connected(now, out);
  }
  void hear(const std::string& text) {
    out.clear();
    client.received(now, text, out);
  }
  uint64_t send(RequestBody body) {
    out.clear();
    return client.send(now, std::move(body), out);
  }
  void advance_to(Time t) {
    out.clear();
    now = t;
    client.timer(now, out);
  }
  template <typename T>
  std::vector<T> effects() const {
    std::vector<T> found;
    for (const auto& e : out) {
      if (const auto* t = std::get_if<T>(&e)) found.push_back(*t);
    }
    return found;
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> t;
    for (const auto& s : effects<SendText>()) t.push_back(s.text);
    return t;
  }
};

ClientConfig calls(const std::string& name, uint16_t media_port = 5004) {
  ClientConfig c;
  c.name = name;
  c.media_port = media_port;
  return c;
}

// Connects and registers, answering with `heartbeat_ms` and a token.
void register_ok(Rig& r, int64_t heartbeat_ms = 30'000) {
  r.connect();
  const uint16_t port = r.client.config().media_port;
  REQUIRE(r.texts() ==
          std::vector<std::string>{R"({"type":"register","id":1,"version":1,"name":")" + r.client.config().name + "\"" +
                                   (port == 0 ? "" : R"(,"media_port":)" + std::to_string(port)) + "}"});
  r.hear(R"({"type":"ok","id":1,"name":")" + r.client.config().name + R"(","heartbeat_ms":)" +
         std::to_string(heartbeat_ms) +
         R"(,"media_token":"00112233445566778899aabbccddeeff","media_id":"0123456789abcdef"})");
}

}  // namespace

TEST_CASE("client: registers on connect, proves its media endpoint until the server says it saw it", "[client]") {
  Rig r(calls("alice"));
  register_ok(r);
  CHECK(r.client.registered());
  REQUIRE(r.effects<SendProbe>().size() == 1);
  // The proof names the id and carries a MAC under the key, never the key itself.
  const std::string first = r.effects<SendProbe>()[0].payload;
  CHECK(first.starts_with("hailer-probe 0123456789abcdef 1 "));
  CHECK(first.find("00112233445566778899aabbccddeeff") == std::string::npos);
  SecretKey key;
  REQUIRE(from_hex("00112233445566778899aabbccddeeff", key.bytes));
  const auto parsed = parse_media_probe(first);
  REQUIRE(parsed.has_value());
  CHECK(parsed->media_id == 0x0123456789abcdefULL);
  CHECK(parsed->counter == 1);
  CHECK(verify_media_probe(key, *parsed));
  // No answer: it tries again after probe_retry_ms, not a millisecond earlier.
  r.advance_to(Time::from_ms(249));
  CHECK(r.effects<SendProbe>().empty());
  r.advance_to(Time::from_ms(250));
  REQUIRE(r.effects<SendProbe>().size() == 1);
  CHECK(r.effects<SendProbe>()[0].payload.starts_with("hailer-probe 0123456789abcdef 2 "));  // a new counter each time
  r.hear(R"({"type":"media_ready","address":"203.0.113.4","port":40001})");
  CHECK(r.client.media_ready() == MediaEndpoint{"203.0.113.4", 40001});
  // Then only a keepalive every probe_keepalive_ms, for the NAT binding.
  r.advance_to(Time::from_ms(250 + 14'999));
  CHECK(r.effects<SendProbe>().empty());
  r.advance_to(Time::from_ms(250 + 15'000));
  CHECK(r.effects<SendProbe>().size() == 1);
}

TEST_CASE("client: a register reply without a well-formed key or id proves nothing", "[client]") {
  Rig r(calls("alice"));
  r.connect();
  r.hear(
      R"({"type":"ok","id":1,"name":"alice","heartbeat_ms":30000,"media_token":"0011","media_id":"0123456789abcdef"})");
  CHECK(r.client.registered());
  CHECK(r.effects<SendProbe>().empty());
  r.advance_to(Time::from_ms(1'000));
  CHECK(r.effects<SendProbe>().empty());
}

TEST_CASE("client: without a media port there is no UDP proof", "[client]") {
  Rig r(calls("alice", 0));
  register_ok(r);
  CHECK(r.effects<SendProbe>().empty());
}

TEST_CASE("client: pings after a silence of the interval, never later than a third of the heartbeat", "[client]") {
  ClientConfig c = calls("alice", 0);
  c.ping_interval_ms = 60'000;
  Rig r(c);
  register_ok(r, 9'000);  // heartbeat 9 s: ping after 3 s of silence
  r.advance_to(Time::from_ms(2'999));
  CHECK(r.texts().empty());
  r.advance_to(Time::from_ms(3'000));
  CHECK(r.texts() == std::vector<std::string>{R"({"type":"ping","id":2})"});
  r.now = Time::from_ms(4'000);
  r.send(WhoRequest{});  // any request counts as a sign of life
  r.advance_to(Time::from_ms(6'999));
  CHECK(r.texts().empty());
  r.advance_to(Time::from_ms(7'000));
  CHECK(r.texts().size() == 1);
}

TEST_CASE("client: an incoming call rings, auto-accept answers after its delay, media starts and stops", "[client]") {
  ClientConfig c = calls("bob");
  c.auto_accept_ms = 300;
  Rig r(c);
  register_ok(r);
  r.hear(R"({"type":"call_ringing","call_id":4,"peer":"alice","role":"callee"})");
  CHECK(r.client.call().phase == CallPhase::ringing);
  CHECK(r.client.call().peer == "alice");
  REQUIRE(r.effects<PlayTone>().size() == 1);
  CHECK(r.effects<PlayTone>()[0].tone == Tone::incoming_call);
  r.advance_to(Time::from_ms(299));
  CHECK(r.texts().empty());
  r.advance_to(Time::from_ms(300));
  CHECK(r.texts() == std::vector<std::string>{R"({"type":"accept","id":2,"call_id":4})"});
  r.hear(R"({"type":"ok","id":2})");
  r.hear(R"({"type":"call_connected","call_id":4,"peer":"alice","peer_media":{"address":"192.0.2.1","port":5004}})");
  REQUIRE(r.effects<StartCallMedia>().size() == 1);
  CHECK(r.effects<StartCallMedia>()[0].peer_media == MediaEndpoint{"192.0.2.1", 5004});
  CHECK(r.client.call().phase == CallPhase::connected);
  r.hear(R"({"type":"call_ended","call_id":4,"peer":"alice","reason":"hangup","by":"alice"})");
  CHECK(r.effects<StopCallMedia>().size() == 1);
  CHECK(r.client.call().phase == CallPhase::idle);
}

TEST_CASE("client: the ok reply to a call says queued, and the wait view follows the events", "[client]") {
  ClientConfig c = calls("carol");
  c.auto_recall_ms = 100;
  Rig r(c);
  register_ok(r);
  const uint64_t id = r.send(CallRequest{"bob", std::nullopt});
  r.now = Time::from_ms(10);
  r.hear(R"({"type":"ok","id":)" + std::to_string(id) + R"(,"queued":true})");
  REQUIRE(r.effects<Heard>().size() == 1);
  CHECK(r.effects<Heard>()[0].request_type == "call");
  CHECK(r.effects<Heard>()[0].reply_rtt == Duration::from_ms(10));
  CHECK(r.client.wait().phase == WaitPhase::queued);
  r.hear(R"({"type":"wait_update","callee":"bob","position":2,"status":"queued"})");
  CHECK(r.client.wait().position == 2);
  r.hear(R"({"type":"wait_update","callee":"bob","position":1,"status":"suspended"})");
  CHECK(r.client.wait().phase == WaitPhase::suspended);
  r.hear(R"({"type":"callee_available","callee":"bob","window_ms":15000,"auto_connect":false})");
  CHECK(r.client.wait().phase == WaitPhase::recall);
  CHECK(r.client.wait().window_ends == Time::from_ms(10 + 15'000));
  CHECK(r.effects<PlayTone>().at(0).tone == Tone::callee_free);
  r.advance_to(Time::from_ms(109));
  CHECK(r.texts().empty());
  r.advance_to(Time::from_ms(110));
  CHECK(r.texts() == std::vector<std::string>{R"({"type":"call","id":3,"to":"bob"})"});
  r.hear(R"({"type":"wait_ended","callee":"bob","reason":"completed"})");
  CHECK(r.client.wait().phase == WaitPhase::none);
}

TEST_CASE("client: floor: press, granted (talk), release (stop with the tail), revoked (stop at once)", "[client]") {
  ClientConfig c;
  c.face = Face::ptt;
  c.name = "ann";
  c.room = "class";
  Rig r(c);
  r.connect();
  CHECK(r.texts().at(0).find(R"("type":"join")") != std::string::npos);
  r.hear(
      R"({"type":"ok","id":1,"room":"class","policy":"deny","talker":null,"members":[{"name":"ann","role":"student"}],"max_talk_ms":60000})");
  CHECK(r.client.registered());
  CHECK(r.client.room().members.size() == 1);
  r.send(PressRequest{});
  CHECK(r.client.floor().phase == FloorPhase::requesting);
  r.hear(R"({"type":"ok","id":2})");
  r.hear(R"({"type":"floor_granted","remaining_ms":60000})");
  CHECK(r.client.floor().phase == FloorPhase::talking);
  CHECK(r.effects<StartTalking>().size() == 1);
  r.send(ReleaseRequest{});
  REQUIRE(r.effects<StopTalking>().size() == 1);
  CHECK(r.effects<StopTalking>()[0].released);
  CHECK(r.client.floor().phase == FloorPhase::idle);
  r.send(PressRequest{});
  r.hear(R"({"type":"floor_granted","remaining_ms":60000})");
  r.hear(R"({"type":"floor_revoked","reason":"max_talk_time"})");
  REQUIRE(r.effects<StopTalking>().size() == 1);
  CHECK_FALSE(r.effects<StopTalking>()[0].released);
  r.hear(R"({"type":"floor_taken","talker":"ben"})");
  CHECK(r.client.room().talker == "ben");
  r.send(PressRequest{});
  r.hear(R"({"type":"floor_denied","reason":"floor_taken","talker":"ben"})");
  CHECK(r.client.floor().phase == FloorPhase::denied);
  r.hear(R"({"type":"floor_idle"})");
  CHECK(r.client.floor().phase == FloorPhase::idle);
  r.hear(R"({"type":"member_joined","name":"ben","role":"student"})");
  r.hear(R"({"type":"member_left","name":"ben"})");
  CHECK(r.client.room().members.size() == 1);
}

TEST_CASE("client: what the server sends that does not decode is reported, not guessed", "[client]") {
  Rig r(calls("alice", 0));
  register_ok(r);
  r.hear(R"({"type":"ok","id":77})");  // answers a request never sent
  REQUIRE(r.effects<ServerGarbage>().size() == 1);
  r.hear(R"({"type":"wait_update","callee":"bob","position":"1","status":"queued"})");
  REQUIRE(r.effects<ServerGarbage>().size() == 1);
  CHECK(r.effects<ServerGarbage>()[0].error.code == ErrorCode::bad_field);
}

TEST_CASE("client: a lost connection ends media and forgets what the server knew", "[client]") {
  Rig r(calls("bob"));
  register_ok(r);
  r.hear(R"({"type":"call_ringing","call_id":4,"peer":"alice","role":"callee"})");
  r.send(AcceptRequest{4});
  r.hear(R"({"type":"call_connected","call_id":4,"peer":"alice","peer_media":{"address":"192.0.2.1","port":5004}})");
  r.out.clear();
  r.client.disconnected(r.now, r.out);
  CHECK(r.effects<StopCallMedia>().size() == 1);
  CHECK_FALSE(r.client.registered());
  CHECK(r.client.call().phase == CallPhase::idle);
  CHECK(r.client.pending() == 0);
  CHECK_FALSE(r.client.next_deadline().has_value());
  r.hear(R"({"type":"floor_idle"})");  // a late message of the old connection: ignored
  CHECK(r.out.empty());
}

TEST_CASE("client: raw text is sent as is, and a decodable request in it is tracked", "[client]") {
  Rig r(calls("alice", 0));
  register_ok(r);
  r.out.clear();
  r.client.send_raw(r.now, R"({"type":"who","id":50})", r.out);
  CHECK(r.texts() == std::vector<std::string>{R"({"type":"who","id":50})"});
  r.hear(R"({"type":"ok","id":50,"users":[]})");
  CHECK(r.effects<Heard>().at(0).request_type == "who");
  r.out.clear();
  r.client.send_raw(r.now, "{garbage", r.out);
  r.hear(R"({"type":"error","id":null,"code":"bad_json","message":"the message is not valid JSON"})");
  CHECK(std::holds_alternative<ErrorReply>(r.effects<Heard>().at(0).message));
}

TEST_CASE("client: a place in line lost with the connection is asked for again once registered", "[client]") {
  Rig r(calls("carol", 0));
  register_ok(r);
  const uint64_t id = r.send(CallRequest{"bob", std::nullopt});
  r.hear(R"({"type":"ok","id":)" + std::to_string(id) + R"(,"queued":true})");
  REQUIRE(r.client.wait().phase == WaitPhase::queued);
  r.out.clear();
  r.client.disconnected(r.now, r.out);
  CHECK(r.client.wait().phase == WaitPhase::none);
  r.connect();
  REQUIRE(r.texts().size() == 1);
  CHECK(r.texts()[0].find(R"("type":"register")") != std::string::npos);
  CHECK(r.client.rejoined_wait().empty());  // not before the registration is confirmed
  const std::string register_id = std::to_string(id + 1);
  REQUIRE(r.texts()[0].find(R"("id":)" + register_id) != std::string::npos);
  r.hear(R"({"type":"ok","id":)" + register_id + R"(,"name":"carol","heartbeat_ms":30000})");
  CHECK(r.client.rejoined_wait() == "bob");
  REQUIRE(r.texts().size() == 1);
  CHECK(r.texts()[0] == R"({"type":"call","id":)" + std::to_string(id + 2) + R"(,"to":"bob"})");
  // Queued again: the wait view is back; a later drop and return asks once more, and a client
  // that did not wait asks nothing.
  r.hear(R"({"type":"ok","id":)" + std::to_string(id + 2) + R"(,"queued":true})");
  CHECK(r.client.wait().phase == WaitPhase::queued);
  const uint64_t cancel = r.send(CancelWaitRequest{});
  r.hear(R"({"type":"ok","id":)" + std::to_string(cancel) + "}");
  r.hear(R"({"type":"wait_ended","callee":"bob","reason":"cancelled"})");
  REQUIRE(r.client.wait().phase == WaitPhase::none);
  r.out.clear();
  r.client.disconnected(r.now, r.out);
  r.connect();
  const std::string again = std::to_string(cancel + 1);
  INFO("no wait, nothing to ask for");
  r.hear(R"({"type":"ok","id":)" + again + R"(,"name":"carol","heartbeat_ms":30000})");
  CHECK(r.client.rejoined_wait().empty());
  CHECK(r.texts().empty());
}

TEST_CASE("client: a wait ended by a closing server is asked for again too", "[client]") {
  Rig r(calls("carol", 0));
  register_ok(r);
  const uint64_t id = r.send(CallRequest{"bob", std::nullopt});
  r.hear(R"({"type":"ok","id":)" + std::to_string(id) + R"(,"queued":true})");
  r.hear(R"({"type":"server_closing"})");
  r.hear(R"({"type":"wait_ended","callee":"bob","reason":"callee_offline"})");  // the shutdown closed bob first
  REQUIRE(r.client.wait().phase == WaitPhase::none);
  r.out.clear();
  r.client.disconnected(r.now, r.out);
  r.connect();
  r.hear(R"({"type":"ok","id":)" + std::to_string(id + 1) + R"(,"name":"carol","heartbeat_ms":30000})");
  CHECK(r.client.rejoined_wait() == "bob");
  CHECK(r.texts() == std::vector<std::string>{R"({"type":"call","id":)" + std::to_string(id + 2) + R"(,"to":"bob"})"});
}
