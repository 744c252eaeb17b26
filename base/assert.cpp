#include "base/assert.hpp"

#include <string>

namespace hailer::detail {

void assert_fail(const char* expr, const char* file, int line, const char* func) {
  throw AssertionFailure(std::string("assertion failed: ") + expr + " at " + file + ":" +
                         std::to_string(line) + " in " + func);
}

}  // namespace hailer::detail
