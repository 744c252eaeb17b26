// The per-connection send queue: FIFO order, and no heap held by an idle connection.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "base/assert.hpp"
#include "host/out_queue.hpp"

using namespace hailer;

namespace {
SharedText text(int n) { return std::make_shared<const std::string>(std::to_string(n)); }
}  // namespace

TEST_CASE("out queue: messages leave in the order they were queued", "[host]") {
  OutQueue q;
  CHECK(q.empty());
  for (int n = 0; n < 100; ++n) q.push(text(n));
  CHECK(q.size() == 100);
  CHECK(*q.front() == "0");
  for (int n = 0; n < 50; ++n) CHECK(*q.pop() == std::to_string(n));
  for (int n = 100; n < 150; ++n) q.push(text(n));  // pushes after a compaction keep the order
  for (int n = 50; n < 150; ++n) CHECK(*q.pop() == std::to_string(n));
  CHECK(q.empty());
}

TEST_CASE("out queue: an empty queue holds no heap, a drained burst gives its memory back", "[host]") {
  OutQueue q;
  CHECK(q.capacity() == 0);
  for (int n = 0; n < 1000; ++n) q.push(text(n));
  CHECK(q.capacity() >= 1000);
  while (q.size() > 1) q.pop();
  CHECK(q.capacity() < 1000);  // compacted while draining
  q.pop();
  CHECK(q.empty());
  CHECK(q.capacity() == 0);
  q.push(text(1));  // one message in flight at a time: a few slots kept
  q.pop();
  CHECK(q.capacity() <= OutQueue::kept_capacity);
}

TEST_CASE("out queue: a reader that never catches up does not grow it without bound", "[host]") {
  OutQueue q;
  q.push(text(0));
  int out_of_order = 0;
  for (int n = 1; n <= 100'000; ++n) {
    q.push(text(n));  // always one behind: never empty
    if (*q.pop() != std::to_string(n - 1)) ++out_of_order;
  }
  CHECK(out_of_order == 0);
  CHECK(q.size() == 1);
  CHECK(q.capacity() <= 128);
}

TEST_CASE("out queue: front and pop of an empty queue are bugs", "[host]") {
  OutQueue q;
  CHECK_THROWS_AS(q.front(), AssertionFailure);
  CHECK_THROWS_AS(q.pop(), AssertionFailure);
  CHECK_THROWS_AS(q.push(nullptr), AssertionFailure);
}
