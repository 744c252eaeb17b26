#include "protocol/names.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include "base/assert.hpp"

using namespace hailer;

TEST_CASE("valid names: 1-32 chars of the name alphabet, starting alphanumeric", "[names]") {
  CHECK(valid_name("alice"));
  CHECK(valid_name("A"));
  CHECK(valid_name("bob_2.x-y"));
  CHECK(valid_name(std::string(32, 'a')));
  CHECK_FALSE(valid_name(""));
  CHECK_FALSE(valid_name(std::string(33, 'a')));
  CHECK_FALSE(valid_name(".."));
  CHECK_FALSE(valid_name("../../x"));
  CHECK_FALSE(valid_name("_x"));
  CHECK_FALSE(valid_name("-x"));
  CHECK_FALSE(valid_name("a b"));
  CHECK_FALSE(valid_name("a/b"));
  CHECK_FALSE(valid_name("caf\xc3\xa9"));
  CHECK_FALSE(valid_name(std::string("a\0b", 3)));
}

TEST_CASE("name keys fold ASCII case so Alice and alice are one user", "[names]") {
  CHECK(name_key("Alice") == "alice");
  CHECK(name_key("BOB_2") == "bob_2");
  CHECK_THROWS_AS(name_key("bad name"), AssertionFailure);
}

TEST_CASE("the allocation-free name key equals name_key, up to 32 characters", "[names]") {
  std::array<char, max_name_length> buffer;
  for (const std::string& name : std::vector<std::string>{"Alice", "BOB_2", "x", "Zz.-_09", std::string(32, 'Q')}) {
    CHECK(name_key(name, buffer) == name_key(name));
  }
  CHECK_THROWS_AS(name_key("", buffer), AssertionFailure);
  CHECK_THROWS_AS(name_key(std::string(33, 'a'), buffer), AssertionFailure);
}

TEST_CASE("sanitize_name always yields a valid name", "[names]") {
  CHECK(sanitize_name("../../etc/passwd") == "x.._.._etc_passwd");
  CHECK(sanitize_name("") == "x");
  CHECK(sanitize_name("ok") == "ok");
  CHECK(valid_name(sanitize_name(std::string(100, '/'))));
  CHECK(sanitize_name(std::string(40, 'z')).size() == 32);
}

TEST_CASE("recording file names are bare, unique per serial", "[names]") {
  CHECK(recording_file_name("ann", 7) == "ann_7.wav");
  CHECK(recording_file_name("../../x", 1) == "x.._.._x_1.wav");
  CHECK(recording_file_name("ann", 1) != recording_file_name("ann", 2));
}

TEST_CASE("names: one rule for a file name from the network, and every recording name keeps it", "[names]") {
  CHECK(safe_file_name("ann_1.wav"));
  CHECK(safe_file_name(std::string(128, 'a')));
  CHECK_FALSE(safe_file_name(std::string(129, 'a')));
  CHECK_FALSE(safe_file_name(""));
  CHECK_FALSE(safe_file_name(".hidden.wav"));
  CHECK(safe_file_name("a..b_1.wav"));  // a valid user name may hold "..": its recording must be served
  CHECK_FALSE(safe_file_name(".."));
  CHECK_FALSE(safe_file_name("../etc/passwd"));
  CHECK_FALSE(safe_file_name("dir/ann_1.wav"));
  CHECK_FALSE(safe_file_name("ann 1.wav"));
  CHECK_FALSE(safe_file_name("ann%2F1.wav"));
  const std::vector<std::string> raws{"ann", "../x", "", ".", "a/b", "..", std::string(300, 'z'), "é"};
  for (const std::string& raw : raws) {
    CHECK(safe_file_name(recording_file_name(raw, 18'446'744'073'709'551'615ULL)));
  }
}

TEST_CASE("name skeletons: look-alikes share one, names that read differently do not", "[names]") {
  CHECK(name_skeleton("alice") == "allce");
  CHECK(name_skeleton("carol") == "carol");
  CHECK(name_skeleton("aIice") == name_skeleton("alice"));  // capital I for l
  CHECK(name_skeleton("a1ice") == name_skeleton("alice"));  // digit one for l
  CHECK(name_skeleton("b0b") == name_skeleton("bob"));      // zero for o
  CHECK(name_skeleton("B0B") == name_skeleton("bob"));
  CHECK(name_skeleton("rnallory") == name_skeleton("mallory"));
  CHECK(name_skeleton("vvendy") == name_skeleton("wendy"));
  CHECK(name_skeleton("Alice") == name_skeleton("alice"));  // case never told two names apart
  CHECK(name_skeleton("aiice") == name_skeleton("alice"));  // i and l: one stroke in many fonts
  CHECK(name_skeleton("ALICE") == name_skeleton("aIice"));  // however the name in use is written
  CHECK(name_skeleton("bob2") != name_skeleton("bob"));
  CHECK(name_skeleton("bob_") != name_skeleton("bob-"));
  CHECK(name_skeleton("rrn") == "rm");  // pairs left to right
  CHECK(name_skeleton("vvv") == "wv");
  CHECK(name_skeleton("t10") == "tlo");
  CHECK(name_skeleton("t01") == "tol");  // digit names stay apart: t10 and t01 do not collide
}
