// The transport rules every transport shares (host/transport_rules.hpp), each pinned on both
// sides of its limit.
#include "host/transport_rules.hpp"

#include "protocol/codec.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace hailer;

TEST_CASE("transport: a reader with exactly the limit waiting is kept, one byte more is a slow reader", "[transport]") {
  CHECK_FALSE(over_outbound_limit(0, 512));
  CHECK_FALSE(over_outbound_limit(512, 512));
  CHECK(over_outbound_limit(513, 512));
  OutboundBudget b;
  CHECK(b.queue(500, 512));
  CHECK(b.queue(12, 512));
  CHECK(b.queued() == 512);
  CHECK_FALSE(b.queue(1, 512));
  b.drained(100);
  CHECK(b.queued() == 413);
  CHECK(b.queue(99, 512));  // what the reader took makes room again
}

TEST_CASE(
    "transport: max_frames_per_second frames in one second pass, one more is a flood, the next second starts again",
    "[transport]") {
  FrameRateLimit limit;
  const Time second_start = Time{5'000'000};
  for (int i = 0; i < 100; ++i) REQUIRE(limit.take(Time{second_start.us + i * 9'000}, 100));
  CHECK_FALSE(limit.take(Time{second_start.us + 999'999}, 100));  // the 101st, 1 us before the second ends
  CHECK(limit.take(Time{second_start.us + 1'000'000}, 100));      // the first of the next second
}

TEST_CASE("transport: lines are framed across reads, CR LF and blank lines handled, a partial line bounded",
          "[transport]") {
  LineFramer framer;
  std::vector<std::string> lines;
  auto collect = [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  auto no_frame = [](std::string_view) {
    FAIL("no frame here");
    return true;
  };
  CHECK(framer.feed("{\"a\":1}\n{\"b\"", 16, collect, no_frame) == LineFramer::Verdict::ok);
  CHECK(framer.feed(":2}\r\n\n\r\n{\"c\":3}\n", 16, collect, no_frame) == LineFramer::Verdict::ok);
  CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
  // A whole line longer than the limit arrives whole: handed over (the core answers it).
  lines.clear();
  CHECK(framer.feed(std::string(40, 'x') + "\n", 16, collect, no_frame) == LineFramer::Verdict::ok);
  CHECK(lines.size() == 1);
  // A partial line of exactly the limit waits; one byte more cannot be framed.
  CHECK(framer.feed(std::string(16, 'y'), 16, collect, no_frame) == LineFramer::Verdict::ok);
  CHECK(framer.feed("y", 16, collect, no_frame) == LineFramer::Verdict::too_long);
  CHECK(framer.take_partial() == std::string(17, 'y'));
  CHECK(framer.take_partial().empty());
}

TEST_CASE("transport: a line that closes the connection stops the framing there", "[transport]") {
  LineFramer framer;
  std::vector<std::string> lines;
  const auto verdict = framer.feed(
      "one\ntwo\nthree\npart", 64,
      [&](std::string_view line) {
        lines.emplace_back(line);
        return line != "two";  // the host closed the connection on "two"
      },
      [](std::string_view) { return true; });
  CHECK(verdict == LineFramer::Verdict::ok);
  CHECK(lines == std::vector<std::string>{"one", "two"});
  CHECK(framer.take_partial().empty());  // nothing kept for a closing connection
}

TEST_CASE("transport: tunnel frames between lines, split across reads, in order, and a frame over the limit",
          "[transport]") {
  LineFramer framer;
  std::vector<std::string> seen;
  auto line = [&](std::string_view l) {
    seen.push_back("line:" + std::string(l));
    return true;
  };
  auto frame = [&](std::string_view f) {
    seen.push_back("frame:" + std::to_string(f.size()) + ":" + std::string(f));
    return true;
  };
  const std::vector<uint8_t> datagram(5, 'z');
  const std::string f = tunnel_frame(datagram);
  const std::string stream = "{\"a\":1}\n" + f + "{\"b\":2}\n" + f + f;
  // Fed one byte at a time: every split point of a frame's prefix and body is crossed.
  for (char c : stream) REQUIRE(framer.feed(std::string_view(&c, 1), 64, line, frame) == LineFramer::Verdict::ok);
  CHECK(seen == std::vector<std::string>{"line:{\"a\":1}", "frame:5:zzzzz", "line:{\"b\":2}", "frame:5:zzzzz",
                                         "frame:5:zzzzz"});
  // Whole, in one read: the same.
  seen.clear();
  LineFramer whole;
  CHECK(whole.feed(stream, 64, line, frame) == LineFramer::Verdict::ok);
  CHECK(seen.size() == 5);
  // A frame of exactly the limit less its prefix passes; one byte longer cannot be framed.
  LineFramer edge;
  const std::string at_limit = tunnel_frame(std::vector<uint8_t>(64 - tunnel_prefix_bytes, 1));
  CHECK(edge.feed(at_limit, 64, line, frame) == LineFramer::Verdict::ok);
  const std::string over = tunnel_frame(std::vector<uint8_t>(64 - tunnel_prefix_bytes + 1, 1));
  CHECK(edge.feed(over.substr(0, tunnel_prefix_bytes), 64, line, frame) == LineFramer::Verdict::bad_frame);
}

TEST_CASE("transport: an address holds at most its cap, everyone at most the total, and places come back",
          "[transport]") {
  AddressCaps caps;
  CHECK(caps.take("192.0.2.1", 2, 3));
  CHECK(caps.take("192.0.2.1", 2, 3));
  CHECK_FALSE(caps.take("192.0.2.1", 2, 3));  // its own cap: the third is refused
  CHECK(caps.held("192.0.2.1") == 2);
  CHECK(caps.take("192.0.2.2", 2, 3));
  CHECK_FALSE(caps.take("192.0.2.3", 2, 3));  // the total: nobody gets a fourth place
  CHECK(caps.addresses() == 2);               // a refused address holds nothing, costs nothing
  caps.give("192.0.2.1");
  CHECK(caps.take("192.0.2.3", 2, 3));  // a place given back is a place for anyone
  caps.give("192.0.2.2");
  CHECK(caps.held("192.0.2.2") == 0);
  CHECK(caps.addresses() == 2);
  CHECK(caps.total() == 2);
}

TEST_CASE("transport: a first byte of 22 is a TLS handshake, a JSON line's first byte never is", "[transport]") {
  CHECK(looks_like_tls(0x16));
  for (const char c : std::string("{ \t\r\n[\"abc")) CHECK_FALSE(looks_like_tls(static_cast<uint8_t>(c)));
  CHECK_FALSE(looks_like_tls(0x15));  // an alert record
  CHECK_FALSE(looks_like_tls(0x17));  // application data
}

TEST_CASE("transport: a plaintext client on a TLS calls port reads one tls_required error line", "[transport]") {
  const std::string line = tls_required_line();
  REQUIRE(line.ends_with("\n"));
  CHECK(line.find('\n') == line.size() - 1);  // exactly one line
  const auto decoded = decode_server_message(line.substr(0, line.size() - 1), any_reply_is(ReplyKind::none));
  REQUIRE(std::holds_alternative<ServerMessage>(decoded));
  const auto* error = std::get_if<ErrorReply>(&std::get<ServerMessage>(decoded));
  REQUIRE(error != nullptr);
  CHECK(error->code == ErrorCode::tls_required);
  CHECK(error->message.find("--plaintext") != std::string::npos);  // says what to do
}
