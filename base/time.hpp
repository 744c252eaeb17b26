// Strong integer-microsecond time types. The core never reads a clock: time is passed in.
#pragma once

#include <compare>
#include <cstdint>

namespace hailer {

/// A span of time in integer microseconds.
struct Duration {
  int64_t us = 0;

  /// Builds a duration from milliseconds.
  static constexpr Duration from_ms(int64_t ms) { return Duration{ms * 1000}; }
  /// Builds a duration from seconds.
  static constexpr Duration from_s(int64_t s) { return Duration{s * 1'000'000}; }
  /// Whole milliseconds, truncated toward zero.
  constexpr int64_t ms() const { return us / 1000; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration{us + o.us}; }
  constexpr Duration operator-(Duration o) const { return Duration{us - o.us}; }
};

/// A point on the (virtual or real) monotonic clock, in microseconds since its epoch.
struct Time {
  int64_t us = 0;

  /// Builds a time point from milliseconds since the epoch.
  static constexpr Time from_ms(int64_t ms) { return Time{ms * 1000}; }
  /// Whole milliseconds since the epoch.
  constexpr int64_t ms() const { return us / 1000; }

  constexpr auto operator<=>(const Time&) const = default;
  constexpr Time operator+(Duration d) const { return Time{us + d.us}; }
  constexpr Time operator-(Duration d) const { return Time{us - d.us}; }
  constexpr Duration operator-(Time o) const { return Duration{us - o.us}; }
};

}  // namespace hailer
