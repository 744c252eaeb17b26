// What the CLI says and understands, sans IO: typed commands parsed into requests, and every
// server message or local happening turned into one line for people (or one JSON object for
// scripts). The Asio shell in main.cpp only moves bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "client/client.hpp"

namespace hailer::cli {

/// Commands the client handles itself.
enum class LocalCommand : uint8_t { help, quit, wait };

/// A line the user typed that is not a command, with why.
struct CommandError {
  std::string message;
};

/// What a typed line means: a request for the server, a local command, nothing (blank), or an error.
using Command = std::variant<std::monostate, RequestBody, LocalCommand, CommandError>;

/// Parses one typed line; `view` decides what `cancel` cancels (a ringing call, else a wait).
Command parse_command(std::string_view line, const ProtocolClient& view);

/// One command of the help: how it is typed and what it does.
struct HelpEntry {
  std::string command;
  std::string does;
};

/// The commands, in the order the help lists them.
std::vector<HelpEntry> help_entries();

/// The help text (one command per line).
std::string help_text();

/// What describe() needs besides the message itself.
struct DescribeContext {
  bool callee = false;     ///< this client was the callee of the call a call_ended ends
  int64_t wall_now_s = 0;  ///< the local clock (Unix seconds) for times of day; 0: no times shown
};

/// One line for a server message; nothing when it says nothing new to a person (e.g. a plain ok).
std::optional<std::string> describe(const Heard& heard, const DescribeContext& context = {});

/// A time `ago_ms` before `wall_now_s`, as the local clock shows it ("14:03").
std::string local_time_of_day(int64_t wall_now_s, int64_t ago_ms);

/// The client's waits, for the `wait` command.
std::string describe_wait(const ProtocolClient& view, Time now);

}  // namespace hailer::cli
