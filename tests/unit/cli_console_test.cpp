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
