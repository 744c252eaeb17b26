// A call's path: the relay while the direct path is unproven, direct as soon as its consent comes
// (and back to it after a blip, never stuck on the relay), held with neither; the relay leg kept
// bound; the relay's framing on the client's side.
#include <catch2/catch.hpp>

#include "client/media_path.hpp"
#include "protocol/relay_packet.hpp"

using namespace hailer;

TEST_CASE("media path: the relay first, direct once its consent comes, back to the relay on a lapse, and up again",
          "[media_path]") {
  MediaPath p(true);
  CHECK(p.route(Time{0}, false) == MediaPathKind::relay);  // the first packet already goes
  CHECK(p.take_change()->to == MediaPathKind::relay);
  CHECK_FALSE(p.take_change().has_value());  // told once
  CHECK(p.route(Time::from_ms(20), false) == MediaPathKind::relay);
  CHECK_FALSE(p.take_change().has_value());
  CHECK(p.route(Time::from_ms(40), true) == MediaPathKind::direct);  // consent came: straight up
  const auto up = p.take_change();
  REQUIRE(up.has_value());
  CHECK((up->from == MediaPathKind::relay && up->to == MediaPathKind::direct));
  CHECK(p.route(Time::from_ms(5'000), false) == MediaPathKind::relay);  // consent lapsed: down, not held
  CHECK(p.route(Time::from_ms(9'000), true) == MediaPathKind::direct);  // and up again: never stuck
  CHECK(p.switches() == 3);
  CHECK(p.packets_on(MediaPathKind::relay) == 3);
  CHECK(p.packets_on(MediaPathKind::direct) == 2);
  CHECK(p.current() == MediaPathKind::direct);
  CHECK(std::string(to_string(p.current())) == "direct");
}

TEST_CASE("media path: without a relay, nothing goes until direct consent", "[media_path]") {
  MediaPath p(false);
  CHECK(p.route(Time{0}, false) == MediaPathKind::none);
  CHECK(p.packets_on(MediaPathKind::none) == 1);
  CHECK_FALSE(p.relay_keepalive_due(Time{0}));
  CHECK(p.route(Time::from_ms(20), true) == MediaPathKind::direct);
  CHECK(p.switches() == 0);  // from held to direct is a start, not a switch
}

TEST_CASE("media path: the relay leg is refreshed every 2 s while nothing else goes on it", "[media_path]") {
  MediaPath p(true);
  CHECK(p.relay_keepalive_due(Time{0}));  // never sent: bind it now
  p.relay_sent(Time{0});
  CHECK(p.route(Time::from_ms(10), true) == MediaPathKind::direct);
  CHECK_FALSE(p.relay_keepalive_due(Time::from_ms(1'999)));
  CHECK(p.relay_keepalive_due(Time::from_ms(2'000)));
  // Media on the relay is a refresh too.
  CHECK(p.route(Time::from_ms(2'000), false) == MediaPathKind::relay);
  CHECK_FALSE(p.relay_keepalive_due(Time::from_ms(3'999)));
  CHECK(p.relay_keepalive_due(Time::from_ms(4'000)));
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
}
