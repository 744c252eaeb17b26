#include "net/handler_memory.hpp"

#include "base/assert.hpp"

namespace hailer::net {

HandlerMemory::~HandlerMemory() {
  for (void* p : free_) ::operator delete(p);
}

void* HandlerMemory::allocate(std::size_t bytes) {
  HAILER_ASSERT(bytes > 0);
  // Reserved once, here where throwing is allowed: giving a block back never allocates.
  if (free_.capacity() < max_free_blocks) free_.reserve(max_free_blocks);
  if (bytes > block_bytes) return ::operator new(bytes);
  if (free_.empty()) return ::operator new(block_bytes);
  void* p = free_.back();
  free_.pop_back();
  return p;
}

void HandlerMemory::deallocate(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes > block_bytes || free_.size() >= max_free_blocks) {
    ::operator delete(p);
    return;
  }
  free_.push_back(p);  // within the capacity reserved by allocate()
  HAILER_ASSERT(free_.size() <= max_free_blocks);
}

HandlerMemory& handler_memory() {
  thread_local HandlerMemory memory;
  return memory;
}

}  // namespace hailer::net
