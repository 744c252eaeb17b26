// The CLI's typed commands (apps/cli/console): what each line becomes, and what `cancel` cancels
// in every state of the client's call and wait.
#include "apps/cli/console.hpp"

#include <catch2/catch.hpp>

using namespace hailer;
using hailer::cli::Command;
using hailer::cli::CommandError;
using hailer::cli::LocalCommand;
using hailer::cli::parse_command;

namespace {

// A registered client, moved through states by what the server says.
struct Client {
  ProtocolClient client{[] {
    ClientConfig c;
    c.name = "alice";
    return c;
  }()};
  std::vector<ClientEffect> out;
  Time now{0};
  Client() {
    client.connected(now, out);
    hear(
        R"({"type":"ok","id":1,"name":"alice","heartbeat_ms":30000,"media_token":"00112233445566778899aabbccddeeff","media_id":"0123456789abcdef"})");
  }
  void hear(const std::string& text) {
    out.clear();
    client.received(now, text, out);
  }
  void send(RequestBody body) {
    out.clear();
    client.send(now, std::move(body), out);
  }
  void ring_out_to(const std::string& peer, int call_id) {
    send(CallRequest{peer, std::nullopt});
    hear(R"({"type":"call_ringing","call_id":)" + std::to_string(call_id) + R"(,"peer":")" + peer +
         R"(","role":"caller"})");
    REQUIRE(client.call().phase == CallPhase::calling);
  }
  void wait_for(const std::string& callee) {
    send(CallRequest{callee, std::nullopt});
    hear(R"({"type":"wait_update","callee":")" + callee + R"(","position":1,"status":"queued"})");
    REQUIRE(client.wait().phase != WaitPhase::none);
  }
};

template <typename T>
bool is_request(const Command& c) {
  const auto* body = std::get_if<RequestBody>(&c);
  return body != nullptr && std::holds_alternative<T>(*body);
}

}  // namespace

TEST_CASE("cli: cancel with nothing to cancel asks the server to cancel a call (it answers why not)", "[cli]") {
  Client c;
  REQUIRE(c.client.call().phase == CallPhase::idle);
  REQUIRE(c.client.wait().phase == WaitPhase::none);
  CHECK(is_request<CancelRequest>(parse_command("cancel", c.client)));
}

TEST_CASE("cli: cancel while ringing out cancels the call", "[cli]") {
  Client c;
  c.ring_out_to("bob", 4);
  CHECK(is_request<CancelRequest>(parse_command("cancel", c.client)));
}

TEST_CASE("cli: cancel while waiting in line leaves the line", "[cli]") {
  Client c;
  c.wait_for("bob");
  REQUIRE(c.client.call().phase == CallPhase::idle);
  CHECK(is_request<CancelWaitRequest>(parse_command("cancel", c.client)));
  // Also once the callee is free and the recall window is open.
  c.hear(R"({"type":"callee_available","callee":"bob","window_ms":15000,"auto_connect":false})");
  REQUIRE(c.client.wait().phase == WaitPhase::recall);
  CHECK(is_request<CancelWaitRequest>(parse_command("cancel", c.client)));
}

TEST_CASE("cli: cancel while ringing out and waiting cancels the ringing call first", "[cli]") {
  Client c;
  c.wait_for("bob");
  c.ring_out_to("carol", 5);
  REQUIRE(c.client.wait().phase != WaitPhase::none);
  CHECK(is_request<CancelRequest>(parse_command("cancel", c.client)));
  // Once the call to carol is over, cancel leaves the line for bob.
  c.hear(R"({"type":"call_ended","call_id":5,"peer":"carol","reason":"rejected","by":"carol"})");
  REQUIRE(c.client.call().phase == CallPhase::idle);
  CHECK(is_request<CancelWaitRequest>(parse_command("cancel", c.client)));
}

