// Reads a fuzzer's bytes as a stream of small decisions (a byte, a number, a slice).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace hailer::fuzz {

/// The fuzzer's input, consumed front to back; reads past the end give zeros.
class Input {
 public:
  Input(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(byte() << 8 | byte()); }
  /// A slice of up to `max` bytes whose length is the next byte (or two).
  std::span<const uint8_t> slice(std::size_t max) {
    std::size_t n = max > 255 ? u16() : byte();
    n = std::min({n, max, size_ - std::min(at_, size_)});
    std::span<const uint8_t> s(data_ + std::min(at_, size_), n);
    at_ += n;
    return s;
  }
  std::string text(std::size_t max) {
    auto s = slice(max);
    return std::string(s.begin(), s.end());
  }

 private:
  const uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace hailer::fuzz
