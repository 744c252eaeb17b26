// Text from the network is escaped before a terminal or a log sees it: every control, bidi and
// invisible character, each at every position; printable text of any script stays as it is.
#include "protocol/untrusted_text.hpp"

#include <catch2/catch.hpp>

using namespace hailer;

namespace {
std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}
}  // namespace

TEST_CASE("the attack that cleared a CLI's screen and set its title is shown as text", "[untrusted_text][security]") {
  const std::string name = "bob\x1b]0;pwned\x07\x1b[2J" + utf8(0x202E) + "gnp.exe";
  const std::string shown = escape_untrusted(name);
  CHECK(shown == "bob\\u001b]0;pwned\\u0007\\u001b[2J\\u202egnp.exe");
  CHECK(shown.find('\x1b') == std::string::npos);
}

TEST_CASE("every unsafe code point is escaped wherever it stands, and nothing else is", "[untrusted_text]") {
  const std::u32string unsafe = {0x00,   0x07,   0x08,   0x09,   0x0A,   0x0D,   0x1B,   0x1F,   0x7F,   0x80,
                                 0x85,   0x9B,   0x9F,   0x00AD, 0x034F, 0x061C, 0x180E, 0x200B, 0x200C, 0x200D,
                                 0x200E, 0x200F, 0x2028, 0x2029, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060,
                                 0x2063, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF, 0xFFF9, 0xFFFB};
  for (char32_t c : unsafe) {
    CHECK(is_unsafe_code_point(c));
    for (std::size_t at = 0; at <= 3; ++at) {
      std::string text = "abc";
      text.insert(at, utf8(c));
      const std::string shown = escape_untrusted(text);
      CAPTURE(static_cast<uint32_t>(c), at);
      char escaped[12];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      std::string expected = "abc";
      expected.insert(at, escaped);
      CHECK(shown == expected);
    }
  }
  for (char32_t c :
       std::u32string{U' ', U'~', 0xA0, 0xE9, 0x3B1, 0x4E2D, 0x1F600, 0x20AC, 0x2027, 0x202F, 0x205F, 0x2070}) {
    CAPTURE(static_cast<uint32_t>(c));
    CHECK_FALSE(is_unsafe_code_point(c));
    CHECK(escape_untrusted("x" + utf8(c) + "y") == "x" + utf8(c) + "y");
  }
}

TEST_CASE("bytes that are not UTF-8 become the escaped replacement character, one per byte, and the rest stays",
          "[untrusted_text]") {
  CHECK(escape_untrusted("a\xff"
                         "b") == "a\\ufffdb");
  CHECK(escape_untrusted("\xc0\xaf") == "\\ufffd\\ufffd");             // an overlong slash
  CHECK(escape_untrusted("\xed\xa0\x80") == "\\ufffd\\ufffd\\ufffd");  // a surrogate
  CHECK(escape_untrusted("\xe2\x80") == "\\ufffd\\ufffd");             // cut short
  CHECK(escape_untrusted("") == "");
}
