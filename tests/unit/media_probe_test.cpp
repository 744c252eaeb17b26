// The UDP media proof: its text, its MAC (HMAC-SHA256 truncated to 128 bits, pinned against an
// independent computation), and everything that is not a proof.
#include "protocol/media_probe.hpp"

#include <catch2/catch.hpp>

using namespace hailer;

namespace {
SecretKey key_of(const std::string& hex) {
  SecretKey k;
  REQUIRE(from_hex(hex, k.bytes));
  return k;
}
}  // namespace

TEST_CASE("a proof is the id, the counter and a MAC, and parses back", "[media_probe]") {
  const SecretKey key = key_of("000102030405060708090a0b0c0d0e0f");
  const std::string text = encode_media_probe(key, 0x0123456789abcdefULL, 42);
  // python3 -c "import hmac,hashlib; print(hmac.new(bytes(range(16)),
  //   b'hailer-probe 0123456789abcdef 42', hashlib.sha256).hexdigest()[:32])"
  CHECK(text == "hailer-probe 0123456789abcdef 42 b40d5fc12bf110a4708865498482918f");
  const auto p = parse_media_probe(text);
  REQUIRE(p.has_value());
  CHECK(p->media_id == 0x0123456789abcdefULL);
  CHECK(p->counter == 42);
  CHECK(verify_media_probe(key, *p));
}

TEST_CASE("a proof verifies only under its own key, id and counter", "[media_probe]") {
  const SecretKey key = key_of("00112233445566778899aabbccddeeff");
  const auto p = parse_media_probe(encode_media_probe(key, 7, 1));
  REQUIRE(p.has_value());
  SecretKey other = key;
  other.bytes[15] ^= 0x80;
  CHECK_FALSE(verify_media_probe(other, *p));
  MediaProbeDatagram moved = *p;
  moved.counter = 2;
  CHECK_FALSE(verify_media_probe(key, moved));
  moved = *p;
  moved.media_id = 8;
  CHECK_FALSE(verify_media_probe(key, moved));
  moved = *p;
  moved.mac[0] ^= 1;
  CHECK_FALSE(verify_media_probe(key, moved));
}

TEST_CASE("anything else on the rendezvous port is not a proof", "[media_probe]") {
  const std::string mac(32, 'a');
  for (const std::string& bad :
       {std::string(""), std::string("GET / HTTP/1.1"),
        std::string("hailer-probe 5f1c0a9e33b2d417"),                                             // the old, bare token
        std::string("hailer-probe 0123456789abcdef 1"), "hailer-probe 0123456789abcde 1 " + mac,  // short id
        "hailer-probe 0123456789abcdeg 1 " + mac, "hailer-probe 0123456789abcdef -1 " + mac,
        "hailer-probe 0123456789abcdef 01 " + mac, "hailer-probe 0123456789abcdef  1 " + mac,
        "hailer-probe 0123456789abcdef 18446744073709551616 " + mac,  // 2^64
        "hailer-probe 0123456789abcdef 1 " + mac.substr(1), "hailer-probe 0123456789abcdef 1 " + mac + "0",
        "hailer-probe 0123456789abcdef 1 " + mac + " ", "hailer-probe 0123456789abcdef 1 " + std::string(200, 'a')}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_media_probe(bad).has_value());
  }
  CHECK(parse_media_probe("hailer-probe 0123456789abcdef 18446744073709551615 " + mac).has_value());  // 2^64 - 1
  CHECK(parse_media_probe("hailer-probe 0123456789ABCDEF 0 " + mac).has_value());
}
