// The journal: a host's every event written with its effects' digest, replayed on a fresh core.
#include "host/journal.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "client/client.hpp"
#include "host/server_host.hpp"
#include "protocol/login.hpp"
#include "tests/support/core_harness.hpp"
#include "tests/support/test_port.hpp"

using namespace hailer;
using hailer::test::TestPort;

namespace {

constexpr const char* instructor_token = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

// A small busy-queue story with a bad request, media proofs (right, forged, replayed), an
// instructor joining with the right token and with a wrong one, timers and a shutdown.
std::string journal_of_a_story(const Config& config, uint64_t secrets_seed, std::string* media_keys = nullptr) {
  std::ostringstream out;
  TestPort port;
  SeededSecrets secrets(secrets_seed);
  ServerHost host(config, secrets, HostConfig{}, port, port);
  JournalWriter journal(out, config);
  host.set_observer(&journal);
  Time now{0};
  for (uint64_t s = 1; s <= 5; ++s) host.opened(now, SessionId{s}, "192.0.2." + std::to_string(s));
  host.text(now, SessionId{1}, R"({"type":"register","id":1,"version":1,"name":"alice","media_port":5004})");
  host.text(now, SessionId{2}, R"({"type":"register","id":1,"version":1,"name":"bob"})");
  host.text(now, SessionId{3}, R"({"type":"register","id":1,"version":1,"name":"carol"})");
  const auto reg = std::get<RegisteredData>(port.sent<OkReply>(SessionId{1}, ReplyKind::registered).at(0).data);
  if (media_keys != nullptr) *media_keys = reg.media_token;
  SecretKey key;
  REQUIRE(from_hex(reg.media_token, key.bytes));
  const uint64_t media_id = test::CoreHarness::proof(reg, 1).media_id;
  auto probe = [&](const SecretKey& k, uint64_t counter, const MediaEndpoint& from) {
    const std::string d = encode_media_probe(k, media_id, counter);
    host.datagram(now, from, std::span(reinterpret_cast<const uint8_t*>(d.data()), d.size()));
  };
  probe(key, 1, {"203.0.113.7", 40000});  // right: alice's endpoint moves
  SecretKey wrong = key;
  wrong.bytes[5] ^= 0x10;
  probe(wrong, 2, {"198.51.100.9", 9});   // forged: nothing moves
  probe(key, 1, {"198.51.100.9", 9});     // replayed: nothing moves
  probe(key, 2, {"203.0.113.7", 40001});  // right again: a new port
  host.text(now, SessionId{1}, R"({"type":"call","id":2,"to":"bob"})");
  host.text(now, SessionId{2}, R"({"type":"accept","id":2})");
  host.text(now, SessionId{3}, R"({"type":"call","id":2,"to":"bob"})");
  host.text(now, SessionId{3}, R"({"type":"call","id":3,"to":42})");  // a bad request
  host.text(
      now, SessionId{4},
      std::string(
          R"({"type":"join","id":1,"version":1,"name":"tom","room":"class","role":"instructor","token":"wrong"})"));
  host.text(
      now, SessionId{4},
      std::string(R"({"type":"join","id":2,"version":1,"name":"tom","room":"class","role":"instructor","token":")") +
          instructor_token + R"("})");
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
  config.instructor_token = instructor_token;
  const std::string text = journal_of_a_story(config, 42);
  std::istringstream in(text);
  const ReplayResult ok = replay_journal(in);
  INFO(ok.detail);
  CHECK(ok.ok());
  CHECK(ok.events ==
        19);  // five opens, three registers, four proofs, six more texts, the shutdown; nothing due at 40 s

  // A changed verdict on a proof changes what the replay does: the endpoint no longer moves.
  std::string other = text;
  const auto verdict = other.find("\"mac_ok\":true");
  REQUIRE(verdict != std::string::npos);
  other.replace(verdict, 13, "\"mac_ok\":false");
  std::istringstream in2(other);
  const ReplayResult bad = replay_journal(in2);
  REQUIRE(bad.line.has_value());
  CHECK(*bad.line == 10);  // header, five opens, three registers, then the first proof
  CHECK(bad.detail.find("the effects differ") != std::string::npos);

