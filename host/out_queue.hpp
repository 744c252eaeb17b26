// The messages waiting for one client's socket. A big class is mostly idle connections, so an
// empty queue must cost nothing: std::deque allocates a 512-byte block and its map as soon as it
// exists (about 576 bytes per connection, 7% of a student's budget), this holds no heap while
// empty and gives back what a burst (1,000 member_joined) grew once it has drained.
#pragma once

#include <cstddef>
#include <vector>

#include "host/host_port.hpp"

namespace hailer {

/// A FIFO of shared messages: a vector and a read position, compacted as it is consumed.
class OutQueue {
 public:
  /// Capacity kept after draining; anything larger is given back to the allocator.
  static constexpr std::size_t kept_capacity = 4;

  /// True when nothing waits.
  bool empty() const { return head_ == items_.size(); }
  /// Messages waiting.
  std::size_t size() const { return items_.size() - head_; }
  /// Slots allocated (waiting messages plus consumed ones not yet compacted away).
  std::size_t capacity() const { return items_.capacity(); }
  /// Appends `text` at the back.
  void push(SharedText text);
  /// The oldest message; the queue must not be empty.
  const SharedText& front() const;
  /// Removes and returns the oldest message; the queue must not be empty.
  SharedText pop();

 private:
  void compact();

  std::vector<SharedText> items_;
  std::size_t head_ = 0;  // items_[0, head_) are consumed (null)
};

}  // namespace hailer
