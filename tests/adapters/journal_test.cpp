// The journal: a host's every event written with its effects' digest, replayed on a fresh core.
#include "adapters/host/journal.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "adapters/host/server_host.hpp"
#include "core/client.hpp"
#include "tests/support/test_port.hpp"

using namespace hailer;
using hailer::test::TestPort;

namespace {

// A small busy-queue story with a bad request, a media proof, timers and a shutdown.
std::string journal_of_a_story(const Config& config) {
  std::ostringstream out;
  TestPort port;
  ServerHost host(config, 42, HostConfig{}, port);
  JournalWriter journal(out, config, 42);
  host.set_observer(&journal);
  Time now{0};
  for (uint64_t s = 1; s <= 3; ++s) host.opened(now, SessionId{s}, "192.0.2." + std::to_string(s));
  host.text(now, SessionId{1}, R"({"type":"register","id":1,"version":1,"name":"alice","media_port":5004})");
  host.text(now, SessionId{2}, R"({"type":"register","id":1,"version":1,"name":"bob"})");
  host.text(now, SessionId{3}, R"({"type":"register","id":1,"version":1,"name":"carol"})");
  host.text(now, SessionId{1}, R"({"type":"call","id":2,"to":"bob"})");
  host.text(now, SessionId{2}, R"({"type":"accept","id":2})");
  host.text(now, SessionId{3}, R"({"type":"call","id":2,"to":"bob"})");
  host.text(now, SessionId{3}, R"({"type":"call","id":3,"to":42})");  // a bad request
  host.datagram(now, MediaEndpoint{"198.51.100.9", 40000}, std::span<const uint8_t>());  // ignored
  now = Time::from_ms(40'000);  // nothing is due yet: the timer call feeds nothing
  host.timer(now);
  host.shutdown(now);
  return out.str();
}

}  // namespace

TEST_CASE("a journal replays on a fresh core with the same effects, and a changed line is found", "[journal]") {
  Config config;
  config.heartbeat_timeout_ms = 60'000;
  const std::string text = journal_of_a_story(config);
  std::istringstream in(text);
  const ReplayResult ok = replay_journal(in);
  INFO(ok.detail);
  CHECK(ok.ok());
  CHECK(ok.events == 11);  // three opens, seven texts, the shutdown (nothing was due at 40 s)

  // Another seed gives other media tokens: the register replies differ, so the replay must fail.
  std::string other = text;
  const auto seed_at = other.find("\"seed\":42");
  REQUIRE(seed_at != std::string::npos);
  other.replace(seed_at, 9, "\"seed\":43");
  std::istringstream in2(other);
  const ReplayResult bad = replay_journal(in2);
  REQUIRE(bad.line.has_value());
  CHECK(*bad.line == 5);  // header, three opens, then alice's register (its token changed)
  CHECK(bad.detail.find("media_token") != std::string::npos);

  // A restarted server appends a second run to the same file: each replays on its own fresh core.
  std::istringstream twice(text + text);
  const ReplayResult both = replay_journal(twice);
  INFO(both.detail);
  CHECK(both.ok());
  CHECK(both.events == 22);

  std::istringstream garbage("{\"journal\":\"other\"}\n");
  CHECK(replay_journal(garbage).detail.find("not a hailer journal") != std::string::npos);
}

TEST_CASE("the journal header keeps every config field", "[journal]") {
  Config c;
  c.max_sessions = 7;
  c.instructor_token = "s3cret";
  c.default_floor_policy = FloorPolicy::queue;
  c.first_recording_serial = 99;
  const std::string header = journal_header(c, 5);
  for (const char* field : {"\"max_sessions\":7", "\"instructor_token\":\"s3cret\"", "\"default_floor_policy\":\"queue\"",
                            "\"first_recording_serial\":99", "\"seed\":5"}) {
    CHECK(header.find(field) != std::string::npos);
  }
}
