#include "apps/cli/console.hpp"

#include <algorithm>
#include <ctime>
#include <sstream>

#include "protocol/codec.hpp"
#include "protocol/errors.hpp"
#include "protocol/untrusted_text.hpp"

namespace hailer::cli {

namespace {

// Text the server sent, as it may be shown: controls, bidi and invisible characters made
// visible (a hostile server or anyone on a plaintext path could send a name that clears the
// screen or sets the terminal's title).
std::string shown(std::string_view network_text) { return escape_untrusted(network_text); }

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::string seconds(int64_t ms) {
  std::ostringstream o;
  o << (ms + 500) / 1000 << " s";
  return o.str();
}

std::string ago(int64_t ms) {
  const int64_t s = ms / 1000;
  if (s < 60) return "just now";
  if (s < 3600) return std::to_string(s / 60) + " min ago";
  if (s < 86'400) return std::to_string(s / 3600) + " h ago";
  return std::to_string(s / 86'400) + " days ago";
}

std::string ordinal_line(uint32_t position) { return "number " + std::to_string(position) + " in line"; }

std::string presence_words(const UserInfo& u) {
  std::string out;
  switch (u.state) {
    case PresenceState::available:
      out = "available";
      break;
    case PresenceState::ringing:
      out = "ringing";
      break;
    case PresenceState::in_call:
      out = "in a call";
      break;
  }
  if (u.in_line.value_or(false)) out += ", waiting in line to call someone";
  if (u.waiting > 0) out += ", " + std::to_string(u.waiting) + " in line for them";
  return out;
}

std::optional<std::string> describe_ended(const CallEnded& e, const DescribeContext& context) {
  const std::string peer = shown(e.peer);
  switch (e.reason) {
    case EndReason::hangup:
      return "call with " + peer + " ended: " + (e.by == e.peer ? peer + " hung up" : "you hung up");
    case EndReason::rejected:
      return e.by == e.peer ? peer + " rejected the call" : "you rejected the call from " + peer;
    case EndReason::no_answer:
      // The callee's missed_call line says it from that side.
      if (context.callee) return std::nullopt;
      return "no answer from " + peer + " (the call rang out)";
    case EndReason::cancelled:
      return e.by == e.peer ? peer + " cancelled the call" : "call to " + peer + " cancelled";
    case EndReason::peer_disconnected:
      return "call with " + peer + " ended: " + peer + " went offline";
  }
  return "call with " + peer + " ended";
}

std::string describe_wait_ended(const WaitEnded& e) {
  const std::string callee = shown(e.callee);
  switch (e.reason) {
    case WaitEndReason::completed:
      return "your wait for " + callee + " is over: calling";
    case WaitEndReason::cancelled:
      return "you left the line for " + callee;
    case WaitEndReason::expired:
      return "your wait for " + callee + " expired";
    case WaitEndReason::window_expired:
      return "you did not call " + callee + " back in time: your turn passed";
    case WaitEndReason::callee_offline:
      return callee + " went offline: your wait ended";
  }
  return "your wait for " + callee + " ended";
}

std::optional<std::string> describe_ok(const OkReply& ok, std::string_view request_type,
                                       const DescribeContext& context) {
  if (const auto* r = std::get_if<RegisteredData>(&ok.data)) return "registered as " + shown(r->name);
  if (const auto* w = std::get_if<WhoData>(&ok.data)) {
    if (w->users.empty()) return "nobody is online";
    std::string out = "online:";
    for (const auto& u : w->users) out += "\n  " + shown(u.name) + "  " + presence_words(u);
    return out;
  }
  if (const auto* m = std::get_if<MissedData>(&ok.data)) {
    if (m->calls.empty()) return "no missed calls";
    std::string out = "missed calls:";
    for (const auto& c : m->calls) {
      out += "\n  " + shown(c.from);
      if (m->now_ms && context.wall_now_s > 0) {
        const int64_t ago_ms = std::max<int64_t>(0, *m->now_ms - c.at_ms);
        out += " at " + local_time_of_day(context.wall_now_s, ago_ms) + " (" + ago(ago_ms) + ")";
      }
    }
    return out;
  }
  if (request_type == "accept") return std::nullopt;  // call_connected follows
  if (request_type == "add_key") return "key added: that device can log in to your name now";
  return std::nullopt;
}

}  // namespace

Command parse_command(std::string_view line, const ProtocolClient& view) {
  const std::string text = trim(line);
  if (text.empty()) return std::monostate{};
  std::istringstream in(text);
  std::string word, arg, extra;
  in >> word >> arg >> extra;
  if (!extra.empty()) return CommandError{"too many words: try 'help'"};
  auto no_arg = [&](RequestBody body) -> Command {
    if (!arg.empty()) return CommandError{"'" + word + "' takes no argument"};
    return body;
  };
  if (word == "call") {
    if (arg.empty()) return CommandError{"call whom? e.g. 'call bob'"};
    return RequestBody{CallRequest{arg, std::nullopt}};
  }
  if (word == "add-key") {
    if (arg.empty()) return CommandError{"add whose key? e.g. 'add-key 3b6a...' (hailer --show-key prints it)"};
    return RequestBody{AddKeyRequest{arg}};
  }
  if (word == "accept") return no_arg(AcceptRequest{});
  if (word == "reject") return no_arg(RejectRequest{});
  if (word == "hangup") return no_arg(HangupRequest{});
  if (word == "who") return no_arg(WhoRequest{});
  if (word == "missed") return no_arg(MissedRequest{});
  if (word == "cancel") {
    // A ringing outgoing call first; otherwise the place in line.
    if (view.call().phase == CallPhase::calling || view.wait().phase == WaitPhase::none) return no_arg(CancelRequest{});
    return no_arg(CancelWaitRequest{});
  }
  if (word == "wait" || word == "help" || word == "quit" || word == "exit") {
    if (!arg.empty()) return CommandError{"'" + word + "' takes no argument"};
    if (word == "wait") return LocalCommand::wait;
    if (word == "help") return LocalCommand::help;
    return LocalCommand::quit;
  }
  return CommandError{"unknown command '" + word + "': try 'help'"};
}

std::vector<HelpEntry> help_entries() {
  return {
      {"call USER", "call a user (if they are busy you are queued and told when they are free)"},
      {"accept", "answer the call ringing for you"},
      {"reject", "refuse it"},
      {"hangup", "end the call (or stop a ringing one)"},
      {"cancel", "stop your ringing call, or leave the line you wait in"},
      {"who", "who is online, and how busy"},
      {"wait", "your place in line"},
      {"missed", "calls you missed"},
      {"add-key KEY", "let your other device log in as you (KEY: what 'hailer --show-key' prints there)"},
      {"help", "this text"},
      {"quit", "leave (end of input does the same)"},
  };
}

std::string help_text() {
  std::string out = "commands:";
  for (const auto& [command, does] : help_entries()) {
    out += "\n  " + command + std::string(command.size() < 12 ? 12 - command.size() : 1, ' ') + does;
  }
  return out;
}

std::string local_time_of_day(int64_t wall_now_s, int64_t ago_ms) {
  const std::time_t at = static_cast<std::time_t>(wall_now_s - ago_ms / 1000);
  std::tm local{};
  if (::localtime_r(&at, &local) == nullptr) return "?";
  char text[16];
  std::strftime(text, sizeof text, "%H:%M", &local);
  return text;
}

std::optional<std::string> describe(const Heard& heard, const DescribeContext& context) {
  return std::visit(
      [&](const auto& m) -> std::optional<std::string> {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, OkReply>) {
          return describe_ok(m, heard.request_type, context);
        } else if constexpr (std::is_same_v<T, ErrorReply>) {
          return "error: " + shown(m.message) + " (" + std::string(to_string(m.code)) + ")";
        } else if constexpr (std::is_same_v<T, MediaReady>) {
          return "media endpoint confirmed by the server: " + shown(m.address) + ":" + std::to_string(m.port);
        } else if constexpr (std::is_same_v<T, CallRinging>) {
          if (m.role == CallRole::callee) return "incoming call from " + shown(m.peer) + ": type accept or reject";
          return "calling " + shown(m.peer) + "... ringing";
        } else if constexpr (std::is_same_v<T, CallConnected>) {
          return "connected to " + shown(m.peer) + " (audio to " + shown(m.peer_media.address) + ":" +
                 std::to_string(m.peer_media.port) + ")";
        } else if constexpr (std::is_same_v<T, CallEnded>) {
          return describe_ended(m, context);
        } else if constexpr (std::is_same_v<T, MissedCall>) {
          if (context.wall_now_s > 0)
            return "missed call from " + shown(m.from) + " at " + local_time_of_day(context.wall_now_s, 0) +
                   ": it rang out unanswered";
          return "missed call from " + shown(m.from) + ": it rang out unanswered";
        } else if constexpr (std::is_same_v<T, WaitUpdate>) {
          if (m.status == WaitStatus::suspended) {
            return shown(m.callee) + " is free but you are busy: you keep your place (" + ordinal_line(m.position) +
                   ")";
          }
          return shown(m.callee) + " is busy: you are " + ordinal_line(m.position);
        } else if constexpr (std::is_same_v<T, CalleeAvailable>) {
          if (m.auto_connect) return shown(m.callee) + " is free now: ringing them for you";
          return shown(m.callee) + " is free now: call within " + seconds(m.window_ms) + " (type: call " +
                 shown(m.callee) + ")";
        } else if constexpr (std::is_same_v<T, WaitEnded>) {
          if (m.reason == WaitEndReason::completed) return std::nullopt;  // the call's own lines say it
          return describe_wait_ended(m);
        } else if constexpr (std::is_same_v<T, WaitingCount>) {
          // Zero follows a notice to the last one in line, just before they call back: said
          // then, "nobody waits" reads as if they gave up.
          if (m.count == 0) return std::nullopt;
          return std::to_string(m.count) + (m.count == 1 ? " caller is" : " callers are") + " waiting for you";
        } else if constexpr (std::is_same_v<T, ServerClosing>) {
          return "the server is shutting down";
        } else {
          return std::nullopt;  // PTT messages: not this client's face
        }
      },
      heard.message);
}

std::string describe_wait(const ProtocolClient& view, Time now) {
  const WaitView& w = view.wait();
  switch (w.phase) {
    case WaitPhase::none:
      return "you are not waiting for anyone";
    case WaitPhase::queued:
      return "waiting for " + shown(w.callee) + ": " + ordinal_line(w.position);
    case WaitPhase::suspended:
      return "waiting for " + shown(w.callee) + " (kept while you are busy): " + ordinal_line(w.position);
    case WaitPhase::recall: {
      const int64_t left_ms = std::max<int64_t>(0, (w.window_ends - now).us / 1000);
      return shown(w.callee) + " is free: call within " + seconds(left_ms);
    }
  }
  return "";
}

}  // namespace hailer::cli
