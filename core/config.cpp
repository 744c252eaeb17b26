#include "core/config.hpp"

namespace hailer {

namespace {
// The ceilings keep every queue and table small enough to scan on each event.
constexpr uint32_t max_sessions_ceiling = 100'000;
constexpr int64_t max_timer_ms = 24LL * 3600 * 1000;

bool timer_ok(int64_t ms) { return ms > 0 && ms <= max_timer_ms; }
}  // namespace

std::optional<std::string> validate(const Config& c) {
  if (c.max_sessions == 0 || c.max_sessions > max_sessions_ceiling) return "max_sessions must be 1..100000";
  if (c.max_message_bytes < 64 || c.max_message_bytes > 1'048'576) return "max_message_bytes must be 64..1048576";
  if (!timer_ok(c.heartbeat_timeout_ms)) return "heartbeat_timeout_ms must be 1 ms..24 h";
  if (!timer_ok(c.ring_timeout_ms)) return "ring_timeout_ms must be 1 ms..24 h";
  if (c.max_missed_calls == 0 || c.max_missed_calls > 1000) return "max_missed_calls must be 1..1000";
  if (c.max_waiters_per_callee == 0 || c.max_waiters_per_callee > 1000) return "max_waiters_per_callee must be 1..1000";
  if (!timer_ok(c.recall_window_ms)) return "recall_window_ms must be 1 ms..24 h";
  if (!timer_ok(c.wait_expiry_ms)) return "wait_expiry_ms must be 1 ms..24 h";
  if (c.max_rooms == 0 || c.max_rooms > 10'000) return "max_rooms must be 1..10000";
  if (c.max_room_members == 0 || c.max_room_members > 10'000) return "max_room_members must be 1..10000";
  if (c.max_floor_queue == 0 || c.max_floor_queue > 10'000) return "max_floor_queue must be 1..10000";
  if (!timer_ok(c.max_talk_ms)) return "max_talk_ms must be 1 ms..24 h";
  if (!timer_ok(c.silence_timeout_ms)) return "silence_timeout_ms must be 1 ms..24 h";
  if (c.silence_threshold_dbfs > 0 || c.silence_threshold_dbfs < -150) return "silence_threshold_dbfs must be -150..0";
  if (c.max_media_probes_per_session_per_second == 0 || c.max_media_probes_per_session_per_second > 1000) {
    return "max_media_probes_per_session_per_second must be 1..1000";
  }
  if (c.max_media_probes_per_address_per_second == 0 || c.max_media_probes_per_address_per_second > 100'000) {
    return "max_media_probes_per_address_per_second must be 1..100000";
  }
  if (c.max_media_probes_per_second == 0 || c.max_media_probes_per_second > 100'000) {
    return "max_media_probes_per_second must be 1..100000";
  }
  if (c.max_token_failures_per_address_per_minute == 0 || c.max_token_failures_per_address_per_minute > 10'000) {
    return "max_token_failures_per_address_per_minute must be 1..10000";
  }
  if (c.max_rooms_per_address == 0 || c.max_rooms_per_address > 10'000) return "max_rooms_per_address must be 1..10000";
  if (c.recorded_seconds_per_student_per_hour == 0 || c.recorded_seconds_per_student_per_hour > 3600) {
    return "recorded_seconds_per_student_per_hour must be 1..3600";
  }
  if (c.recorded_seconds_per_address_per_hour == 0 || c.recorded_seconds_per_address_per_hour > 100'000) {
    return "recorded_seconds_per_address_per_hour must be 1..100000";
  }
  if (c.instructor_token.size() > 128) return "instructor_token must be at most 128 bytes";
  return std::nullopt;
}

}  // namespace hailer
