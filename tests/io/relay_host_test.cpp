// The relay inside the server host: a connected call opens its two legs (ids derived from each
// session's media key, as the client derives its own), relay packets go from one leg to the
// other through the UDP port, the call's end closes them, and a leg over its size or rate is told.
#include <catch2/catch.hpp>

#include "protocol/media_probe.hpp"
#include "tests/support/test_port.hpp"

using namespace hailer;
using hailer::test::TestPort;

namespace {

struct CallRig {
  TestPort port;
  SeededSecrets secrets{11};
  ServerHost host;
  Time now{0};
  SessionId alice{1}, bob{2};
  SecretKey alice_key, bob_key;
  uint64_t call_id = 0;

  static Config relaying() {
    Config c;
    c.rendezvous_udp_port = 7701;
    return c;
  }
  explicit CallRig(Config c = relaying()) : host(c, secrets, HostConfig{}, port, port) {
    alice_key = user(alice, "alice");
    bob_key = user(bob, "bob");
    host.text(now, alice, R"({"type":"call","id":2,"to":"bob"})");
    call_id = *std::get<CallData>(port.sent<OkReply>(alice, ReplyKind::call).at(0).data).call_id;
    host.text(now, bob, R"({"type":"accept","id":2})");
  }
  SecretKey user(SessionId s, const std::string& name) {
    host.opened(now, s, "192.0.2." + std::to_string(s.value));
    host.text(now, s, R"({"type":"register","id":1,"version":1,"name":")" + name + R"(","media_port":5004})");
    const auto reg = std::get<RegisteredData>(port.sent<OkReply>(s, ReplyKind::registered).at(0).data);
    SecretKey key;
    REQUIRE(from_hex(reg.media_token, key.bytes));
    return key;
  }
  static std::vector<uint8_t> packet(const RelayLegId& leg, std::size_t payload = 120) {
    std::vector<uint8_t> p(relay_header_bytes + payload, 0x80);
    p[0] = relay_marker;
    p[1] = relay_version;
    std::copy(leg.begin(), leg.end(), p.begin() + 2);
    return p;
  }
};

const MediaEndpoint alice_at{"198.51.100.1", 40000};
const MediaEndpoint bob_at{"203.0.113.2", 50000};

}  // namespace

TEST_CASE("host relay: call_connected names the relay's port, each leg reaches the other", "[host][relay]") {
  CallRig r;
  const auto connected = r.port.sent<CallConnected>(r.alice);
  REQUIRE(connected.size() == 1);
  CHECK(connected[0].relay_port == std::optional<uint16_t>(7701));
  const RelayLegId alice_leg = relay_leg_id(r.alice_key, r.call_id);
  const RelayLegId bob_leg = relay_leg_id(r.bob_key, r.call_id);
  CHECK(alice_leg != bob_leg);
  r.host.datagram(r.now, bob_at, CallRig::packet(bob_leg));  // binds bob; alice not yet heard from
  CHECK(r.port.datagrams.empty());
  // Alice has sent nothing: her tunnel is the one way to her known to work.
  REQUIRE(r.port.tunnel_frames.size() == 1);
  CHECK(r.port.tunnel_frames[0].first == r.alice);
  CHECK(r.port.tunnel_frames[0].second == CallRig::packet(alice_leg));
  r.host.datagram(r.now, alice_at, CallRig::packet(alice_leg));
  REQUIRE(r.port.datagrams.size() == 1);
  CHECK(r.port.datagrams[0].first == bob_at);
  CHECK(r.port.datagrams[0].second == CallRig::packet(bob_leg));  // bob's own leg id, the payload as sent
  r.host.datagram(r.now, bob_at, CallRig::packet(bob_leg, 80));
  REQUIRE(r.port.datagrams.size() == 2);
  CHECK(r.port.datagrams[1].first == alice_at);
  CHECK(r.port.datagrams[1].second == CallRig::packet(alice_leg, 80));
  CHECK(r.host.stats().relay_forwarded == 3);
  CHECK(r.host.stats().tunnel_frames_out == 1);
}

TEST_CASE("host relay: tunnel frames on a session's connection reach the peer, and answer bindings there",
          "[host][relay]") {
  CallRig r;
  const RelayLegId alice_leg = relay_leg_id(r.alice_key, r.call_id);
  const RelayLegId bob_leg = relay_leg_id(r.bob_key, r.call_id);
  // Both on their tunnels (UDP blocked for both): packets go frame to frame.
  r.host.frame(r.now, r.alice, CallRig::packet(alice_leg, 90));
  r.host.frame(r.now, r.bob, CallRig::packet(bob_leg, 70));
  REQUIRE(r.port.tunnel_frames.size() == 2);
  CHECK(r.port.tunnel_frames[0] == std::pair(r.bob, CallRig::packet(bob_leg, 90)));
  CHECK(r.port.tunnel_frames[1] == std::pair(r.alice, CallRig::packet(alice_leg, 70)));
  CHECK(r.port.datagrams.empty());
  CHECK(r.host.stats().tunnel_frames_in == 2);
  // A binding over the tunnel comes back over it.
  r.host.frame(r.now, r.alice, relay_binding(alice_leg));
  REQUIRE(r.port.tunnel_frames.size() == 3);
  CHECK(r.port.tunnel_frames[2] == std::pair(r.alice, relay_binding(alice_leg)));
  CHECK(r.host.stats().relay_answered == 1);
  // Bob's connection naming alice's leg: no leg of his; dropped, counted, nobody told.
  r.host.frame(r.now, r.bob, CallRig::packet(alice_leg));
  CHECK(r.host.stats().relay_unknown_leg == 1);
  CHECK(r.port.tunnel_frames.size() == 3);
  CHECK(r.port.sent<RelayDropped>(r.bob).empty());
  // An oversized frame from alice: dropped, and she is told.
  r.host.frame(r.now, r.alice, CallRig::packet(alice_leg, 5000));
  CHECK(r.port.sent<RelayDropped>(r.alice) == std::vector<RelayDropped>{{r.call_id, RelayDropReason::oversized}});
  CHECK(r.host.stats().datagrams_ignored == 0);  // frames are not datagrams
}

