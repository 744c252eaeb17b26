#include "protocol/utf8.hpp"

#include <catch2/catch.hpp>

using hailer::valid_utf8;

TEST_CASE("well-formed UTF-8 is accepted", "[utf8]") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xc3\xa9"));       // U+00E9
  CHECK(valid_utf8("\xe2\x82\xac"));      // U+20AC
  CHECK(valid_utf8("\xf0\x9f\x8e\xa4"));  // U+1F3A4
  CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
}

TEST_CASE("ill-formed UTF-8 is refused", "[utf8]") {
  CHECK_FALSE(valid_utf8("\x80"));              // lone continuation
  CHECK_FALSE(valid_utf8("\xc3"));              // truncated
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(valid_utf8("\xff"));
  CHECK_FALSE(valid_utf8("\xe2\x82"));      // truncated 3-byte
  CHECK_FALSE(valid_utf8("\xe2\x28\xa1"));  // bad continuation
}
