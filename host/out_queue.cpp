#include "host/out_queue.hpp"

#include <utility>

#include "base/assert.hpp"

namespace hailer {

void OutQueue::push(SharedText text) {
  HAILER_ASSERT(text != nullptr);
  items_.push_back(std::move(text));
  HAILER_ASSERT(!empty());
}

const SharedText& OutQueue::front() const {
  HAILER_ASSERT(!empty());
  return items_[head_];
}

SharedText OutQueue::pop() {
  HAILER_ASSERT(!empty());
  SharedText text = std::move(items_[head_++]);
  compact();
  HAILER_ASSERT(head_ <= items_.size());
  return text;
}

// Drained: back to no heap (or a few slots). Half consumed: the consumed front is dropped, so a
// reader that never quite catches up does not grow the vector forever; each element moves at
// most once per halving, so pop stays O(1) amortized; a vector four times too big is shrunk.
void OutQueue::compact() {
  if (empty()) {
    items_.clear();
    head_ = 0;
    if (items_.capacity() > kept_capacity) std::vector<SharedText>().swap(items_);
    return;
  }
  if (head_ >= 32 && head_ * 2 >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
    if (items_.capacity() > 4 * items_.size()) items_.shrink_to_fit();  // a burst is draining
  }
}

}  // namespace hailer
