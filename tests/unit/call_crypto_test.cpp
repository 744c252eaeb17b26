// End-to-end media keys in the protocol client (client/call_crypto.hpp, client/client.hpp): each
// side sends a signed key when the call rings, checks the peer's, and starts media only with keys.
#include "client/call_crypto.hpp"

#include <catch2/catch.hpp>

#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "tests/support/seeds.hpp"

using namespace hailer;
using hailer::test::seed_of;

namespace {

// One end of a call: a protocol client with end-to-end media, registered.
struct End {
  SeededSecrets secrets;
  ProtocolClient client;
  std::vector<ClientEffect> out;
  Time now{0};

  End(const std::string& name, uint8_t identity, uint64_t seed) : secrets(seed), client(config(name, identity)) {
    client.connected(now, out);
    hear(R"({"type":"ok","id":1,"name":")" + name +
         R"(","heartbeat_ms":30000,"media_token":"00112233445566778899aabbccddeeff","media_id":"0123456789abcdef"})");
  }
  ClientConfig config(const std::string& name, uint8_t identity) {
    ClientConfig c;
    c.name = name;
    c.media_port = 5004;
    c.login = login_key_from_seed(seed_of(identity));
    c.e2e_media = true;
    c.call_secrets = &secrets;
    return c;
  }
  void hear(const std::string& text) {
    out.clear();
    client.received(now, text, out);
  }
  template <typename T>
  std::vector<T> effects() const {
    std::vector<T> found;
    for (const auto& e : out) {
      if (const auto* t = std::get_if<T>(&e)) found.push_back(*t);
    }
    return found;
  }
  // The media_key request just sent, decoded.
  MediaKeyRequest sent_key() const {
    for (const auto& s : effects<SendText>()) {
      auto decoded = decode_request(s.text, 1 << 16);
      if (auto* r = std::get_if<Request>(&decoded)) {
        if (auto* k = std::get_if<MediaKeyRequest>(&r->body)) return *k;
      }
    }
    FAIL("no media_key sent");
    return {};
  }
};

// The server's relay of `key`, sent by `from`, as the peer hears it.
std::string relay(const MediaKeyRequest& key, const std::string& from) {
  return encode(ServerMessage{PeerMediaKey{key.call_id, from, key.key, key.account_key, key.signature}});
}

const char* ring_caller = R"({"type":"call_ringing","call_id":9,"peer":"bob","role":"caller"})";
const char* ring_callee = R"({"type":"call_ringing","call_id":9,"peer":"alice","role":"callee"})";
const char* connected_alice =
    R"({"type":"call_connected","call_id":9,"peer":"bob","peer_media":{"address":"192.0.2.2","port":5004}})";
const char* connected_bob =
    R"({"type":"call_connected","call_id":9,"peer":"alice","peer_media":{"address":"192.0.2.1","port":5004}})";

}  // namespace

TEST_CASE("e2e: both ends send signed keys on ringing and start media with crossed keys and one safety number",
          "[client][e2e]") {
  End alice("alice", 1, 11), bob("bob", 2, 22);
  alice.hear(ring_caller);
  const MediaKeyRequest a_key = alice.sent_key();
  bob.hear(ring_callee);
  const MediaKeyRequest b_key = bob.sent_key();
  CHECK(a_key.call_id == 9);
  CHECK(a_key.account_key == login_key_hex(login_key_from_seed(seed_of(1))));
  alice.hear(relay(b_key, "bob"));
  CHECK(alice.effects<StartCallMedia>().empty());  // not connected yet
  bob.hear(relay(a_key, "alice"));
  alice.hear(connected_alice);
  bob.hear(connected_bob);
  REQUIRE(alice.effects<StartCallMedia>().size() == 1);
  REQUIRE(bob.effects<StartCallMedia>().size() == 1);
  const CallCrypto a = *alice.effects<StartCallMedia>()[0].crypto;
  const CallCrypto b = *bob.effects<StartCallMedia>()[0].crypto;
  CHECK(a.keys.send == b.keys.receive);
  CHECK(a.keys.receive == b.keys.send);
  CHECK(a.safety_number == b.safety_number);
}

TEST_CASE("e2e: connected before the peer's key, media waits for it and never starts plain", "[client][e2e]") {
  End alice("alice", 1, 11), bob("bob", 2, 22);
  alice.hear(ring_caller);
  bob.hear(ring_callee);
  const MediaKeyRequest b_key = bob.sent_key();
  alice.hear(connected_alice);
  CHECK(alice.effects<StartCallMedia>().empty());
  CHECK(alice.client.awaiting_peer_key());
  alice.hear(R"({"type":"call_ended","call_id":9,"peer":"bob","reason":"hangup","by":"bob"})");
  CHECK(alice.effects<StopCallMedia>().empty());  // nothing was started
  CHECK_FALSE(alice.client.awaiting_peer_key());
  alice.hear(relay(b_key, "bob"));  // late, for a call that is over: ignored
  CHECK(alice.effects<StartCallMedia>().empty());
}

