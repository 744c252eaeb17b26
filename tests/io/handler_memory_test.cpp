#include "net/handler_memory.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <type_traits>
#include <vector>

using hailer::net::HandlerAllocator;
using hailer::net::HandlerMemory;
using hailer::net::pooled;

TEST_CASE("handler memory: a freed block is the next one handed out", "[net]") {
  HandlerMemory m;
  void* a = m.allocate(200);
  m.deallocate(a, 200);
  CHECK(m.free_blocks() == 1);
  void* b = m.allocate(HandlerMemory::block_bytes);  // any size up to a block takes it
  CHECK(b == a);
  CHECK(m.free_blocks() == 0);
  m.deallocate(b, HandlerMemory::block_bytes);
}

TEST_CASE("handler memory: an operation over a block's size is not kept", "[net]") {
  HandlerMemory m;
  void* big = m.allocate(HandlerMemory::block_bytes + 1);
  m.deallocate(big, HandlerMemory::block_bytes + 1);
  CHECK(m.free_blocks() == 0);
}

TEST_CASE("handler memory: the free list keeps at most its bound", "[net]") {
  HandlerMemory m;
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < HandlerMemory::max_free_blocks + 10; ++i) blocks.push_back(m.allocate(64));
  for (void* p : blocks) m.deallocate(p, 64);
  CHECK(m.free_blocks() == HandlerMemory::max_free_blocks);
}

TEST_CASE("handler memory: the allocator rebinds and shares this thread's blocks", "[net]") {
  HandlerAllocator<void> any;
  HandlerAllocator<std::array<char, 100>> rebound(any);
  const std::size_t before = hailer::net::handler_memory().free_blocks();
  auto* p = rebound.allocate(1);
  rebound.deallocate(p, 1);
  CHECK(hailer::net::handler_memory().free_blocks() == std::max<std::size_t>(before, 1));
  auto* q = HandlerAllocator<std::array<char, 200>>(any).allocate(1);  // the same block again
  CHECK(static_cast<void*>(q) == static_cast<void*>(p));
  HandlerAllocator<std::array<char, 200>>(any).deallocate(q, 1);
  CHECK(any == rebound);
}

TEST_CASE("handler memory: a pooled handler runs what it wraps", "[net]") {
  int got = 0;
  auto h = pooled([&got](int a, int b) { got = a + b; });
  h(2, 3);
  CHECK(got == 5);
  static_assert(std::is_same_v<decltype(h.get_allocator()), HandlerAllocator<void>>);
}
