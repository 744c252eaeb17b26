// End-to-end call keys (protocol/call_keys.hpp): signed X25519 keys, SRTP keys per direction,
// safety numbers.
#include "protocol/call_keys.hpp"

#include <catch2/catch.hpp>

#include "base/secret.hpp"
#include "tests/support/seeds.hpp"

using namespace hailer;
using hailer::test::seed_of;

TEST_CASE("a call key's signature covers the call, the sender's name and the key", "[call_keys]") {
  const LoginKey alice = login_key_from_seed(seed_of(1));
  const LoginKey mallory = login_key_from_seed(seed_of(2));
  const CallKeyPair k = call_key_pair_from_seed(seed_of(3));
  const CallKeyPair other = call_key_pair_from_seed(seed_of(4));
  const std::string sig = call_key_signature(alice, 7, "alice", k.public_key);
  CHECK(sig.size() == 128);
  CHECK(verify_call_key(alice.public_key, sig, 7, "alice", k.public_key));
  CHECK_FALSE(verify_call_key(alice.public_key, sig, 8, "alice", k.public_key));      // another call
  CHECK_FALSE(verify_call_key(alice.public_key, sig, 7, "bob", k.public_key));        // another sender
  CHECK_FALSE(verify_call_key(alice.public_key, sig, 7, "alice", other.public_key));  // a swapped key
  CHECK_FALSE(verify_call_key(mallory.public_key, sig, 7, "alice", k.public_key));    // another account
  std::string flipped = sig;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  CHECK_FALSE(verify_call_key(alice.public_key, flipped, 7, "alice", k.public_key));
  CHECK_FALSE(verify_call_key(alice.public_key, sig.substr(2), 7, "alice", k.public_key));  // truncated
  CHECK_FALSE(verify_call_key(alice.public_key, "zz" + sig.substr(2), 7, "alice", k.public_key));
  CHECK_FALSE(verify_call_key(alice.public_key, sig, 7, "", k.public_key));
}

TEST_CASE("the message a call key signature covers is laid out as documented", "[call_keys]") {
  CallPublicKey key{};
  key.fill(0xab);
  const auto m = call_key_message(0x0102030405060708ULL, "bob", key);
  const std::string context = "hailer-call-key-v1";
  REQUIRE(m.size() == context.size() + 1 + 8 + 3 + 1 + 32);
  CHECK(std::string(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(context.size())) == context);
  CHECK(m[context.size()] == 0);
  CHECK(m[context.size() + 1] == 0x01);  // big-endian call id
  CHECK(m[context.size() + 8] == 0x08);
  CHECK(std::string(m.begin() + static_cast<std::ptrdiff_t>(context.size()) + 9,
                    m.begin() + static_cast<std::ptrdiff_t>(context.size()) + 12) == "bob");
  CHECK(m[context.size() + 12] == 0);
  CHECK(m.back() == 0xab);
}

TEST_CASE("both sides derive the same SRTP keys, crossed, and a stranger derives others", "[call_keys]") {
  const CallKeyPair caller = call_key_pair_from_seed(seed_of(5));
  const CallKeyPair callee = call_key_pair_from_seed(seed_of(6));
  const CallKeyPair stranger = call_key_pair_from_seed(seed_of(7));
  const auto a = derive_srtp_keys(CallRole::caller, caller, callee.public_key);
  const auto b = derive_srtp_keys(CallRole::callee, callee, caller.public_key);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->send == b->receive);
  CHECK(a->receive == b->send);
  CHECK(a->send != a->receive);
  const auto m = derive_srtp_keys(CallRole::callee, stranger, caller.public_key);
  REQUIRE(m.has_value());
  CHECK(m->receive != a->send);
  // The same role on both sides agrees on nothing (each crypto_kx side hashes its own order).
  const auto same = derive_srtp_keys(CallRole::caller, callee, caller.public_key);
  REQUIRE(same.has_value());
  CHECK(same->receive != a->send);
}

TEST_CASE("an all-zero peer key is refused, not turned into a known key", "[call_keys]") {
  const CallKeyPair own = call_key_pair_from_seed(seed_of(8));
  CHECK_FALSE(derive_srtp_keys(CallRole::caller, own, CallPublicKey{}).has_value());
}

TEST_CASE("safety numbers agree when nothing was swapped and differ when any key was", "[call_keys]") {
  const LoginKey alice = login_key_from_seed(seed_of(1));
  const LoginKey bob = login_key_from_seed(seed_of(2));
  const LoginKey eve = login_key_from_seed(seed_of(3));
  const CallKeyPair ka = call_key_pair_from_seed(seed_of(4));
  const CallKeyPair kb = call_key_pair_from_seed(seed_of(5));
  const CallKeyPair ke = call_key_pair_from_seed(seed_of(6));
  const std::string n = safety_number(alice.public_key, ka.public_key, bob.public_key, kb.public_key);
  CHECK(n.size() == 23);
  CHECK(n[5] == ' ');
  CHECK(n[11] == ' ');
  CHECK(n[17] == ' ');
  CHECK(n == safety_number(alice.public_key, ka.public_key, bob.public_key, kb.public_key));
  // What alice and bob compute when eve sits in between: each sees eve's keys for the other.
  CHECK(n != safety_number(alice.public_key, ka.public_key, eve.public_key, ke.public_key));
  CHECK(n != safety_number(eve.public_key, ke.public_key, bob.public_key, kb.public_key));
  CHECK(n != safety_number(alice.public_key, ka.public_key, bob.public_key, ke.public_key));  // only a call key
  CHECK(n != safety_number(bob.public_key, kb.public_key, alice.public_key, ka.public_key));  // order matters
}

TEST_CASE("key pairs come from their seed alone", "[call_keys]") {
  CHECK(call_key_pair_from_seed(seed_of(9)).public_key == call_key_pair_from_seed(seed_of(9)).public_key);
  CHECK(call_key_pair_from_seed(seed_of(9)).public_key != call_key_pair_from_seed(seed_of(10)).public_key);
  CHECK(parse_key32(std::string(64, 'a')).has_value());
  CHECK_FALSE(parse_key32(std::string(63, 'a')).has_value());
  CHECK_FALSE(parse_key32(std::string(64, 'g')).has_value());
}
