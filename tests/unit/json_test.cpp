#include "protocol/json.hpp"

#include <algorithm>
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
  const auto doc =
      parsed(R"({"a":18446744073709551615,"b":-9223372036854775808,"c":18446744073709551616,"d":-0,"e":1.5,"f":2e3})");
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
  // Every special byte at every offset, beside plain ASCII and multi-byte UTF-8, must come out
  // as nlohmann writes it (the writer copies the plain run before the first special in one go).
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

TEST_CASE("json: plain strings of every length around the short-copy limit are written whole", "[json]") {
  // Short strings are assembled with their comma and quotes on the stack, longer ones appended
  // piece by piece: both sides of the limit (60 bytes of text) must give nlohmann's bytes.
  for (std::size_t n = 0; n <= 80; ++n) {
    const std::string text(n, static_cast<char>('a' + n % 26));
    std::string out;
    json::Writer w(out);
    w.begin_array();
    w.string(text);
    w.string(text);
    w.end_array();
    const nlohmann::json model = nlohmann::json::array({text, text});
    INFO("length " << n);
    CHECK(out == model.dump());
  }
}

TEST_CASE("json: a pre-quoted key drops its comma only for the first member", "[json]") {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.quoted_key(",\"a\":");
  w.uinteger(1);
  w.quoted_key(",\"b\":");
  w.begin_object();
  w.quoted_key(",\"c\":");
  w.null();
  w.end_object();
  w.end_object();
  CHECK(out == R"({"a":1,"b":{"c":null}})");
}

TEST_CASE("json: a member written in one piece matches the key and value written apart", "[json]") {
  // string_member and uinteger_member build the comma, key and value on the stack and append
  // once, except for a value that needs escaping or does not fit: every length around that
  // limit, values with special bytes, first and later members, and integers at both ends.
  const std::string key = ",\"peer\":";
  const auto apart = [&](const std::string& v, uint64_t n) {
    std::string out;
    json::Writer w(out);
    w.begin_object();
    w.quoted_key(key);
    w.string(v);
    w.quoted_key(",\"n\":");
    w.uinteger(n);
    w.quoted_key(key);
    w.string(v);
    w.end_object();
    return out;
  };
  const auto together = [&](const std::string& v, uint64_t n) {
    std::string out;
    json::Writer w(out);
    w.begin_object();
    w.string_member(key, v);
    w.uinteger_member(",\"n\":", n);
    w.string_member(key, v);
    w.end_object();
    return out;
  };
  int wrong = 0;
  for (std::size_t len = 0; len <= 140; ++len) {
    const std::string plain(len, static_cast<char>('a' + len % 26));
    const std::string escaped = plain + "\"\n\x01";
    for (const uint64_t n : {uint64_t{0}, uint64_t{7}, uint64_t{len}, std::numeric_limits<uint64_t>::max()}) {
      if (together(plain, n) != apart(plain, n)) ++wrong;
      if (together(escaped, n) != apart(escaped, n)) ++wrong;
    }
  }
  CHECK(wrong == 0);
  CHECK(together("bob", 18446744073709551615u) == R"({"peer":"bob","n":18446744073709551615,"peer":"bob"})");
  CHECK(together("", 0) == R"({"peer":"","n":0,"peer":""})");
  CHECK(together("a\"b", 1) == R"({"peer":"a\"b","n":1,"peer":"a\"b"})");
}

