// docs/protocol.md is a promise: every message its "Every message, as sent" block shows must
// decode with the codec and re-encode to exactly the same bytes.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/codec.hpp"

using namespace hailer;

namespace {

std::vector<std::string> documented_lines() {
  std::ifstream in(HAILER_SOURCE_DIR "/docs/protocol.md");
  REQUIRE(in);
  std::vector<std::string> lines;
  std::string line;
  bool in_section = false, in_block = false;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) in_section = line == "## Every message, as sent";
    if (!in_section) continue;
    if (line.starts_with("```")) {
      in_block = !in_block;
      continue;
    }
    if (in_block) lines.push_back(line);
  }
  return lines;
}

bool server_line_round_trips(const std::string& text) {
  for (ReplyKind kind : {ReplyKind::none, ReplyKind::registered, ReplyKind::call, ReplyKind::who, ReplyKind::missed,
                         ReplyKind::room, ReplyKind::channel_binding}) {
    auto r = decode_server_message(text, any_reply_is(kind), 4096);
    if (const auto* m = std::get_if<ServerMessage>(&r); m != nullptr && encode(*m) == text) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("every message docs/protocol.md shows as sent decodes and re-encodes to the same bytes", "[codec][docs]") {
  const auto lines = documented_lines();
  REQUIRE(lines.size() >= 30);
  std::size_t requests = 0, server = 0;
  for (const std::string& line : lines) {
    CAPTURE(line);
    REQUIRE((line.starts_with("-> ") || line.starts_with("<- ")));
    const std::string text = line.substr(3);
    if (line.starts_with("-> ")) {
      auto r = decode_request(text, 4096);
      REQUIRE(std::holds_alternative<Request>(r));
      CHECK(encode_request(std::get<Request>(r)) == text);
      ++requests;
    } else {
      CHECK(server_line_round_trips(text));
      ++server;
    }
  }
  CHECK(requests >= 15);
  CHECK(server >= 20);
}
