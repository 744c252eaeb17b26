// Always-on assertions: a programmer error stops the operation with its location, in every build.
#pragma once

#include <stdexcept>

namespace hailer {

/// Thrown by HAILER_ASSERT: a broken invariant, i.e. a bug, never a peer's bad input.
/// Uncaught, it terminates the process with the expression and location; tests can catch it.
class AssertionFailure : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
/// Raises AssertionFailure for `expr` at the given location; never returns.
[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* func);
}  // namespace detail

}  // namespace hailer

/// Checks a condition that only a bug can break; active in release builds too.
#define HAILER_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::hailer::detail::assert_fail(#expr, __FILE__, __LINE__, __func__))