  // A restarted server appends a second run to the same file: each replays on its own fresh core.
  std::istringstream twice(text + text);
  const ReplayResult both = replay_journal(twice);
  INFO(both.detail);
  CHECK(both.ok());
  CHECK(both.events == 38);

  // A line whose time is earlier than the one before is refused by name; fed to the core it would
  // break its contract (time never goes backwards), which aborts.
  std::string backwards = text;
  const auto t3 = backwards.find("\"t\":", backwards.find('\n', backwards.find('\n') + 1));  // the third line
  REQUIRE(t3 != std::string::npos);
  const auto digits_end = backwards.find_first_not_of("0123456789", t3 + 4);
  backwards.replace(t3, digits_end - t3, "\"t\":-5");
  std::istringstream in3(backwards);
  const ReplayResult back = replay_journal(in3);
  REQUIRE(back.line.has_value());
  CHECK(*back.line == 3);
  CHECK(back.detail.find("time goes backwards") != std::string::npos);

  std::istringstream garbage("{\"journal\":\"other\"}\n");
  CHECK(replay_journal(garbage).detail.find("not a hailer journal") != std::string::npos);
}

TEST_CASE("a journal holds no secret: no media key, no instructor token, no seed, and other keys replay the same",
          "[journal][security]") {
  Config config;
  config.instructor_token = instructor_token;
  std::string key_a, key_b;
  const std::string a = journal_of_a_story(config, 1, &key_a);
  const std::string b = journal_of_a_story(config, 2, &key_b);
  REQUIRE(key_a.size() == 32);
  CHECK(key_a != key_b);
  for (const std::string* text : {&a, &b}) {
    CHECK(text->find(key_a) == std::string::npos);
    CHECK(text->find(key_b) == std::string::npos);
    CHECK(text->find(instructor_token) == std::string::npos);
    CHECK(text->find("\"seed\"") == std::string::npos);
    CHECK(text->find("<redacted>") != std::string::npos);
    CHECK(text->find("<instructor-token>") != std::string::npos);
    CHECK(text->find("<wrong-token>") != std::string::npos);
    std::istringstream in(*text);
    const ReplayResult r = replay_journal(in);
    INFO(r.detail);
    CHECK(r.ok());
  }
}

TEST_CASE("the journal header keeps every config field but the secret", "[journal]") {
  Config c;
  c.max_sessions = 7;
  c.instructor_token = "s3cret-s3cret-s3cret";
  c.default_floor_policy = FloorPolicy::queue;
  c.first_recording_serial = 99;
  c.max_media_probes_per_address_per_second = 33;
  const std::string header = journal_header(c);
  for (const char* field :
       {"\"max_sessions\":7", "\"instructor_token\":\"<redacted>\"", "\"default_floor_policy\":\"queue\"",
        "\"first_recording_serial\":99", "\"max_media_probes_per_address_per_second\":33"}) {
    CHECK(header.find(field) != std::string::npos);
  }
  CHECK(header.find("s3cret") == std::string::npos);
}

