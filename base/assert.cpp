#include "base/assert.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace hailer {

namespace {
std::atomic<AssertHandler> installed_handler{nullptr};
thread_local AssertContext* innermost_context = nullptr;
constexpr int max_contexts_printed = 4;  // the innermost few say enough; a bound on a dying path
}  // namespace

struct AssertContextAccess {
  static void print_all() {
    int printed = 0;
    for (AssertContext* c = innermost_context; c != nullptr && printed < max_contexts_printed; c = c->outer_) {
      char line[512] = {};
      c->describe_(c->arg_, line, sizeof line);
      std::fprintf(stderr, "  while %s\n", line);
      ++printed;
    }
  }
};

void set_assert_handler(AssertHandler handler) { installed_handler.store(handler); }

AssertContext::AssertContext(Describe describe, const void* arg)
    : describe_(describe), arg_(arg), outer_(innermost_context) {
  HAILER_ASSERT(describe != nullptr);
  innermost_context = this;
}

AssertContext::~AssertContext() {
  // Contexts are scoped objects: the innermost is always the one going away.
  if (innermost_context == this) innermost_context = outer_;
}

namespace detail {

void assert_fail(const char* expr, const char* file, int line, const char* func) {
  char message[1024];
  std::snprintf(message, sizeof message, "assertion failed: %s at %s:%d in %s", expr, file, line, func);
  if (AssertHandler handler = installed_handler.load()) handler(message);  // a test's: it throws
  std::fprintf(stderr, "hailer: %s (a bug in hailer, not a bad input)\n", message);
  AssertContextAccess::print_all();
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail

}  // namespace hailer
