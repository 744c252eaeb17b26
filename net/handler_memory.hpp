// Memory for Asio's pending operations, reused. Asio allocates an object for every
// asynchronous operation (a write, a wait, a posted handler) and keeps only two freed ones per
// thread for reuse; a flush that writes ten connections allocated eight. Handlers wrapped with
// pooled() take their operation's memory from a free list of fixed blocks instead: bounded,
// one per thread (an io_context is run by one thread here), and outliving the io_context.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace hailer::net {

/// A free list of equal blocks for operations of at most block_bytes; larger ones go to the
/// heap. Not thread-safe: each thread has its own (handler_memory()).
class HandlerMemory {
 public:
  /// The size of every block (Asio's write and wait operations with hailer's handlers fit).
  static constexpr std::size_t block_bytes = 512;
  /// Free blocks kept at most; beyond, freed blocks go back to the heap.
  static constexpr std::size_t max_free_blocks = 1024;

  HandlerMemory() = default;
  HandlerMemory(const HandlerMemory&) = delete;
  HandlerMemory& operator=(const HandlerMemory&) = delete;
  ~HandlerMemory();

  /// Memory for `bytes` (aligned as operator new aligns).
  void* allocate(std::size_t bytes);
  /// Gives back what allocate(bytes) returned.
  void deallocate(void* p, std::size_t bytes) noexcept;
  /// Blocks on the free list now.
  std::size_t free_blocks() const { return free_.size(); }

 private:
  std::vector<void*> free_;
};

/// This thread's handler memory (destroyed when the thread ends, after anything it ran).
HandlerMemory& handler_memory();

/// The allocator Asio finds on a pooled() handler and rebinds to each operation's type.
template <typename T>
struct HandlerAllocator {
  using value_type = T;
  HandlerAllocator() noexcept = default;
  /// Any rebound copy draws on the same memory.
  template <typename U>
  HandlerAllocator(const HandlerAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor): rebinding
  /// Memory for `n` objects of T.
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= alignof(std::max_align_t), "a block is aligned as operator new aligns");
    return static_cast<T*>(handler_memory().allocate(n * sizeof(T)));
  }
  /// Gives back what allocate(n) returned.
  void deallocate(T* p, std::size_t n) noexcept { handler_memory().deallocate(p, n * sizeof(T)); }
  /// All are interchangeable.
  template <typename U>
  bool operator==(const HandlerAllocator<U>&) const noexcept {
    return true;
  }
};

/// A completion handler whose operation's memory comes from handler_memory().
template <typename F>
struct Pooled {
  F f;
  using allocator_type = HandlerAllocator<void>;
  /// What Asio allocates this handler's operation with.
  allocator_type get_allocator() const noexcept { return {}; }
  /// Runs the handler.
  template <typename... Args>
  void operator()(Args&&... args) {
    f(std::forward<Args>(args)...);
  }
};

/// Wraps `f` so that the operation it completes is allocated from handler_memory().
template <typename F>
Pooled<std::decay_t<F>> pooled(F&& f) {
  return Pooled<std::decay_t<F>>{std::forward<F>(f)};
}

}  // namespace hailer::net