TEST_CASE("cli: typed lines become requests, local commands or errors that say what to type", "[cli]") {
  Client c;
  const auto call = parse_command("call bob", c.client);
  REQUIRE(is_request<CallRequest>(call));
  CHECK(std::get<CallRequest>(std::get<RequestBody>(call)).to == "bob");
  CHECK(is_request<AcceptRequest>(parse_command("accept", c.client)));
  CHECK(is_request<RejectRequest>(parse_command("  reject  ", c.client)));
  CHECK(is_request<HangupRequest>(parse_command("hangup", c.client)));
  CHECK(is_request<WhoRequest>(parse_command("who", c.client)));
  CHECK(is_request<MissedRequest>(parse_command("missed", c.client)));
  CHECK(std::get<LocalCommand>(parse_command("help", c.client)) == LocalCommand::help);
  CHECK(std::get<LocalCommand>(parse_command("quit", c.client)) == LocalCommand::quit);
  CHECK(std::get<LocalCommand>(parse_command("exit", c.client)) == LocalCommand::quit);
  CHECK(std::get<LocalCommand>(parse_command("wait", c.client)) == LocalCommand::wait);
  CHECK(std::holds_alternative<std::monostate>(parse_command("   ", c.client)));
  CHECK(std::get<CommandError>(parse_command("call", c.client)).message.find("call whom") != std::string::npos);
  CHECK(std::get<CommandError>(parse_command("hangup now", c.client)).message.find("takes no argument") !=
        std::string::npos);
  CHECK(std::get<CommandError>(parse_command("call bob carol", c.client)).message.find("too many words") !=
        std::string::npos);
  CHECK(std::get<CommandError>(parse_command("dance", c.client)).message.find("unknown command 'dance'") !=
        std::string::npos);
}

// ---------------------------------------------------------------- what the CLI says

namespace {

hailer::Heard heard(hailer::ServerMessage m, std::string_view request_type = "") {
  return hailer::Heard{std::move(m), request_type, std::nullopt};
}

// Local times in these tests are UTC, whatever the machine's zone.
struct UtcZone {
  UtcZone() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

}  // namespace

TEST_CASE("cli: who says each state in words, who waits in line and how many wait for them", "[cli]") {
  WhoData who{{{"alice", PresenceState::in_call, 2, std::nullopt},
               {"bob", PresenceState::available, 0, true},
               {"carol", PresenceState::ringing, 0, std::nullopt}}};
  const auto line = hailer::cli::describe(heard(OkReply{1, who}, "who"));
  REQUIRE(line);
  CHECK(*line ==
        "online:\n"
        "  alice  in a call, 2 in line for them\n"
        "  bob  available, waiting in line to call someone\n"
        "  carol  ringing");
  CHECK(line->find("in_call") == std::string::npos);
}

TEST_CASE("cli: missed calls are shown at the local time they rang out, and how long ago", "[cli]") {
  UtcZone utc;
  hailer::cli::DescribeContext context;
  context.wall_now_s = 1'796'036'000;  // 2026-11-30 10:53:20 UTC
  MissedData missed{{{"carol", 100'000}, {"dave", 3'500'000}}, 3'600'000};
  const auto line = hailer::cli::describe(heard(OkReply{1, missed}, "missed"), context);
  REQUIRE(line);
  CHECK(*line ==
        "missed calls:\n"
        "  carol at 09:55 (58 min ago)\n"
        "  dave at 10:51 (1 min ago)");
  CHECK(hailer::cli::local_time_of_day(context.wall_now_s, 0) == "10:53");
  const auto live = hailer::cli::describe(heard(MissedCall{"carol", 3'600'000}), context);
  REQUIRE(live);
  CHECK(*live == "missed call from carol at 10:53: it rang out unanswered");
}

TEST_CASE("cli: a call that rang out is told from each side's point of view", "[cli]") {
  const CallEnded ended{7, "bob", EndReason::no_answer, ""};
  hailer::cli::DescribeContext caller;
  CHECK(hailer::cli::describe(heard(ended), caller) ==
        std::optional<std::string>("no answer from bob (the call rang out)"));
  hailer::cli::DescribeContext callee;
  callee.callee = true;
  CHECK_FALSE(hailer::cli::describe(heard(ended), callee));  // the missed_call line said it
}

TEST_CASE("cli: an empty line for you is not announced, a non-empty one is", "[cli]") {
  CHECK_FALSE(hailer::cli::describe(heard(WaitingCount{0})));
  CHECK(hailer::cli::describe(heard(WaitingCount{2})) == std::optional<std::string>("2 callers are waiting for you"));
}

TEST_CASE("cli: the help lists every command the parser knows", "[cli]") {
  const auto entries = hailer::cli::help_entries();
  REQUIRE(entries.size() == 11);
  for (const auto& e : entries) {
    const std::string word = e.command.substr(0, e.command.find(' '));
    INFO(word);
    CHECK_FALSE(std::holds_alternative<hailer::cli::CommandError>(
        parse_command(word + (e.command.find(' ') != std::string::npos ? " x" : ""), Client().client)));
  }
  CHECK(hailer::cli::help_text().find("  add-key KEY let your other device") != std::string::npos);
}
