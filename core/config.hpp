// Every limit and timer of the core, as named fields with defaults. Nothing in the core is unbounded.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "protocol/messages.hpp"

namespace hailer {

/// Who may use a name on the calls face (docs/protocol.md, "Accounts"): off, names are free
/// while nobody connected uses them; open, the first key that logs in to a name owns it;
/// invite, as open but an unowned name is claimed only with an operator's one-time invite.
enum class AccountsMode : uint8_t { off, open, invite };

/// The names of a choice field's values, as flags, config files, the journal and scenarios
/// write them.
template <class E>
struct ConfigChoices;
/// FloorPolicy: deny or queue.
template <>
struct ConfigChoices<FloorPolicy> {
  static constexpr std::array<std::pair<std::string_view, FloorPolicy>, 2> values{
      {{"deny", FloorPolicy::deny}, {"queue", FloorPolicy::queue}}};
};
/// AccountsMode: off, open or invite.
template <>
struct ConfigChoices<AccountsMode> {
  static constexpr std::array<std::pair<std::string_view, AccountsMode>, 3> values{
      {{"off", AccountsMode::off}, {"open", AccountsMode::open}, {"invite", AccountsMode::invite}}};
};
/// A Config field whose value is one of a few names.
template <class T>
concept ConfigChoice = requires {
  ConfigChoices<T>::values;
};

/// The name of a choice's value.
template <ConfigChoice E>
std::string_view choice_name(E value) {
  for (const auto& [name, v] : ConfigChoices<E>::values)
    if (v == value) return name;
  return "?";
}

/// The value of a choice's name, or nothing.
template <ConfigChoice E>
std::optional<E> choice_from(std::string_view name) {
  for (const auto& [n, v] : ConfigChoices<E>::values)
    if (n == name) return v;
  return std::nullopt;
}

/// The core's limits and timers. Durations are integer milliseconds (units last in the name).
struct Config {
  // --- sessions and messages ---
  /// Most sessions (connections) open at once; one more is told server_full and closed.
  uint32_t max_sessions = 1000;
  /// Largest accepted client message (one JSON text) in bytes; larger ones get message_too_large.
  uint32_t max_message_bytes = 4096;
  /// A session silent for this long is closed and treated as disconnected (Mumble uses 30 s).
  int64_t heartbeat_timeout_ms = 30'000;
  /// The server's UDP port for media proofs, told in the register reply; 0 = not told (the
  /// adapter sets it once the socket is bound).
  uint16_t rendezvous_udp_port = 0;

  // --- media proofs (UDP, docs/protocol.md "Media endpoint") ---
  /// Proofs one session may have accepted per second (a client sends 4 a second until the first
  /// is answered, then one per 15 s); the rest are ignored, so nobody makes the server work
  /// without end on their behalf.
  uint32_t max_media_probes_per_session_per_second = 8;
  /// Proofs, valid or not, checked per source address per second; the rest are dropped unread.
  uint32_t max_media_probes_per_address_per_second = 64;
  /// Proofs checked per second from everyone together.
  uint32_t max_media_probes_per_second = 20'000;

  // --- calls ---
  /// How long a call rings before it ends with no_answer and a missed call for the callee.
  int64_t ring_timeout_ms = 30'000;
  /// Missed-call records kept per user; the oldest is dropped first.
  uint32_t max_missed_calls = 32;

  // --- waiting queue (call completion on busy) ---
  /// Waiters allowed on one callee; one more gets queue_full (Asterisk: 5 per callee).
  uint32_t max_waiters_per_callee = 10;
  /// Exclusive window in which the notified head waiter may call the freed callee.
  int64_t recall_window_ms = 15'000;
  /// A wait that has not completed after this long ends with reason expired.
  int64_t wait_expiry_ms = 600'000;
  /// Camp-on default for calls that do not say: ring the callee for the waiter at once.
  bool auto_connect_default = false;