TEST_CASE("host relay: after hangup a leg's packets go nowhere, and are counted", "[host][relay]") {
  CallRig r;
  const RelayLegId alice_leg = relay_leg_id(r.alice_key, r.call_id);
  const RelayLegId bob_leg = relay_leg_id(r.bob_key, r.call_id);
  r.host.datagram(r.now, bob_at, CallRig::packet(bob_leg));
  r.host.text(r.now, r.alice, R"({"type":"hangup","id":3})");
  r.host.datagram(r.now, alice_at, CallRig::packet(alice_leg));
  r.host.frame(r.now, r.alice, CallRig::packet(alice_leg));
  CHECK(r.port.datagrams.empty());
  CHECK(r.port.tunnel_frames.size() == 1);  // bob's packet, to alice's tunnel while the call was up
  CHECK(r.host.stats().relay_unknown_leg == 2);
  // A leg id of a call that never was (a guess, another call's key with this id) is unknown too.
  r.host.datagram(r.now, alice_at, CallRig::packet(relay_leg_id(r.alice_key, r.call_id + 1)));
  CHECK(r.host.stats().relay_unknown_leg == 3);
  CHECK(r.port.datagrams.empty());
}

TEST_CASE("host relay: a leg over its size or its rate is told once a second, the peer is untouched", "[host][relay]") {
  CallRig r;
  const RelayLegId alice_leg = relay_leg_id(r.alice_key, r.call_id);
  const RelayLegId bob_leg = relay_leg_id(r.bob_key, r.call_id);
  r.host.datagram(r.now, bob_at, CallRig::packet(bob_leg));
  r.host.datagram(r.now, alice_at, CallRig::packet(alice_leg, 5000));  // oversized
  CHECK(r.port.sent<RelayDropped>(r.alice) == std::vector<RelayDropped>{{r.call_id, RelayDropReason::oversized}});
  CHECK(r.port.sent<RelayDropped>(r.bob).empty());
  for (int i = 0; i < 150; ++i) r.host.datagram(r.now, alice_at, CallRig::packet(alice_leg));  // 10x a call's rate
  CHECK(r.host.stats().relay_forwarded == 100 + 1);  // a second's burst, and bob's first to alice's tunnel
  CHECK(r.host.stats().relay_too_fast == 50);
  CHECK(r.port.sent<RelayDropped>(r.alice).size() == 1);  // told already within this second
  r.now = Time{999'999};
  r.host.datagram(r.now, alice_at, CallRig::packet(alice_leg, 5000));
  CHECK(r.port.sent<RelayDropped>(r.alice).size() == 1);  // not a microsecond early
  r.now = Time{1'000'000};
  r.host.datagram(r.now, alice_at, CallRig::packet(alice_leg, 5000));
  CHECK(r.port.sent<RelayDropped>(r.alice).size() == 2);
  CHECK(r.host.stats().relay_told == 2);
  // Bob's leg has its own budget: his packets still reach alice.
  const std::size_t before = r.port.datagrams.size();
  r.host.datagram(r.now, bob_at, CallRig::packet(bob_leg));
  CHECK(r.port.datagrams.size() == before + 1);
}

TEST_CASE("host relay: without a UDP port there is no relay and call_connected says so", "[host][relay]") {
  CallRig r(Config{});
  CHECK(r.port.sent<CallConnected>(r.alice).at(0).relay_port == std::nullopt);
  r.host.datagram(r.now, alice_at, CallRig::packet(relay_leg_id(r.alice_key, r.call_id)));
  CHECK(r.host.stats().relay_unknown_leg == 1);
  CHECK(r.port.datagrams.empty());
}

TEST_CASE("host relay: a tunnel frame of no call of the sender's is told not_in_call once a second", "[host][relay]") {
  CallRig r;
  const RelayLegId alice_leg = relay_leg_id(r.alice_key, r.call_id);
  r.host.text(r.now, r.alice, R"({"type":"hangup","id":3})");
  auto told = [&] {
    std::size_t n = 0;
    for (const ErrorReply& e : r.port.sent<ErrorReply>(r.alice)) n += e.code == ErrorCode::not_in_call && !e.id;
    return n;
  };
  r.host.frame(r.now, r.alice, CallRig::packet(alice_leg));  // the call has ended
  CHECK(told() == 1);
  r.now = Time{999'999};
  r.host.frame(r.now, r.alice, CallRig::packet(alice_leg));
  CHECK(told() == 1);  // not a microsecond early
  r.now = Time{1'000'000};
  r.host.frame(r.now, r.alice, CallRig::packet(alice_leg));
  CHECK(told() == 2);
  CHECK(r.host.stats().tunnel_told_no_call == 2);
  CHECK(r.host.stats().relay_unknown_leg == 3);
  // A datagram of no call names nobody: nothing is told.
  r.host.datagram(r.now, alice_at, CallRig::packet(alice_leg));
  CHECK(told() == 2);
}
