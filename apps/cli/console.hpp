// What the CLI says and understands, sans IO: typed commands parsed into requests, and every
// server message or local happening turned into one line for people (or one JSON object for
// scripts). The Asio shell in main.cpp only moves bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

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

/// The help text (one command per line).
std::string help_text();

/// One line for a server message; nothing when it says nothing new to a person (e.g. a plain ok).
std::optional<std::string> describe(const Heard& heard);

/// The client's waits, for the `wait` command.
std::string describe_wait(const ProtocolClient& view, Time now);

}  // namespace hailer::cli
