// A call's path: the tunnel at once, the relay's UDP port while it answers bindings, direct as soon
// as its consent comes (and back to it after a blip, never stuck lower), held with no relay; the
// binding packets' pace; the relay's and the tunnel's framing on the client's side.
#include <catch2/catch.hpp>

#include <string>

#include "client/media_path.hpp"
#include "protocol/relay_packet.hpp"

using namespace hailer;

TEST_CASE("media path: the tunnel first, the relay once it answers, direct once consent comes, and down and up again",
          "[media_path]") {
  MediaPath p(true);
  CHECK(p.route(Time{0}, false) == MediaPathKind::tunnel);  // the first packet already goes
  CHECK(p.take_change()->to == MediaPathKind::tunnel);
  CHECK_FALSE(p.take_change().has_value());  // told once
  p.relay_answered(Time::from_ms(5));
  CHECK(p.route(Time::from_ms(20), false) == MediaPathKind::relay);  // up as soon as the relay answered
  const auto up = p.take_change();
  REQUIRE(up.has_value());
  CHECK((up->from == MediaPathKind::tunnel && up->to == MediaPathKind::relay));
  CHECK(p.route(Time::from_ms(40), true) == MediaPathKind::direct);      // consent came: straight up
  CHECK(p.route(Time::from_ms(5'000), false) == MediaPathKind::tunnel);  // consent and relay lapsed: down, not held
  p.relay_answered(Time::from_ms(6'000));
  CHECK(p.route(Time::from_ms(6'020), false) == MediaPathKind::relay);
  CHECK(p.route(Time::from_ms(9'000), true) == MediaPathKind::direct);  // and up again: never stuck
  CHECK(p.switches() == 5);
  CHECK(p.packets_on(MediaPathKind::tunnel) == 2);
  CHECK(p.packets_on(MediaPathKind::relay) == 2);
  CHECK(p.packets_on(MediaPathKind::direct) == 2);
  CHECK(p.current() == MediaPathKind::direct);
  CHECK(std::string(to_string(p.current())) == "direct");
  CHECK(std::string(to_string(MediaPathKind::tunnel)) == "tunnel");
}

TEST_CASE("media path: the relay's proof lasts 750 ms after its last answer", "[media_path]") {
  MediaPath p(true);
  CHECK_FALSE(p.relay_proven(Time{0}));
  p.relay_answered(Time::from_ms(1'000));
  CHECK(p.relay_proven(Time::from_ms(1'749)));
  CHECK(p.route(Time::from_ms(1'749), false) == MediaPathKind::relay);
  CHECK_FALSE(p.relay_proven(Time::from_ms(1'750)));
  CHECK(p.route(Time::from_ms(1'750), false) == MediaPathKind::tunnel);
}

TEST_CASE("media path: a direct path is fresh for 1.7 s after the peer's last consent answer", "[media_path]") {
  CHECK_FALSE(MediaPath::direct_fresh(Time{0}, std::nullopt));
  CHECK(MediaPath::direct_fresh(Time::from_ms(2'699), Time::from_ms(1'000)));
  CHECK_FALSE(MediaPath::direct_fresh(Time::from_ms(2'700), Time::from_ms(1'000)));
}

TEST_CASE("media path: without a relay, nothing goes until direct consent, and no binding is sent", "[media_path]") {
  MediaPath p(false);
  CHECK(p.route(Time{0}, false) == MediaPathKind::none);
  CHECK(p.packets_on(MediaPathKind::none) == 1);
  CHECK_FALSE(p.binding_due(Time{0}));
  CHECK(p.route(Time::from_ms(20), true) == MediaPathKind::direct);
  CHECK(p.switches() == 0);  // from held to direct is a start, not a switch
  CHECK_FALSE(p.relayed());
}

TEST_CASE("media path: bindings every 250 ms below direct, every 2 s on direct", "[media_path]") {
  MediaPath p(true);
  CHECK(p.binding_due(Time{0}));  // never sent: probe now
  p.binding_sent(Time{0});
  CHECK(p.route(Time::from_ms(10), false) == MediaPathKind::tunnel);
  CHECK_FALSE(p.binding_due(Time::from_ms(249)));
  CHECK(p.binding_due(Time::from_ms(250)));
  p.binding_sent(Time::from_ms(250));
  CHECK(p.route(Time::from_ms(260), true) == MediaPathKind::direct);
  CHECK_FALSE(p.binding_due(Time::from_ms(2'249)));
  CHECK(p.binding_due(Time::from_ms(2'250)));
}

TEST_CASE("relay framing: wrap for a leg, unwrap only what names our own leg", "[media_path]") {
  RelayLegId mine{}, theirs{};
  mine.fill(7);
  theirs.fill(7);
  theirs[15] = 8;
  const std::vector<uint8_t> srtp{0x80, 0x6f, 1, 2, 3};
  const std::vector<uint8_t> wrapped = relay_wrap(mine, srtp);
  REQUIRE(wrapped.size() == relay_header_bytes + srtp.size());
  CHECK(wrapped[0] == relay_marker);
  CHECK(wrapped[1] == relay_version);
  const auto inner = relay_unwrap(mine, wrapped);
  REQUIRE(inner.has_value());
  CHECK(std::vector<uint8_t>(inner->begin(), inner->end()) == srtp);
  CHECK_FALSE(relay_unwrap(theirs, wrapped).has_value());  // another leg's
  CHECK_FALSE(relay_unwrap(mine, srtp).has_value());       // plain RTP
  std::vector<uint8_t> wrong_version = wrapped;
  wrong_version[1] = 2;
  CHECK_FALSE(relay_unwrap(mine, wrong_version).has_value());
  const std::vector<uint8_t> short_one(wrapped.begin(), wrapped.begin() + relay_header_bytes - 1);
  CHECK_FALSE(relay_unwrap(mine, short_one).has_value());
  CHECK(relay_unwrap(mine, relay_wrap(mine, {}))->empty());  // a binding packet: the header alone
  CHECK(is_relay_binding(relay_binding(mine)));
  CHECK_FALSE(is_relay_binding(wrapped));
}

TEST_CASE("tunnel framing: the lead, the length big endian, then the relay datagram", "[media_path]") {
  RelayLegId mine{};
  mine.fill(3);
  const std::vector<uint8_t> datagram = relay_wrap(mine, std::vector<uint8_t>(300, 0x80));
  const std::string frame = tunnel_frame(datagram);
  REQUIRE(frame.size() == tunnel_prefix_bytes + datagram.size());
  CHECK(static_cast<uint8_t>(frame[0]) == tunnel_lead);
  CHECK(static_cast<uint8_t>(frame[1]) == (datagram.size() >> 8));
  CHECK(static_cast<uint8_t>(frame[2]) == (datagram.size() & 0xFF));
  CHECK(std::equal(datagram.begin(), datagram.end(), frame.begin() + tunnel_prefix_bytes,
                   [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); }));
}
