// The call relay: forwards only between the two legs of a live call, rewrites the leg id for the
// recipient, and drops (and counts) what is malformed, unknown, oversized or too fast.
#include <catch2/catch.hpp>

#include <utility>
#include <vector>

#include "host/relay.hpp"

using namespace hailer;

namespace {
RelayLegId leg(uint8_t fill) {
  RelayLegId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(fill + i * 17);
  return id;
}

std::vector<uint8_t> packet(const RelayLegId& id, std::size_t payload_bytes = 100) {
  std::vector<uint8_t> p(relay_header_bytes + payload_bytes, 0x80);
  p[0] = relay_marker;
  p[1] = relay_version;
  std::copy(id.begin(), id.end(), p.begin() + 2);
  return p;
}

RelayLegId leg_in(const std::vector<uint8_t>& p) {
  RelayLegId id{};
  std::copy_n(p.begin() + 2, id.size(), id.begin());
  return id;
}

RelayHop udp(MediaEndpoint endpoint) { return RelayHop{false, std::move(endpoint), SessionId{}}; }
RelayHop tunnel(SessionId session) { return RelayHop{true, MediaEndpoint{}, session}; }

const RelayHop alice = udp({"198.51.100.7", 40000});
const RelayHop bob = udp({"203.0.113.9", 50000});

std::size_t dropped(const Relay& r, RelayDrop why) { return r.stats().dropped[static_cast<std::size_t>(why)]; }
}  // namespace

TEST_CASE("relay: each leg's packets reach the other leg, with the recipient's own leg id", "[relay]") {
  Relay r;
  REQUIRE(r.open(7, leg(1), SessionId{1}, leg(2), SessionId{2}));
  auto first = packet(leg(1));
  // Bob has not sent yet: alice's first packet reaches him over his tunnel, the one way known.
  const RelayVerdict early = r.receive(Time{0}, alice, first);
  REQUIRE_FALSE(early.drop.has_value());
  CHECK(early.to == tunnel(SessionId{2}));
  CHECK(early.sender == SessionId{1});
  auto from_bob = packet(leg(2), 60);
  const RelayVerdict to_alice = r.receive(Time{0}, bob, from_bob);
  REQUIRE_FALSE(to_alice.drop.has_value());
  CHECK(to_alice.to == alice);
  CHECK(to_alice.call_id == 7);
  CHECK(leg_in(from_bob) == leg(1));  // alice sees her own id, never bob's
  CHECK(from_bob.size() == relay_header_bytes + 60);
  auto from_alice = packet(leg(1));
  const RelayVerdict to_bob = r.receive(Time{0}, alice, from_alice);
  REQUIRE_FALSE(to_bob.drop.has_value());
  CHECK(to_bob.to == bob);
  CHECK(leg_in(from_alice) == leg(2));
  CHECK(r.stats().forwarded == 3);
  CHECK(r.stats().rebinds == 0);  // a first packet binds; it moves nothing
  r.check_invariants();
}

TEST_CASE("relay: packets of an ended call, of no call, and malformed ones are dropped and counted", "[relay]") {
  Relay r;
  REQUIRE(r.open(7, leg(1), SessionId{1}, leg(2), SessionId{2}));
  auto b = packet(leg(2));
  r.receive(Time{0}, bob, b);
  r.close(7);
  r.close(7);  // idempotent
  auto late = packet(leg(1));
  const RelayVerdict v = r.receive(Time{0}, alice, late);
  CHECK(v.drop == RelayDrop::unknown_leg);
  CHECK_FALSE(v.sender.has_value());  // an unknown leg names nobody
  // A guess that shares the first 8 bytes of a live leg is still unknown: the whole id counts.
  REQUIRE(r.open(8, leg(3), SessionId{3}, leg(4), SessionId{4}));
  RelayLegId near = leg(3);
  near[15] ^= 1;
  auto guess = packet(near);
  CHECK(r.receive(Time{0}, alice, guess).drop == RelayDrop::unknown_leg);
  for (std::vector<uint8_t> bad : {std::vector<uint8_t>{}, std::vector<uint8_t>{relay_marker},
                                   std::vector<uint8_t>(relay_header_bytes - 1, relay_marker), packet(leg(3))}) {
    if (bad.size() == relay_header_bytes + 100) bad[1] = 2;  // a version we do not speak
    CHECK(r.receive(Time{0}, alice, bad).drop == RelayDrop::malformed);
  }
  auto rtp = packet(leg(3));
  rtp[0] = 0x80;  // a plain RTP packet is not a relay packet
  CHECK(r.receive(Time{0}, alice, rtp).drop == RelayDrop::malformed);
  CHECK(dropped(r, RelayDrop::unknown_leg) == 2);
  CHECK(dropped(r, RelayDrop::malformed) == 5);
  CHECK(r.stats().forwarded == 1);  // bob's, to alice's tunnel while the call was up
}

