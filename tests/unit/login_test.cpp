// Logging in to a name (protocol/login.hpp): a signature over the connection's channel binding.
#include "protocol/login.hpp"

#include <catch2/catch.hpp>
#include "tests/support/seeds.hpp"

using namespace hailer;
using hailer::test::seed_of;

namespace {
ChannelBinding binding_of(uint8_t fill) {
  ChannelBinding b{};
  b.fill(fill);
  return b;
}
}  // namespace

TEST_CASE("login: a signature verifies for its key, its connection and its name only", "[login]") {
  const LoginKey alice = login_key_from_seed(seed_of(1));
  const LoginKey mallory = login_key_from_seed(seed_of(2));
  const ChannelBinding here = binding_of(7), there = binding_of(8);
  const std::string sig = login_signature(alice, here, "alice");
  REQUIRE(sig.size() == 128);
  const auto key = parse_login_key(login_key_hex(alice));
  REQUIRE(key);
  CHECK(verify_login(*key, sig, here, "alice"));
  CHECK_FALSE(verify_login(*key, sig, there, "alice"));  // replayed on another connection
  CHECK_FALSE(verify_login(*key, sig, here, "alicf"));   // for another name
  CHECK_FALSE(verify_login(mallory.public_key, sig, here, "alice"));
  std::string flipped = sig;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  CHECK_FALSE(verify_login(*key, flipped, here, "alice"));
  CHECK_FALSE(verify_login(*key, sig.substr(2), here, "alice"));  // truncated
  CHECK_FALSE(verify_login(*key, "zz" + sig.substr(2), here, "alice"));
}

TEST_CASE("login: keys are read from 64 hex digits only, and a seed gives the same key again", "[login]") {
  CHECK_FALSE(parse_login_key(std::string(63, 'a')));
  CHECK_FALSE(parse_login_key(std::string(64, 'g')));
  CHECK(parse_login_key(std::string(64, 'A')));
  CHECK(login_key_from_seed(seed_of(3)).public_key == login_key_from_seed(seed_of(3)).public_key);
  CHECK(make_login_key().public_key != make_login_key().public_key);  // fresh from the OS
  CHECK_FALSE(has_binding(ChannelBinding{}));
  CHECK(has_binding(binding_of(1)));
  const auto m = login_message(binding_of(9), "bob");
  CHECK(m.size() == std::string_view("hailer-login-v1").size() + 1 + 32 + 3);
}