TEST_CASE("a journal with accounts replays: the loaded accounts, each connection's binding and the claims",
          "[journal]") {
  Config config;
  config.accounts = AccountsMode::open;
  std::ostringstream out;
  TestPort port;
  SeededSecrets secrets(7);
  ServerHost host(config, secrets, HostConfig{}, port, port);
  JournalWriter journal(out, config);
  host.set_observer(&journal);
  std::array<uint8_t, 32> seed{};
  seed.fill(1);
  const LoginKey alice = login_key_from_seed(seed);
  seed.fill(2);
  const LoginKey bob = login_key_from_seed(seed);
  const Time now{0};
  host.load_accounts(now, {Account{"alice", alice.public_key}});
  ChannelBinding b1{}, b2{};
  b1.fill(9);
  b2.fill(10);
  host.opened(now, SessionId{1}, "192.0.2.1", false, b1);
  host.opened(now, SessionId{2}, "192.0.2.2", false, b2);
  auto login = [&](const LoginKey& key, const ChannelBinding& b, const std::string& name) {
    return R"({"type":"register","id":1,"version":1,"name":")" + name + R"(","key":")" + login_key_hex(key) +
           R"(","signature":")" + login_signature(key, b, name) + R"("})";
  };
  host.text(now, SessionId{1}, login(alice, b1, "alice"));  // the owner
  host.text(now, SessionId{2}, login(bob, b2, "alice"));    // refused: alice's
  host.text(now, SessionId{2}, login(bob, b2, "bob"));      // claimed
  REQUIRE(port.sent<OkReply>(SessionId{1}, ReplyKind::registered).size() == 1);
  REQUIRE(port.sent<OkReply>(SessionId{2}, ReplyKind::registered).size() == 1);
  const std::string text = out.str();
  CHECK(text.find("\"type\":\"accounts\"") != std::string::npos);
  std::istringstream in(text);
  const ReplayResult r = replay_journal(in);
  INFO(r.detail);
  CHECK(r.ok());
  CHECK(r.events == 6);  // accounts, two opens, three registers
  // Without the binding a replayed login no longer verifies: the replay finds the difference.
  std::string unbound = text;
  const auto binding = unbound.find(to_hex(b1));
  REQUIRE(binding != std::string::npos);
  unbound.replace(binding, 64, std::string(64, '0'));
  std::istringstream in2(unbound);
  CHECK_FALSE(replay_journal(in2).ok());
}

namespace {
// Invites by a fixed table: the code "good-for-alice" is alice's, "stale-for-bob" bob's but expired.
struct TableInvites final : InviteStore {
  std::vector<std::string> used_up;
  std::optional<bool> check(std::string_view name_key, std::string_view code) override {
    if (name_key == "alice" && code == "good-for-alice") return false;
    if (name_key == "bob" && code == "stale-for-bob") return true;
    return std::nullopt;
  }
  void used(std::string_view name_key) override { used_up.emplace_back(name_key); }
};
}  // namespace

TEST_CASE("a journal with invites replays from the host's verdicts and never holds a code", "[journal]") {
  Config config;
  config.accounts = AccountsMode::invite;
  std::ostringstream out;
  TestPort port;
  SeededSecrets secrets(8);
  ServerHost host(config, secrets, HostConfig{}, port, port);
  TableInvites invites;
  host.set_invite_store(&invites);
  JournalWriter journal(out, config);
  host.set_observer(&journal);
  std::array<uint8_t, 32> seed{};
  seed.fill(1);
  const LoginKey alice = login_key_from_seed(seed);
  const Time now{0};
  ChannelBinding b{};
  b.fill(9);
  host.opened(now, SessionId{1}, "192.0.2.1", false, b);
  auto login = [&](const std::string& name, const std::string& code) {
    return R"({"type":"register","id":1,"version":1,"name":")" + name + R"(","key":")" + login_key_hex(alice) +
           R"(","signature":")" + login_signature(alice, b, name) + R"(","invite":")" + code + R"("})";
  };
  host.text(now, SessionId{1}, login("bob", "stale-for-bob"));     // expired
  host.text(now, SessionId{1}, login("alice", "not-a-code"));      // wrong
  host.text(now, SessionId{1}, login("alice", "good-for-alice"));  // claimed
  REQUIRE(port.sent<OkReply>(SessionId{1}, ReplyKind::registered).size() == 1);
  CHECK(port.sent<ErrorReply>(SessionId{1}).at(0).code == ErrorCode::invite_expired);
  CHECK(port.sent<ErrorReply>(SessionId{1}).at(1).code == ErrorCode::bad_invite);
  CHECK(invites.used_up == std::vector<std::string>{"alice"});
  const std::string text = out.str();
  for (const char* code : {"good-for-alice", "stale-for-bob", "not-a-code"})
    CHECK(text.find(code) == std::string::npos);
  CHECK(text.find("\"type\":\"invite\"") != std::string::npos);
  std::istringstream in(text);
  const ReplayResult r = replay_journal(in);
  INFO(r.detail);
  CHECK(r.ok());
  CHECK(r.events == 6);  // one open, two verdicts, three registers
}
