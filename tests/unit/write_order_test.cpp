// The order a transport lets the host's messages go (host/write_order.hpp).
#include "host/write_order.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace hailer;

namespace {
SharedText shared(const char* text) { return std::make_shared<const std::string>(text); }
}  // namespace

TEST_CASE("write order: connections marked by one event are written newest first, each once", "[write_order]") {
  WriteOrder<int> order;
  CHECK(order.empty());
  CHECK(order.mark(1));  // the first mark asks for a flush
  CHECK_FALSE(order.mark(2));
  CHECK_FALSE(order.mark(3));
  CHECK(order.size() == 3);
  std::vector<int> written;
  order.flush([&](int c) { written.push_back(c); });
  CHECK(written == std::vector<int>{3, 2, 1});  // the waiter's notice (queued last) leaves first
  CHECK(order.empty());
  CHECK(order.mark(4));  // a new round asks for its own flush
}

TEST_CASE("write order: a connection marked again during a flush waits for the next one", "[write_order]") {
  WriteOrder<int> order;
  order.mark(1);
  order.mark(2);
  std::vector<int> written;
  bool remarked = false;
  order.flush([&](int c) {
    written.push_back(c);
    if (c == 2) remarked = order.mark(2);  // a write that could not finish marks itself again
  });
  CHECK(written == std::vector<int>{2, 1});
  CHECK(remarked);
  CHECK(order.size() == 1);
  written.clear();
  order.flush([&](int c) { written.push_back(c); });
  CHECK(written == std::vector<int>{2});
}

TEST_CASE("deferred sends: nothing is held until a broadcast, which asks for one flush", "[write_order]") {
  DeferredSends d;
  CHECK_FALSE(d.holding());
  const std::vector<SessionId> room{SessionId{1}, SessionId{2}};
  CHECK(d.broadcast(room, shared("floor_taken")));
  CHECK(d.holding());
  CHECK_FALSE(d.broadcast(room, shared("member_left")));  // the flush is already asked for
}

TEST_CASE("deferred sends: messages behind a broadcast keep each connection's order", "[write_order]") {
  DeferredSends d;
  const std::vector<SessionId> room{SessionId{1}, SessionId{2}, SessionId{3}};
  d.broadcast(room, shared("floor_taken"));
  d.text(SessionId{2}, shared("ok"));
  d.broadcast(std::vector<SessionId>{SessionId{3}, SessionId{1}}, shared("member_left"));
  std::vector<std::pair<uint64_t, std::string>> sent;
  d.flush([&](SessionId to, const SharedText& text) { sent.emplace_back(to.value, *text); });
  const std::vector<std::pair<uint64_t, std::string>> expected{
      {1, "floor_taken"}, {2, "floor_taken"}, {3, "floor_taken"}, {2, "ok"}, {3, "member_left"}, {1, "member_left"}};
  CHECK(sent == expected);
  CHECK_FALSE(d.holding());
}

TEST_CASE("deferred sends: one broadcast text is shared by all its receivers, never copied", "[write_order]") {
  DeferredSends d;
  const auto text = shared("floor_idle");
  d.broadcast(std::vector<SessionId>{SessionId{7}, SessionId{8}}, text);
  std::vector<const std::string*> buffers;
  d.flush([&](SessionId, const SharedText& t) { buffers.push_back(t.get()); });
  CHECK(buffers == std::vector<const std::string*>{text.get(), text.get()});
}
