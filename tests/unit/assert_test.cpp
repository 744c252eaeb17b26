// HAILER_ASSERT: a bug aborts the process, with the expression, the place and what the thread was
// doing; only a test runner's handler turns it into an exception.
#include "base/assert.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using namespace hailer;

namespace {

struct Child {
  int status = 0;
  std::string stderr_text;
};

// Runs `body` in a forked child with the default (aborting) handler and stderr captured.
template <typename Body>
Child run_in_child(Body body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipe_fds[1], 2);
    ::close(pipe_fds[0]);
    set_assert_handler(nullptr);
    body();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  Child child;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    child.stderr_text.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  REQUIRE(::waitpid(pid, &child.status, 0) == pid);
  return child;
}

void describe_seed(const void* arg, char* out, std::size_t size) {
  std::snprintf(out, size, "running seed %d", *static_cast<const int*>(arg));
}

}  // namespace

TEST_CASE("a failed assertion aborts and names the expression, the place and the context", "[assert]") {
  const Child child = run_in_child([] {
    const int seed = 7;
    const AssertContext context(describe_seed, &seed);
    const int answer = 41;
    HAILER_ASSERT(answer == 42);
  });
  REQUIRE(WIFSIGNALED(child.status));
  CHECK(WTERMSIG(child.status) == SIGABRT);
  CHECK(child.stderr_text.find("assertion failed: answer == 42") != std::string::npos);
  CHECK(child.stderr_text.find("assert_test.cpp") != std::string::npos);
  CHECK(child.stderr_text.find("while running seed 7") != std::string::npos);
}

TEST_CASE("a passing assertion and a context that has ended print nothing", "[assert]") {
  const Child child = run_in_child([] {
    const int seed = 9;
    { const AssertContext context(describe_seed, &seed); }
    HAILER_ASSERT(seed == 9);
    std::fflush(stderr);
  });
  REQUIRE(WIFEXITED(child.status));
  CHECK(WEXITSTATUS(child.status) == 0);
  CHECK(child.stderr_text.empty());
}

TEST_CASE("an ended context is not named by a later failure", "[assert]") {
  const Child child = run_in_child([] {
    const int seed = 3;
    { const AssertContext context(describe_seed, &seed); }
    HAILER_ASSERT(seed == 4);
  });
  REQUIRE(WIFSIGNALED(child.status));
  CHECK(child.stderr_text.find("assertion failed: seed == 4") != std::string::npos);
  CHECK(child.stderr_text.find("while") == std::string::npos);
}

TEST_CASE("in the test runner a failed assertion throws AssertionFailure with its message", "[assert]") {
  const int value = 1;
  try {
    HAILER_ASSERT(value == 2);
    FAIL("the assertion did not fire");
  } catch (const AssertionFailure& e) {
    CHECK(std::string(e.what()).find("assertion failed: value == 2") != std::string::npos);
  }
}
