#include "media/rtp.hpp"

#include <catch2/catch.hpp>

using namespace hailer;

TEST_CASE("RTP header round-trips with marker, sequence, timestamp and SSRC", "[rtp]") {
  const RtpHeader h{true, 111, 65535, 0xFFFFFC40u, 0xDEADBEEFu};
  const std::vector<uint8_t> payload{1, 2, 3};
  const auto datagram = rtp_encode(h, payload);
  REQUIRE(datagram.size() == rtp_header_bytes + 3);
  CHECK(datagram[0] == 0x80);
  const auto parsed = rtp_parse(datagram);
  REQUIRE(parsed.has_value());
  CHECK(parsed->header == h);
  CHECK(std::vector<uint8_t>(parsed->payload.begin(), parsed->payload.end()) == payload);
}

TEST_CASE("RTP parse honours CSRCs, extensions and padding and refuses malformed datagrams", "[rtp]") {
  std::vector<uint8_t> d{0xB1, 111,  0, 1, 0, 0, 0, 2, 0, 0, 0, 3,  // V=2 P=1 X=1 CC=1
                         0,    0,    0, 9,                          // CSRC
                         0xBE, 0xDE, 0, 1, 1, 2, 3, 4,              // extension, one word
                         42,   43,   0, 2};                         // payload 42 43, 2 bytes padding
  auto p = rtp_parse(d);
  REQUIRE(p.has_value());
  CHECK(p->payload.size() == 2);
  CHECK(p->payload[0] == 42);
  CHECK_FALSE(rtp_parse(std::vector<uint8_t>(11, 0x80)).has_value());  // too short
  d[0] = 0x40;                                                         // version 1
  CHECK_FALSE(rtp_parse(d).has_value());
  std::vector<uint8_t> bad_csrc{0x8F, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};  // 15 CSRCs missing
  CHECK_FALSE(rtp_parse(bad_csrc).has_value());
  std::vector<uint8_t> bad_pad{0xA0, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9};  // padding > payload
  CHECK_FALSE(rtp_parse(bad_pad).has_value());
}

TEST_CASE("sequence and timestamp arithmetic wraps", "[rtp]") {
  CHECK(sequence_delta(65535, 0) == 1);
  CHECK(sequence_delta(0, 65535) == -1);
  CHECK(sequence_delta(100, 90) == -10);
  CHECK(timestamp_delta(0xFFFFFC40u, 0x00000000u) == 960);
}

TEST_CASE("the sender numbers packets and marks talk-spurt starts", "[rtp]") {
  RtpSender s(7, 65535, 100, 960);
  const auto a = s.next(true);
  const auto b = s.next(false);
  s.skip_frame();
  const auto c = s.next(true);
  CHECK(a.marker);
  CHECK_FALSE(b.marker);
  CHECK(b.sequence == 0);
  CHECK(b.timestamp == 1060);
  CHECK(c.sequence == 1);
  CHECK(c.timestamp == 100 + 3 * 960);
  CHECK(c.ssrc == 7);
}
