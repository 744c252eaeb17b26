#include "core/json.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <nlohmann/json.hpp>

using namespace hailer;

namespace {
json::Document parsed(std::string_view text) {
  json::Document doc;
  const auto err = json::parse(text, doc);
  if (err) FAIL("parse failed: " << err->what << " in " << text);
  return doc;
}
std::string error_of(std::string_view text, json::Limits limits = {}) {
  json::Document doc;
  const auto err = json::parse(text, doc, limits);
  return err ? err->what : "";
}
}  // namespace

TEST_CASE("json: integers keep sign and magnitude exactly, other numbers carry no value", "[json]") {
  const auto doc = parsed(R"({"a":18446744073709551615,"b":-9223372036854775808,"c":18446744073709551616,"d":-0,"e":1.5,"f":2e3})");
  const auto& root = doc.root();
  CHECK(doc.find(root, "a")->magnitude == std::numeric_limits<uint64_t>::max());
  CHECK_FALSE(doc.find(root, "a")->overflow);
  CHECK(doc.find(root, "b")->negative);
  CHECK(doc.find(root, "b")->magnitude == 9223372036854775808ULL);
  CHECK(doc.find(root, "c")->overflow);
  CHECK_FALSE(doc.find(root, "d")->negative);
  CHECK(doc.find(root, "e")->type == json::Type::number);
  CHECK(doc.find(root, "f")->type == json::Type::number);
}

TEST_CASE("json: containers list their children in order, strings are unescaped", "[json]") {
  const auto doc = parsed(R"([1,{"k":"a\"b\\c\/d\n"},[],true,null])");
  const auto items = doc.children(doc.root());
  REQUIRE(items.size() == 5);
  CHECK(items[0]->magnitude == 1);
  CHECK(doc.find(*items[1], "k")->text == "a\"b\\c/d\n");
  CHECK(items[2]->type == json::Type::array);
  CHECK(items[2]->size == 0);
  CHECK(items[3]->boolean);
  CHECK(items[4]->type == json::Type::null);
}

TEST_CASE("json: malformed text is refused with where and why", "[json]") {
  CHECK(error_of("") == "unexpected end of text at byte 0");
  CHECK(error_of("{\"a\":1,}").find("expected a key") != std::string::npos);
  CHECK(error_of("[1 2]").find("expected ',' or ']'") != std::string::npos);
  CHECK(error_of("01").find("after the value") != std::string::npos);
  CHECK(error_of("-").find("unexpected") != std::string::npos);
  CHECK(error_of("1.").find("fraction") != std::string::npos);
  CHECK(error_of("1e").find("exponent") != std::string::npos);
  CHECK(error_of("\"abc").find("unterminated") != std::string::npos);
  CHECK(error_of("\"\\x\"").find("unknown escape") != std::string::npos);
  CHECK(error_of("\"\\u12\"").find("four hex digits") != std::string::npos);
  CHECK(error_of("tru").find("unexpected") != std::string::npos);
  CHECK(error_of("[[[]]]", json::Limits{2, 64, 100}).find("nesting deeper than 2") != std::string::npos);
  CHECK(error_of("[1,2,3]", json::Limits{16, 64, 3}).find("too many values") != std::string::npos);
  CHECK(error_of(R"({"a":1,"b":2,"c":3})", json::Limits{16, 2, 100}).find("more than 2 members") != std::string::npos);
}

TEST_CASE("json: the writer escapes as nlohmann::json does and places commas itself", "[json]") {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("s");
  w.string("q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xC3\xA9");
  w.key("n");
  w.integer(std::numeric_limits<int64_t>::min());
  w.key("u");
  w.uinteger(std::numeric_limits<uint64_t>::max());
  w.key("a");
  w.begin_array();
  w.boolean(true);
  w.null();
  w.begin_object();
  w.end_object();
  w.end_array();
  w.end_object();
  CHECK(nlohmann::ordered_json::parse(out).dump() == out);
  CHECK(out.find("\\u0001") != std::string::npos);
  CHECK(out.find("-9223372036854775808") != std::string::npos);
}

TEST_CASE("json: strings escape as nlohmann::json does wherever the special byte falls", "[json]") {
  // The writer scans 8 bytes at a time: every special byte at every offset around a word
  // boundary, beside plain ASCII and multi-byte UTF-8, must come out as nlohmann writes it.
  const std::string specials[] = {"\"", "\\", "\x01", "\x1f", "\n", "\t", "\x7f", "\xC3\xA9", " ", "/"};
  int wrong = 0;
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at <= 20; ++at) {
      const std::string text = std::string(at, 'a') + special + std::string(20 - at, 'Z');
      std::string out;
      json::append_quoted(out, text);
      if (out != nlohmann::json(text).dump()) ++wrong;
    }
  }
  CHECK(wrong == 0);
  std::string out;
  json::append_quoted(out, "");
  CHECK(out == "\"\"");
}
