// The test runner. ctest runs one entry per test case (catch_discover_tests), each with the test
// case's name as its filter. A name that Catch cannot match as a filter (a ';' split by ctest, a
// wildcard, a name cut short onto another test's name) would make an entry run nothing, or the
// wrong test, and still pass. So when ctest sets HAILER_ONE_TEST_CASE, the run fails unless
// exactly one test case ran and its name is the filter given.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include "base/assert.hpp"

namespace {

std::set<std::string>& started_test_cases() {
  static std::set<std::string> names;
  return names;
}

// Records the name of every test case that starts.
class StartedListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(Catch::TestCaseInfo const& info) override { started_test_cases().insert(info.name); }
};

// Undoes catch_discover_tests' escaping of ',', '[' and ']' in a filter.
std::string unescape_filter(const std::string& filter) {
  std::string out;
  for (std::size_t i = 0; i < filter.size(); ++i) {
    if (filter[i] == '\\' && i + 1 < filter.size()) ++i;
    out.push_back(filter[i]);
  }
  return out;
}

}  // namespace

CATCH_REGISTER_LISTENER(StartedListener)

int main(int argc, char* argv[]) {
  // A failed HAILER_ASSERT aborts a shipping binary; here it throws, so a test can check that an
  // assertion guards a contract (CHECK_THROWS_AS(..., AssertionFailure)).
  hailer::set_assert_handler([](const char* message) { throw hailer::AssertionFailure(message); });
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  const int result = session.run();
  if (std::getenv("HAILER_ONE_TEST_CASE") == nullptr) return result;
  const auto& filters = session.configData().testsOrTags;
  const auto& ran = started_test_cases();
  if (filters.size() != 1 || ran.size() != 1 || *ran.begin() != unescape_filter(filters.front())) {
    std::fprintf(stderr, "test entry error: the filter %s ran %zu test case(s)%s%s; expected exactly that one\n",
                 filters.empty() ? "(none)" : ("'" + filters.front() + "'").c_str(), ran.size(),
                 ran.empty() ? "" : ", first: ", ran.empty() ? "" : ran.begin()->c_str());
    return 3;
  }
  return result;
}
