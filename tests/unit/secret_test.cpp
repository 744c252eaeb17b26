// Secrets handed to the core: stand-ins that reproduce, hex both ways, constant-time equality.
#include "base/secret.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace hailer;

TEST_CASE("seeded stand-ins reproduce from their seed and differ between sessions", "[secret]") {
  SeededSecrets a(9), b(9), c(10);
  const SessionSecrets first = a.session_secrets();
  CHECK(first == b.session_secrets());
  CHECK_FALSE(first == c.session_secrets());
  CHECK_FALSE(first == a.session_secrets());
  CHECK(stand_in_secrets(3) == stand_in_secrets(3));
  CHECK_FALSE(stand_in_secrets(3) == stand_in_secrets(4));
  std::set<uint64_t> ids;
  for (uint64_t s = 1; s <= 1000; ++s) ids.insert(stand_in_secrets(s).media_id);
  CHECK(ids.size() == 1000);
}

TEST_CASE("hex: lowercase out, either case in, wrong lengths and digits refused", "[secret]") {
  const std::array<uint8_t, 4> bytes{0x00, 0x9f, 0xa0, 0xff};
  CHECK(to_hex(bytes) == "009fa0ff");
  std::array<uint8_t, 4> back{};
  CHECK(from_hex("009FA0ff", back));
  CHECK(back == bytes);
  CHECK_FALSE(from_hex("009fa0f", back));
  CHECK_FALSE(from_hex("009fa0ff00", back));
  CHECK_FALSE(from_hex("009fa0fg", back));
  CHECK_FALSE(from_hex("009fa0f ", back));
}

TEST_CASE("constant-time equality: equal only for the same bytes and length, wherever they differ", "[secret]") {
  const std::string token = "0123456789abcdef0123456789abcdef";
  CHECK(constant_time_equal(token, token));
  CHECK_FALSE(constant_time_equal(token, token.substr(0, 31)));
  CHECK_FALSE(constant_time_equal(token, token + "0"));
  CHECK_FALSE(constant_time_equal("", token));
  CHECK(constant_time_equal("", ""));
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string other = token;
    other[i] ^= 0x01;
    CHECK_FALSE(constant_time_equal(token, other));
  }
}
