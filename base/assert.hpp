// Always-on assertions: a programmer error stops the process with its location, in every build.
// A bug is never caught and reported as something else (a network or input error): it aborts,
// after printing the expression, the place, and what the thread was doing (AssertContext).
#pragma once

#include <cstddef>
#include <stdexcept>

namespace hailer {

/// What a test's assertion handler throws (see set_assert_handler): a broken invariant, i.e. a
/// bug, never a peer's bad input. Nothing in the shipping code catches it or installs a handler.
class AssertionFailure : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// Called with the whole message ("assertion failed: EXPR at FILE:LINE in FUNC"); must not return.
using AssertHandler = void (*)(const char* message);

/// Replaces what a failed assertion does (nullptr: print to stderr and abort, the default). Only a
/// test runner installs one, to throw AssertionFailure so that a test can check an assertion.
void set_assert_handler(AssertHandler handler);

/// Names what this thread is doing (a scenario and seed, a journal line) for as long as it lives;
/// a failed assertion prints the innermost contexts before aborting, so a failure can be replayed.
/// Not copyable; contexts nest in scope order on each thread.
class AssertContext {
 public:
  /// `describe(arg)` is called only when an assertion fails, to write the context's one line.
  using Describe = void (*)(const void* arg, char* out, std::size_t out_size);
  AssertContext(Describe describe, const void* arg);
  ~AssertContext();
  AssertContext(const AssertContext&) = delete;
  AssertContext& operator=(const AssertContext&) = delete;

 private:
  friend struct AssertContextAccess;
  Describe describe_;
  const void* arg_;
  AssertContext* outer_;
};

namespace detail {
/// Reports `expr` at the given location (handler, or stderr and abort); never returns.
[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* func);
}  // namespace detail

}  // namespace hailer

/// Checks a condition that only a bug can break; active in release builds too; aborts on failure.
#define HAILER_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::hailer::detail::assert_fail(#expr, __FILE__, __LINE__, __func__))