TEST_CASE("json: a special byte is escaped at every position of a member's value", "[json]") {
  // A member's value is scanned before it takes the one-append path: every special byte (and its
  // harmless neighbours) at every position of every length up to 40 comes out as nlohmann writes it.
  std::vector<char> bytes;
  for (int c = 0; c < 0x20; ++c) bytes.push_back(static_cast<char>(c));
  for (const char c : {'"', '\\', ' ', '!', '#', '[', ']', '\x7F', 'a'}) bytes.push_back(c);
  int wrong = 0;
  for (std::size_t len = 1; len <= 40; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      for (const char c : bytes) {
        std::string v(len, 'x');
        v[at] = c;
        std::string out;
        json::Writer w(out);
        w.begin_object();
        w.string_member(",\"v\":", v);
        w.end_object();
        if (out != nlohmann::json{{"v", v}}.dump()) ++wrong;
      }
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("json: the parser finds a raw control byte or an escape at every position of a string", "[json]") {
  // The parser's scan takes 16 bytes a step, then one byte at a time for the last bytes of the
  // text: a raw control byte is refused and an escape decoded wherever it falls.
  int wrong = 0;
  for (std::size_t len = 1; len <= 40; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      std::string v(len, 'x');
      v[at] = '\x01';
      json::Document doc;
      if (!json::parse("[\"" + v + "\"]", doc)) ++wrong;
      std::string escaped(len, 'x');
      escaped.replace(at, 1, "\\n");
      if (json::parse("[\"" + escaped + "\"]", doc) ||
          doc.at(1).text != std::string(at, 'x') + "\n" + std::string(len - at - 1, 'x'))
        ++wrong;
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("json: keys and values of every length up to the in-line copy's limit and past it", "[json]") {
  // Members of up to 32 bytes of key and 32 of value are copied in line by size class; longer
  // ones take the general path. Every pair of lengths, as first and as later member, with
  // integers of every digit count at both ends (digits are written two at a time).
  std::vector<uint64_t> numbers{std::numeric_limits<uint64_t>::max()};
  for (uint64_t p = 1, d = 0; d < 20; ++d, p *= 10) {
    numbers.push_back(p - 1);
    numbers.push_back(p);
  }
  int wrong = 0;
  for (std::size_t key_len = 1; key_len <= 36; ++key_len) {
    const std::string name(key_len, static_cast<char>('a' + key_len % 26));
    const std::string key = ",\"" + name + "\":";
    for (std::size_t len = 0; len <= 36; ++len) {
      std::string v;
      for (std::size_t i = 0; i < len; ++i) v.push_back(static_cast<char>('A' + (i * 7 + len) % 26));
      for (const uint64_t n : numbers) {
        std::string out;
        json::Writer w(out);
        w.begin_object();
        w.string_member(key, v);
        w.plain_member(",\"p\":", v);
        w.uinteger_member(key, n);
        w.end_object();
        // The key repeats (nlohmann's objects cannot hold that): its last member is added by hand.
        const nlohmann::ordered_json model = {{name, v}, {"p", v}};
        std::string expected = model.dump();
        expected.pop_back();
        expected += ",\"" + name + "\":" + std::to_string(n) + "}";
        if (out != expected) ++wrong;
      }
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("json: an object opened with its constant members goes on with a comma", "[json]") {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.quoted_key(",\"e\":");
  w.begin_object_with(R"({"type":"ok")");
  w.uinteger_member(",\"id\":", 7);
  w.plain_member(",\"role\":", "caller");
  w.end_object();
  w.quoted_key(",\"f\":");
  w.begin_object_with(R"({"type":"bye")");
  w.end_object();
  w.end_object();
  CHECK(out == R"({"e":{"type":"ok","id":7,"role":"caller"},"f":{"type":"bye"}})");
}

TEST_CASE("json: integers of 19 and 20 digits are exact up to the 64-bit limit", "[json]") {
  // Up to 19 digits the parser skips the overflow test; the 20-digit side keeps it.
  const auto doc = parsed(R"({"a":9999999999999999999,"b":10000000000000000000,"c":18446744073709551615,)"
                          R"("d":18446744073709551616,"e":99999999999999999999,"f":-9999999999999999999})");
  const auto& root = doc.root();
  CHECK(doc.find(root, "a")->magnitude == 9999999999999999999ULL);
  CHECK_FALSE(doc.find(root, "a")->overflow);
  CHECK(doc.find(root, "b")->magnitude == 10000000000000000000ULL);
  CHECK_FALSE(doc.find(root, "b")->overflow);
  CHECK(doc.find(root, "c")->magnitude == std::numeric_limits<uint64_t>::max());
  CHECK_FALSE(doc.find(root, "c")->overflow);
  CHECK(doc.find(root, "d")->overflow);
  CHECK(doc.find(root, "e")->overflow);
  CHECK(doc.find(root, "f")->negative);
  CHECK(doc.find(root, "f")->magnitude == 9999999999999999999ULL);
}

TEST_CASE("json: duplicate keys are refused exactly when present, whatever their filter bits", "[json]") {
  // Keys of one or two letters from a small alphabet: many share a filter bit without being
  // equal, and about half of the objects repeat a key. The model is a plain set.
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int wrong = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::size_t members = 1 + next() % 12;
    std::string text = "{";
    std::vector<std::string> keys;
    std::string first_repeat;
    for (std::size_t i = 0; i < members; ++i) {
      std::string key(1, static_cast<char>('a' + next() % 6));
      if (next() % 2 == 0) key.push_back(static_cast<char>('a' + next() % 6));
      if (first_repeat.empty() && std::find(keys.begin(), keys.end(), key) != keys.end()) first_repeat = key;
      keys.push_back(key);
      text += (i == 0 ? "\"" : ",\"") + key + "\":" + std::to_string(i);
    }
    text += "}";
    const std::string error = error_of(text);
    const std::string expected = first_repeat.empty() ? "" : "duplicate key '" + first_repeat + "'";
    if (error.rfind(expected, 0) != 0 || (expected.empty() && !error.empty())) {
      ++wrong;
      UNSCOPED_INFO(text << " -> " << error);
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("json: find from a cursor looks from there round to it and moves past each hit", "[json]") {
  const auto doc = parsed(R"({"a":1,"b":2,"c":3,"d":4})");
  const auto& root = doc.root();
  uint32_t cursor = 0;
  REQUIRE(doc.find(root, "b", cursor) != nullptr);
  CHECK(doc.find(root, "c", cursor)->magnitude == 3);  // the next member: found first
  CHECK(doc.find(root, "a", cursor)->magnitude == 1);  // before the cursor: found on the way round
  CHECK(doc.find(root, "d", cursor)->magnitude == 4);  // the last member: the cursor goes back to the start
  CHECK(cursor == 0);
  CHECK(doc.find(root, "a", cursor)->magnitude == 1);
  const uint32_t before = cursor;
  CHECK(doc.find(root, "x", cursor) == nullptr);  // absent: every member looked at, cursor kept
  CHECK(cursor == before);
  CHECK(doc.find(root, "d", cursor)->magnitude == 4);
  const auto empty = parsed("{}");
  uint32_t none = 0;
  CHECK(empty.find(empty.root(), "a", none) == nullptr);
}

TEST_CASE("json: the parser finds a string's end wherever it falls, 16 bytes at a time or not", "[json]") {
  // The scan takes 16 bytes per step while 16 remain in the text, then one at a time: every
  // special byte at every offset, with the text ending right after or well after the string,
  // must parse (or be refused) as nlohmann parses it.
  const std::string specials[] = {"", "\\n", "\\\"", "\\u00e9", "\x01", "\x1f", "\x7f", "\xC3\xA9", " "};
  int wrong = 0;
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at <= 40; ++at) {
      for (const std::size_t tail : {0, 1, 15, 16, 17, 40}) {
        const std::string text = "[\"" + std::string(at, 'a') + special + "bbb\"" + std::string(tail, ' ') + "]";
        json::Document doc;
        const auto err = json::parse(text, doc);
        const auto model = nlohmann::json::parse(text, nullptr, false);
        const bool same = model.is_discarded()
                              ? err.has_value()
                              : !err && doc.children(doc.root())[0]->text == model[0].get<std::string>();
        if (!same) {
          ++wrong;
          UNSCOPED_INFO(text << " -> " << (err ? err->what : "accepted"));
        }
      }
    }
  }
  CHECK(wrong == 0);
}
