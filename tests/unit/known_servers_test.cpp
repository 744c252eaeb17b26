// Which server keys a client trusts (client/known_servers.hpp).
#include "client/known_servers.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace hailer;

namespace {
const std::string key_a = "SHA256:" + std::string(64, 'a');
const std::string key_b = "SHA256:" + std::string(63, 'b') + "c";
}  // namespace

TEST_CASE("known servers: a fingerprint is read however it is typed, and nothing else is one", "[known_servers]") {
  CHECK(normalize_fingerprint(key_a) == key_a);
  CHECK(normalize_fingerprint("sha256:" + std::string(64, 'A')) == key_a);
  CHECK(normalize_fingerprint(std::string(64, 'a')) == key_a);  // no prefix
  std::string colons;
  for (int i = 0; i < 32; ++i) colons += (i ? ":" : "") + std::string("AA");
  CHECK(normalize_fingerprint(colons) == key_a);
  CHECK(normalize_fingerprint("  " + key_a + "\r") == key_a);
  CHECK_FALSE(normalize_fingerprint(std::string(63, 'a')));  // one hex digit short
  CHECK_FALSE(normalize_fingerprint(std::string(65, 'a')));  // one too many
  CHECK_FALSE(normalize_fingerprint("SHA256:" + std::string(63, 'a') + "g"));
  CHECK_FALSE(normalize_fingerprint(""));
  CHECK_FALSE(normalize_fingerprint("MD5:" + std::string(64, 'a')));
}

TEST_CASE("known servers: the file's pins are found by HOST:PORT, comments and odd lines kept", "[known_servers]") {
  const std::string file =
      "# hailer known servers\n127.0.0.1:7700 " + key_a + "\nnonsense\nexample.org:7700 " + key_b + "\n";
  auto k = KnownServers::parse(file);
  CHECK(k.find("127.0.0.1:7700") == key_a);
  CHECK(k.find("example.org:7700") == key_b);
  CHECK_FALSE(k.find("127.0.0.1:7701"));  // another port is another server
  CHECK_FALSE(k.find("nonsense"));
  CHECK(k.text() == file);  // read and written back unchanged
}

TEST_CASE("known servers: pinning replaces the server's line and adds a new server at the end", "[known_servers]") {
  auto k = KnownServers::parse("# c\n127.0.0.1:7700 " + key_a + "\n");
  k.pin("127.0.0.1:7700", key_b);
  k.pin("10.0.0.5:7700", key_a);
  CHECK(k.find("127.0.0.1:7700") == key_b);
  CHECK(k.find("10.0.0.5:7700") == key_a);
  CHECK(k.text() == "# c\n127.0.0.1:7700 " + key_b + "\n10.0.0.5:7700 " + key_a + "\n");
  CHECK(KnownServers::parse("").text().empty());
}

TEST_CASE("known servers: a pinned key goes on, a changed one is refused, the first one is pinned", "[known_servers]") {
  CHECK(decide_trust(false, key_a, std::nullopt, std::nullopt) == TrustVerdict::first_use);
  CHECK(decide_trust(false, key_a, key_a, std::nullopt) == TrustVerdict::pinned);
  CHECK(decide_trust(false, key_b, key_a, std::nullopt) == TrustVerdict::changed);
  CHECK(decide_trust(true, key_b, key_a, std::nullopt) == TrustVerdict::ca_verified);  // a CA vouches for the name
  CHECK(decide_trust(false, key_b, key_a, key_b) == TrustVerdict::trusted_ahead);      // --trust is the user's word
  CHECK(decide_trust(true, key_a, std::nullopt, key_b) == TrustVerdict::not_trusted);  // even against a CA
  CHECK(trusted(TrustVerdict::first_use));
  CHECK_FALSE(trusted(TrustVerdict::changed));
  CHECK_FALSE(trusted(TrustVerdict::not_trusted));
  CHECK(pin_it(TrustVerdict::first_use));
  CHECK(pin_it(TrustVerdict::trusted_ahead));
  CHECK_FALSE(pin_it(TrustVerdict::pinned));
  CHECK_FALSE(pin_it(TrustVerdict::ca_verified));
  CHECK(to_string(TrustVerdict::first_use) == "first_use");
  CHECK(to_string(TrustVerdict::ca_verified) == "ca");
  CHECK(to_string(TrustVerdict::changed) == "changed");
}
