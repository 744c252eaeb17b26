#include "core/config.hpp"

#include <catch2/catch.hpp>

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