TEST_CASE("e2e: a key with a bad signature is refused, the call hung up, and no media starts", "[client][e2e]") {
  End alice("alice", 1, 11), bob("bob", 2, 22);
  alice.hear(ring_caller);
  bob.hear(ring_callee);
  MediaKeyRequest b_key = bob.sent_key();
  b_key.signature[0] = b_key.signature[0] == '0' ? '1' : '0';
  alice.hear(connected_alice);
  alice.hear(relay(b_key, "bob"));
  REQUIRE(alice.effects<CallKeyRefused>().size() == 1);
  CHECK(alice.effects<CallKeyRefused>()[0].reason.find("signature") != std::string::npos);
  CHECK(alice.effects<StartCallMedia>().empty());
  bool hung_up = false;
  for (const auto& s : alice.effects<SendText>()) hung_up |= s.text.find(R"("type":"hangup")") != std::string::npos;
  CHECK(hung_up);
}

TEST_CASE("e2e: a key signed for another call or from another user is refused", "[client][e2e]") {
  End alice("alice", 1, 11), bob("bob", 2, 22);
  alice.hear(ring_caller);
  bob.hear(R"({"type":"call_ringing","call_id":8,"peer":"alice","role":"callee"})");
  MediaKeyRequest b_key = bob.sent_key();  // signed for call 8
  b_key.call_id = 9;
  alice.hear(relay(b_key, "bob"));
  REQUIRE(alice.effects<CallKeyRefused>().size() == 1);

  End carol("carol", 3, 33), dave("dave", 4, 44);
  carol.hear(R"({"type":"call_ringing","call_id":9,"peer":"dave","role":"caller"})");
  dave.hear(R"({"type":"call_ringing","call_id":9,"peer":"carol","role":"callee"})");
  carol.hear(relay(dave.sent_key(), "mallory"));  // the peer is dave, not mallory
  REQUIRE(carol.effects<CallKeyRefused>().size() == 1);
}

TEST_CASE("e2e: a key swapped by a server in the middle gives the two ends different safety numbers", "[client][e2e]") {
  End alice("alice", 1, 11), bob("bob", 2, 22);
  alice.hear(ring_caller);
  bob.hear(ring_callee);
  const MediaKeyRequest a_key = alice.sent_key();
  const MediaKeyRequest b_key = bob.sent_key();
  // The server's own keys, validly signed with the server's own account key.
  const LoginKey eve = login_key_from_seed(seed_of(9));
  const CallKeyAgreement to_alice(9, CallRole::callee, eve, seed_of(10));
  const CallKeyAgreement to_bob(9, CallRole::caller, eve, seed_of(11));
  alice.hear(relay(to_alice.request("bob"), "bob"));
  bob.hear(relay(to_bob.request("alice"), "alice"));
  alice.hear(connected_alice);
  bob.hear(connected_bob);
  REQUIRE(alice.effects<StartCallMedia>().size() == 1);
  REQUIRE(bob.effects<StartCallMedia>().size() == 1);
  CHECK(alice.effects<StartCallMedia>()[0].crypto->safety_number !=
        bob.effects<StartCallMedia>()[0].crypto->safety_number);
  // And eve, holding both real keys, can open what each sends.
  PeerMediaKey from_alice{9, "alice", a_key.key, a_key.account_key, a_key.signature};
  auto opened = to_alice.accept(from_alice, "alice");
  REQUIRE(std::holds_alternative<CallCrypto>(opened));
  CHECK(std::get<CallCrypto>(opened).keys.receive == alice.effects<StartCallMedia>()[0].crypto->keys.send);
  (void)b_key;
}

TEST_CASE("e2e off: media starts at connect, plain, and a peer's key changes nothing", "[client][e2e]") {
  ClientConfig c;
  c.name = "alice";
  c.media_port = 5004;
  ProtocolClient client(c);
  std::vector<ClientEffect> out;
  client.connected(Time{0}, out);
  out.clear();
  client.received(Time{0}, ring_caller, out);
  for (const auto& e : out) CHECK_FALSE(std::holds_alternative<SendText>(e));  // no media_key
  out.clear();
  client.received(Time{0}, connected_alice, out);
  bool started = false;
  for (const auto& e : out) {
    if (const auto* s = std::get_if<StartCallMedia>(&e)) {
      started = true;
      CHECK_FALSE(s->crypto.has_value());
    }
  }
  CHECK(started);
}
