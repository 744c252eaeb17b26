#include "protocol/errors.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace hailer;

TEST_CASE("every error code has a distinct wire name and a message", "[errors]") {
  std::set<std::string> names;
  for (int i = 0; i < error_code_count; ++i) {
    const auto code = static_cast<ErrorCode>(i);
    CHECK_FALSE(to_string(code).empty());
    CHECK_FALSE(default_message(code).empty());
    names.insert(std::string(to_string(code)));
  }
  CHECK(names.size() == static_cast<std::size_t>(error_code_count));
  CHECK(to_string(ErrorCode::name_taken) == "name_taken");  // wire names are stable
  CHECK(to_string(ErrorCode::no_pending_call) == "no_pending_call");
}
