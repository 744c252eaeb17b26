#include "core/config.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>
#include <variant>

using namespace hailer;

TEST_CASE("the default config is valid and has the documented defaults", "[config]") {
  Config c;
  CHECK_FALSE(validate(c).has_value());
  CHECK(c.ring_timeout_ms == 30'000);
  CHECK(c.recall_window_ms == 15'000);
  CHECK(c.wait_expiry_ms == 600'000);
  CHECK(c.max_talk_ms == 60'000);
}

TEST_CASE("out-of-range limits are refused with the field named", "[config]") {
  Config c;
  c.max_sessions = 0;
  REQUIRE(validate(c).has_value());
  CHECK(validate(c)->find("max_sessions") != std::string::npos);
  c = Config{};
  c.ring_timeout_ms = -1;
  CHECK(validate(c)->find("ring_timeout_ms") != std::string::npos);
  c = Config{};
  c.max_floor_queue = 0;
  CHECK(validate(c)->find("max_floor_queue") != std::string::npos);
  c = Config{};
  c.silence_threshold_dbfs = 3;
  CHECK(validate(c)->find("silence_threshold_dbfs") != std::string::npos);
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Sets an integer field to `v` through the table's member pointer.
void set_integer(Config& c, const ConfigField& f, int64_t v) {
  std::visit(
      [&](auto member) {
        using T = std::remove_cvref_t<decltype(c.*member)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) c.*member = static_cast<T>(v);
      },
      f.member);
}

bool is_integer(const ConfigField& f) {
  return !std::holds_alternative<bool Config::*>(f.member) &&
         !std::holds_alternative<FloorPolicy Config::*>(f.member) &&
         !std::holds_alternative<AccountsMode Config::*>(f.member) &&
         !std::holds_alternative<std::string Config::*>(f.member);
}

}  // namespace

TEST_CASE("the config table has one row per Config field, each name once", "[config]") {
  // Counted from the struct's source: a field added without a row fails here.
  const std::string header = read_file(std::string(HAILER_SOURCE_DIR) + "/core/config.hpp");
  const auto begin = header.find("struct Config {");
  const auto end = header.find("\n};", begin);
  REQUIRE(begin != std::string::npos);
  std::istringstream body(header.substr(begin, end - begin));
  std::size_t members = 0;
  for (std::string line; std::getline(body, line);) {
    if (line.rfind("  ", 0) == 0 && line.find("///") == std::string::npos && line.find("//") == std::string::npos &&
        line.back() == ';')
      ++members;
  }
  CHECK(members == config_fields().size());
  std::set<std::string_view> names;
  for (const auto& f : config_fields()) CHECK(names.insert(f.name).second);
  CHECK(find_config_field("max_talk_ms") != nullptr);
  CHECK(find_config_field("max-talk-ms") == nullptr);
  CHECK(config_flag(*find_config_field("max_talk_ms")) == "--max-talk-ms");
}

TEST_CASE("every integer field is valid at its min and max and refused one past either, by name", "[config]") {
  for (const auto& f : config_fields()) {
    if (!is_integer(f)) continue;
    INFO(f.name);
    Config c;
    set_integer(c, f, f.min);
    CHECK_FALSE(validate(c).has_value());
    set_integer(c, f, f.max);
    CHECK_FALSE(validate(c).has_value());
    // One past an edge, where the field's type can hold it.
    const bool unsigned_field =
        !std::holds_alternative<int32_t Config::*>(f.member) && !std::holds_alternative<int64_t Config::*>(f.member);
    if (!(unsigned_field && f.min == 0)) {
      set_integer(c, f, f.min - 1);
      REQUIRE(validate(c).has_value());
      CHECK(validate(c)->find(std::string(f.name) + " must be " + config_range_text(f)) == 0);
    }
    const bool max_is_type_max = f.max == 65'535 || f.max == std::numeric_limits<int64_t>::max() || f.max == 0;
    if (!max_is_type_max || f.name == "silence_threshold_dbfs") {
      set_integer(c, f, f.max + 1);
      REQUIRE(validate(c).has_value());
      CHECK(validate(c)->find(std::string(f.name)) == 0);
    }
  }
  Config c;
  c.first_recording_serial = std::numeric_limits<uint64_t>::max();  // beyond what a journal or scenario holds
  CHECK(validate(c)->find("first_recording_serial") == 0);
  c = Config{};
  c.instructor_token = std::string(128, 'x');
  CHECK_FALSE(validate(c).has_value());
  c.instructor_token += 'x';
  CHECK(*validate(c) == "instructor_token must be at most 128 bytes");
}

TEST_CASE("docs/operations.md holds the config table exactly as the code makes it", "[config]") {
  const std::string doc = read_file(std::string(HAILER_SOURCE_DIR) + "/docs/operations.md");
  const std::string open = "<!-- config-table -->\n";
  const auto begin = doc.find(open);
  const auto end = doc.find("<!-- /config-table -->", begin);
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  const std::string in_doc = doc.substr(begin + open.size(), end - begin - open.size());
  INFO("the table the code makes:\n" << config_table_markdown());
  CHECK(in_doc == config_table_markdown());
  CHECK(config_table_markdown().find("rendezvous_udp_port") == std::string::npos);  // set by the adapter
  CHECK(config_table_markdown().find("--instructor-token` | (made once)") != std::string::npos);
}