  // --- push-to-talk ---
  /// Rooms open at once; a join that would open one more gets too_many_rooms.
  uint32_t max_rooms = 64;
  /// Members (students and instructors) per room; one more gets room_full.
  uint32_t max_room_members = 100;
  /// Floor requests queued per room under the queue policy; one more is denied queue_full.
  uint32_t max_floor_queue = 32;
  /// Longest turn; the floor is then revoked with reason max_talk_time.
  int64_t max_talk_ms = 60'000;
  /// A holder whose audio stays below the silence threshold this long loses the floor.
  int64_t silence_timeout_ms = 5'000;
  /// Audio frames at or below this level (dBFS) count as silence for the silence timeout.
  int32_t silence_threshold_dbfs = -50;
  /// Rooms that sessions from one address may have opened at once; one more join that would open
  /// a room gets too_many_rooms.
  uint32_t max_rooms_per_address = 4;
  /// Seconds of turns recorded per student (by name) per hour, and per address per hour; past
  /// either the turn goes on unrecorded and the room's instructors are told (recording_stopped).
  uint32_t recorded_seconds_per_student_per_hour = 600;
  uint32_t recorded_seconds_per_address_per_hour = 1800;
  /// Policy of a newly opened room.
  FloorPolicy default_floor_policy = FloorPolicy::deny;
  /// Whether names on the calls face belong to keys (off here, the core's neutral default;
  /// hailer-server turns it on unless --plaintext).
  AccountsMode accounts = AccountsMode::off;
  /// Secret an instructor must give to join as instructor; empty means anyone may.
  std::string instructor_token;
  /// Wrong instructor tokens one address may give per minute; beyond that its instructor joins
  /// are refused (too_many_attempts) until the minute has passed.
  uint32_t max_token_failures_per_address_per_minute = 5;
  /// Serial of the first recorded turn, so a restarted server does not reuse file names.
  uint64_t first_recording_serial = 1;
};

/// Returns a description of the first invalid field, or nothing when the config is usable.
std::optional<std::string> validate(const Config& config);

/// Which Config member a table row is, with its type.
using ConfigMember =
    std::variant<uint16_t Config::*, uint32_t Config::*, uint64_t Config::*, int32_t Config::*, int64_t Config::*,
                 bool Config::*, FloorPolicy Config::*, AccountsMode Config::*, std::string Config::*>;

/// One row of the config table: everything any part of hailer knows about a field. The table
/// drives validate(), the server's flags and --help, the config file's keys, the journal's
/// header, the scenario parser's `server` block and the table in docs/operations.md. Defaults
/// are the member initializers above: Config{} is the default column.
struct ConfigField {
  std::string_view name;  ///< snake_case; flags and config-file keys use dashes (`--max-talk-ms`)
  ConfigMember member;    ///< the field
  std::string_view unit;  ///< "ms", "bytes", "dBFS", "" for a count or a choice
  int64_t min;            ///< integers: the smallest value accepted
  int64_t max;            ///< integers: the largest; text: the longest, in bytes
  std::string_view doc;   ///< one line, for --help and the docs
  bool settable = true;   ///< false: set by the adapter (a port it bound), never by a flag or a file
  bool secret = false;    ///< redacted in the journal and never shown as a default
};

/// Every field of Config, in the order --help and the docs list them.
std::span<const ConfigField> config_fields();

/// The row named `name` (snake_case), or null.
const ConfigField* find_config_field(std::string_view name);

/// `--max-talk-ms` for `max_talk_ms`.
std::string config_flag(const ConfigField& field);

/// The field's value in `config` as text: a number, true/false, deny/queue, or the text itself.
std::string config_value_text(const Config& config, const ConfigField& field);

/// The field's range as people read it: "1 ms..24 h", "64..1048576 bytes", "deny or queue".
std::string config_range_text(const ConfigField& field);

/// The Markdown table of every settable field (flag, default, range, meaning): docs/operations.md
/// holds it between `<!-- config-table -->` markers, and a test keeps the two the same.
std::string config_table_markdown();

}  // namespace hailer
