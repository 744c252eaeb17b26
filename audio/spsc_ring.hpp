// A single-producer single-consumer ring of samples between a sound device's real-time
// callback and the app's thread: no locks, no allocation after construction, bounded.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hailer::audio {

/// Lock-free ring of int16 samples; one thread pushes, one thread pops.
class SpscRing {
 public:
  /// A ring holding at most `capacity` samples.
  explicit SpscRing(std::size_t capacity) : buffer_(capacity + 1) {}

  /// Pushes as many of `samples` as fit; returns how many (the rest is dropped by the caller).
  std::size_t push(std::span<const int16_t> samples) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    const std::size_t tail = tail_.load(std::memory_order_acquire);
    const std::size_t free = (tail + buffer_.size() - head - 1) % buffer_.size();
    const std::size_t n = samples.size() < free ? samples.size() : free;
    for (std::size_t i = 0; i < n; ++i) buffer_[(head + i) % buffer_.size()] = samples[i];
    head_.store((head + n) % buffer_.size(), std::memory_order_release);
    return n;
  }

  /// Pops up to `out.size()` samples; returns how many.
  std::size_t pop(std::span<int16_t> out) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    const std::size_t head = head_.load(std::memory_order_acquire);
    const std::size_t available = (head + buffer_.size() - tail) % buffer_.size();
    const std::size_t n = out.size() < available ? out.size() : available;
    for (std::size_t i = 0; i < n; ++i) out[i] = buffer_[(tail + i) % buffer_.size()];
    tail_.store((tail + n) % buffer_.size(), std::memory_order_release);
    return n;
  }

  /// Samples waiting (exact for the consumer, a lower bound for the producer's view).
  std::size_t size() const {
    const std::size_t head = head_.load(std::memory_order_acquire);
    const std::size_t tail = tail_.load(std::memory_order_acquire);
    return (head + buffer_.size() - tail) % buffer_.size();
  }

  /// Most samples the ring holds.
  std::size_t capacity() const { return buffer_.size() - 1; }

 private:
  std::vector<int16_t> buffer_;
  std::atomic<std::size_t> head_{0};  // next write (producer)
  std::atomic<std::size_t> tail_{0};  // next read (consumer)
};

}  // namespace hailer::audio