TEST_CASE("relay: another call's leg id reaches that call only", "[relay]") {
  Relay r;
  REQUIRE(r.open(7, leg(1), SessionId{1}, leg(2), SessionId{2}));
  REQUIRE(r.open(8, leg(3), SessionId{3}, leg(4), SessionId{4}));
  const RelayHop carol = udp({"192.0.2.3", 1111}), dave = udp({"192.0.2.4", 2222});
  auto c = packet(leg(3));
  auto d = packet(leg(4));
  r.receive(Time{0}, carol, c);
  r.receive(Time{0}, dave, d);
  auto a = packet(leg(1));
  r.receive(Time{0}, alice, a);
  // Mallory, in call 7 as bob, sends with call 8's leg 3: it goes to leg 4 (dave), as leg 3's
  // packets would; call 7 never sees it, and leg 3 is now bound to mallory. Leg ids are the
  // capability: each is told only to its own client, over TLS.
  const RelayHop mallory = udp({"198.51.100.66", 6666});
  auto m = packet(leg(3));
  const RelayVerdict v = r.receive(Time{0}, mallory, m);
  CHECK(v.to == dave);
  CHECK(v.call_id == 8);
  CHECK(r.stats().rebinds == 1);
}

TEST_CASE("relay: oversized packets and packets past twice a call's rate are dropped, the leg is named", "[relay]") {
  Relay r;
  REQUIRE(r.open(7, leg(1), SessionId{1}, leg(2), SessionId{2}));
  auto b = packet(leg(2));
  r.receive(Time{0}, bob, b);
  auto big = packet(leg(1), relay_max_datagram_bytes - relay_header_bytes + 1);
  const RelayVerdict v = r.receive(Time{0}, alice, big);
  CHECK(v.drop == RelayDrop::oversized);
  CHECK(v.sender == SessionId{1});
  auto largest = packet(leg(1), relay_max_datagram_bytes - relay_header_bytes);
  CHECK_FALSE(r.receive(Time{0}, alice, largest).drop.has_value());
  // A second's burst of 100 (one spent above), then nothing until the next token: 10 ms later.
  for (int i = 0; i < 99; ++i) {
    auto p = packet(leg(1));
    REQUIRE_FALSE(r.receive(Time{0}, alice, p).drop.has_value());
  }
  auto over = packet(leg(1));
  CHECK(r.receive(Time{0}, alice, over).drop == RelayDrop::too_fast);
  auto just_before = packet(leg(1));
  CHECK(r.receive(Time{9'999}, alice, just_before).drop == RelayDrop::too_fast);
  auto at = packet(leg(1));
  CHECK_FALSE(r.receive(Time{10'000}, alice, at).drop.has_value());
  // Bob's leg has a budget of its own.
  auto from_bob = packet(leg(2));
  CHECK_FALSE(r.receive(Time{10'000}, bob, from_bob).drop.has_value());
  CHECK(dropped(r, RelayDrop::too_fast) == 2);
  CHECK(dropped(r, RelayDrop::oversized) == 1);
}

TEST_CASE("relay: a NAT rebinding moves the leg, a dropped packet does not", "[relay]") {
  Relay r;
  REQUIRE(r.open(7, leg(1), SessionId{1}, leg(2), SessionId{2}));
  auto a = packet(leg(1));
  r.receive(Time{0}, alice, a);
  const RelayHop alice_moved = udp({"198.51.100.7", 40001});
  auto big = packet(leg(1), 5000);
  r.receive(Time{0}, alice_moved, big);  // oversized: the binding stays
  auto b = packet(leg(2));
  CHECK(r.receive(Time{0}, bob, b).to == alice);
  auto moved = packet(leg(1));
  r.receive(Time{0}, alice_moved, moved);
  auto b2 = packet(leg(2));
  CHECK(r.receive(Time{0}, bob, b2).to == alice_moved);
  CHECK(r.stats().rebinds == 1);
}

TEST_CASE("relay: a tunnel frame counts from the leg's own session only, and moves the leg to the tunnel", "[relay]") {
  Relay r;
  REQUIRE(r.open(7, leg(1), SessionId{1}, leg(2), SessionId{2}));
  REQUIRE(r.open(8, leg(3), SessionId{3}, leg(4), SessionId{4}));
  // Session 3 names leg 1 on its own tunnel: no such leg for it, dropped, nobody named.
  auto stolen = packet(leg(1));
  const RelayVerdict v = r.receive(Time{0}, tunnel(SessionId{3}), stolen);
  CHECK(v.drop == RelayDrop::unknown_leg);
  CHECK_FALSE(v.sender.has_value());
  // Alice on UDP, then her UDP is blocked: her packets come over her tunnel and bob's follow.
  auto a = packet(leg(1));
  r.receive(Time{0}, alice, a);
  auto b = packet(leg(2));
  CHECK(r.receive(Time{0}, bob, b).to == alice);
  auto a_tunnel = packet(leg(1));
  const RelayVerdict via_tunnel = r.receive(Time{20'000}, tunnel(SessionId{1}), a_tunnel);
  REQUIRE_FALSE(via_tunnel.drop.has_value());
  CHECK(via_tunnel.to == bob);
  auto b2 = packet(leg(2));
  CHECK(r.receive(Time{20'000}, bob, b2).to == tunnel(SessionId{1}));
  CHECK(r.stats().rebinds == 1);
  // Oversized and too fast count on the tunnel as on UDP (one budget per leg).
  auto big = packet(leg(1), relay_max_datagram_bytes - relay_header_bytes + 1);
  CHECK(r.receive(Time{20'000}, tunnel(SessionId{1}), big).drop == RelayDrop::oversized);
  r.check_invariants();
}

TEST_CASE("relay: a binding packet is answered where it came from and moves only a leg not on its tunnel", "[relay]") {
  Relay r;
  REQUIRE(r.open(7, leg(1), SessionId{1}, leg(2), SessionId{2}));
  // Fresh: the binding binds alice's leg to her UDP address and comes back to it unchanged.
  auto binding = relay_binding(leg(1));
  const RelayVerdict v = r.receive(Time{0}, alice, binding);
  REQUIRE_FALSE(v.drop.has_value());
  CHECK(v.answer);
  CHECK(v.to == alice);
  CHECK(binding == relay_binding(leg(1)));
  auto b = packet(leg(2));
  CHECK(r.receive(Time{0}, bob, b).to == alice);
  CHECK(r.stats().forwarded == 1);  // the answer is not a forward
  CHECK(r.stats().answered == 1);
  // Alice falls back to her tunnel; a binding from a new UDP address (the way back up being
  // probed) is answered but leaves her audio on the tunnel until a packet comes over UDP.
  auto t = packet(leg(1));
  r.receive(Time{0}, tunnel(SessionId{1}), t);
  const RelayHop alice_new = udp({"198.51.100.7", 40002});
  auto probe = relay_binding(leg(1));
  CHECK(r.receive(Time{0}, alice_new, probe).to == alice_new);
  auto b2 = packet(leg(2));
  CHECK(r.receive(Time{0}, bob, b2).to == tunnel(SessionId{1}));
  auto up = packet(leg(1));
  r.receive(Time{0}, alice_new, up);
  auto b3 = packet(leg(2));
  CHECK(r.receive(Time{0}, bob, b3).to == alice_new);
  // A binding over the tunnel is answered over it and moves nothing.
  auto over_tunnel = relay_binding(leg(1));
  CHECK(r.receive(Time{0}, tunnel(SessionId{1}), over_tunnel).to == tunnel(SessionId{1}));
  auto b4 = packet(leg(2));
  CHECK(r.receive(Time{0}, bob, b4).to == alice_new);
}

TEST_CASE("relay: at most max_calls at once, a call's slot comes back when it closes", "[relay][limits]") {
  RelayLimits limits;
  limits.max_calls = 1;
  Relay r(limits);
  REQUIRE(r.open(7, leg(1), SessionId{1}, leg(2), SessionId{2}));
  CHECK_FALSE(r.open(8, leg(3), SessionId{3}, leg(4), SessionId{4}));
  CHECK(r.calls() == 1);
  r.close(7);
  CHECK(r.open(8, leg(3), SessionId{3}, leg(4), SessionId{4}));
  r.check_invariants();
}
