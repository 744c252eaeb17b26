// Presence: registration, names, who, heartbeats, disconnects, session limits.
#include <catch2/catch.hpp>

#include "base/assert.hpp"
#include "protocol/login.hpp"
#include "protocol/names.hpp"
#include "tests/support/core_harness.hpp"

using namespace hailer;
using hailer::test::CoreHarness;

TEST_CASE("register: ok with the heartbeat interval, the name is then taken, case-insensitively", "[presence]") {
  CoreHarness h;
  const SessionId a = h.open();
  h.request(a, RegisterRequest{1, "Alice", 5000, {}, {}, {}});
  auto ok = h.sent<OkReply>(a);
  REQUIRE(ok.size() == 1);
  const auto data = std::get<RegisteredData>(ok[0].data);
  CHECK(data.name == "Alice");
  CHECK(data.heartbeat_ms == 30'000);
  CHECK(data.media_token.size() == 32);
  CHECK(data.media_id.size() == 16);
  CHECK(h.core.presence(a) == PresenceState::available);

  const SessionId b = h.open();
  h.request(b, RegisterRequest{1, "alice", 0, {}, {}, {}});
  CHECK(h.error_to(b) == ErrorCode::name_taken);
  CHECK_FALSE(h.core.presence(b).has_value());  // state unchanged: b is still unregistered
}

TEST_CASE("register refuses bad names, wrong versions and a second registration", "[presence]") {
  CoreHarness h;
  const SessionId a = h.open();
  h.request(a, RegisterRequest{1, "../../x", 0, {}, {}, {}});
  CHECK(h.error_to(a) == ErrorCode::bad_name);
  h.request(a, RegisterRequest{2, "alice", 0, {}, {}, {}});
  CHECK(h.error_to(a) == ErrorCode::unsupported_version);
  h.request(a, RegisterRequest{1, "alice", 0, {}, {}, {}});
  CHECK(h.ok_to(a));
  h.request(a, RegisterRequest{1, "alice2", 0, {}, {}, {}});
  CHECK(h.error_to(a) == ErrorCode::already_registered);
  h.request(a, JoinRequest{1, "ann", "room", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(a) == ErrorCode::already_registered);
}

TEST_CASE("requests before register are refused with not_registered, ping is allowed", "[presence]") {
  CoreHarness h;
  const SessionId a = h.open();
  h.request(a, WhoRequest{});
  CHECK(h.error_to(a) == ErrorCode::not_registered);
  h.request(a, CallRequest{"bob", std::nullopt});
  CHECK(h.error_to(a) == ErrorCode::not_registered);
  h.request(a, PingRequest{});
  CHECK(h.ok_to(a));
}

TEST_CASE("who lists connected calls users sorted by name with state and waiting count", "[presence]") {
  CoreHarness h;
  const SessionId carol = h.user("carol");
  const SessionId alice = h.user("alice");
  const SessionId bob = h.user("bob");
  h.member("student1", "room");  // PTT members are not calls users
  h.request(alice, CallRequest{"bob", std::nullopt});
  h.request(carol, CallRequest{"bob", std::nullopt});  // bob is ringing: carol queues
  h.request(carol, WhoRequest{});
  auto ok = h.sent<OkReply>(carol);
  REQUIRE(ok.size() == 1);
  const auto& users = std::get<WhoData>(ok[0].data).users;
  REQUIRE(users.size() == 3);
  CHECK(users[0] == UserInfo{"alice", PresenceState::ringing, 0, std::nullopt});
  CHECK(users[1] == UserInfo{"bob", PresenceState::ringing, 1, std::nullopt});
  CHECK(users[2] == UserInfo{"carol", PresenceState::available, 0, true});  // waiting in line for bob
  (void)bob;
}

TEST_CASE("a disconnected user is offline at once and its name is free again", "[presence]") {
  CoreHarness h;
  const SessionId a = h.user("alice");
  h.close(a);
  CHECK_FALSE(h.core.presence(a).has_value());
  CHECK(h.last.empty());  // nobody to tell, nothing sent to the closed session
  h.user("alice");        // the name can be registered again
}

TEST_CASE("a silent session is closed after the heartbeat timeout, any message keeps it alive", "[presence]") {
  Config c;
  c.heartbeat_timeout_ms = 1000;
  CoreHarness h(c);
  const SessionId a = h.user("alice");
  const SessionId b = h.user("bob");
  h.advance(Duration::from_ms(600));
  h.request(a, PingRequest{});
  h.advance(Duration::from_ms(399));  // bob silent for 999 ms: still there
  CHECK(h.effects<CloseSession>().empty());
  CHECK(h.core.presence(b) == PresenceState::available);
  h.advance(Duration::from_ms(1));  // and at 1000 ms he is gone
  auto closes = h.effects<CloseSession>();
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].session == b);
  CHECK(closes[0].reason == CloseReason::heartbeat_timeout);
  CHECK_FALSE(h.core.presence(b).has_value());
  CHECK(h.core.presence(a) == PresenceState::available);
  // The adapter later reports the close: accepted, nothing happens twice.
  h.close(b);
  CHECK(h.last.empty());
  h.advance(Duration::from_ms(599));  // alice pinged at 600 ms: her deadline is 1600 ms
  CHECK(h.effects<CloseSession>().empty());
  h.advance(Duration::from_ms(1));
  CHECK(h.effects<CloseSession>().size() == 1);
}

TEST_CASE("sessions silent since the same instant are closed together, in session id order", "[presence]") {
  Config c;
  c.heartbeat_timeout_ms = 1000;
  CoreHarness h(c);
  const SessionId a = h.open();
  const SessionId b = h.open();
  const SessionId quiet = h.open();
  h.advance(Duration::from_ms(100));
  h.request(b, PingRequest{});  // b is seen before a: the least recently seen order is quiet, b, a
  h.request(a, PingRequest{});
  h.advance(Duration::from_ms(899));  // 999 ms: nobody yet
  CHECK(h.effects<CloseSession>().empty());
  h.advance(Duration::from_ms(1));  // 1000 ms: the one silent since 0
  auto closes = h.effects<CloseSession>();
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].session == quiet);
  h.advance(Duration::from_ms(99));  // 1099 ms: a and b still there
  CHECK(h.effects<CloseSession>().empty());
  h.advance(Duration::from_ms(1));  // 1100 ms: both, by id, not by when they were last seen
  closes = h.effects<CloseSession>();
  REQUIRE(closes.size() == 2);
  CHECK(closes[0].session == a);
  CHECK(closes[1].session == b);
  CHECK(h.core.session_count() == 0);
  CHECK_FALSE(h.core.next_deadline().has_value());  // no sessions, no heartbeat timer
}

TEST_CASE("a late wake-up closes silent sessions in deadline order, then id order", "[presence]") {
  Config c;
  c.heartbeat_timeout_ms = 1000;
  CoreHarness h(c);
  const SessionId a = h.open();
  const SessionId b = h.open();
  h.now = Time::from_ms(300);
  h.request(a, PingRequest{});      // a's deadline: 1300 ms; b's: 1000 ms
  const SessionId late = h.open();  // opened at 300 ms as well: deadline 1300 ms, id above a's
  h.now = Time::from_ms(5000);      // the host slept through every deadline
  h.feed(TimerFired{});
  const auto closes = h.effects<CloseSession>();
  REQUIRE(closes.size() == 3);
  CHECK(closes[0].session == b);
  CHECK(closes[1].session == a);
  CHECK(closes[2].session == late);
}

TEST_CASE("a silent user in a call is dropped by heartbeat and the peer is told", "[presence]") {
  Config c;
  c.heartbeat_timeout_ms = 1000;
  c.ring_timeout_ms = 10'000;
  CoreHarness h(c);
  const SessionId a = h.user("alice");
  const SessionId b = h.user("bob");
  h.request(a, CallRequest{"bob", std::nullopt});
  h.request(b, AcceptRequest{});
  bool told = false;
  for (int i = 0; i < 5; ++i) {  // bob keeps talking to the server; alice has gone silent
    h.request(b, PingRequest{});
    h.advance(Duration::from_ms(400));
    for (const auto& e : h.sent<CallEnded>(b)) told = told || e.reason == EndReason::peer_disconnected;
  }
  CHECK(told);
  CHECK(h.core.presence(b) == PresenceState::available);
  CHECK_FALSE(h.core.presence(a).has_value());
}

TEST_CASE("max_sessions: one session too many is told server_full and closed", "[presence][limits]") {
  Config c;
  c.max_sessions = 2;
  CoreHarness h(c);
  h.open();
  h.open();
  const SessionId third = h.open();
  CHECK(h.error_to(third) == ErrorCode::server_full);
  REQUIRE(h.effects<CloseSession>().size() == 1);
  CHECK(h.core.session_count() == 2);
  h.close(third);  // the adapter's report of our own close
  CHECK(h.core.session_count() == 2);
}

TEST_CASE("bad requests from the adapter's decoder are answered with their code and the id", "[presence]") {
  CoreHarness h;
  const SessionId a = h.open();
  h.feed(BadRequest{a, DecodeError{7, ErrorCode::unknown_type, "type 'x' is not a request"}});
  auto errors = h.sent<ErrorReply>(a);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].id == 7u);
  CHECK(errors[0].code == ErrorCode::unknown_type);
  CHECK(errors[0].message.find("type 'x'") != std::string::npos);
}

TEST_CASE("time going backwards is a programmer error", "[presence]") {
  CoreHarness h;
  h.now = Time::from_ms(10);
  h.open();
  std::vector<Effect> out;
  CHECK_THROWS_AS(h.core.handle(Time::from_ms(5), TimerFired{}, out), AssertionFailure);
}

TEST_CASE("shutdown tells every session first, then closes each with reason shutdown", "[presence]") {
  CoreHarness h;
  const SessionId alice = h.user("alice");
  const SessionId bob = h.user("bob");
  const SessionId anon = h.open();  // not registered: told all the same
  h.request(alice, CallRequest{"bob", std::nullopt});
  h.feed(Shutdown{});
  // The first effects are the three notices, in session order, before any close.
  REQUIRE(h.last.size() >= 6);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto* m = std::get_if<SendMessage>(&h.last[i]);
    REQUIRE(m != nullptr);
    CHECK(std::holds_alternative<ServerClosing>(m->message));
    CHECK(m->to == std::vector<SessionId>{alice, bob, anon}[i]);
  }
  const auto closes = h.effects<CloseSession>();
  REQUIRE(closes.size() == 3);
  for (const auto& c : closes) CHECK(c.reason == CloseReason::shutdown);
  CHECK(h.core.session_count() == 0);
  CHECK(h.core.stats().closed_by_reason[static_cast<std::size_t>(CloseReason::shutdown)] == 3);
  CHECK_FALSE(h.core.next_deadline().has_value());  // no timer outlives its session
  // The sessions' closes echo back from the adapter and are ignored.
  h.feed(SessionClosed{alice, CloseReason::shutdown});
  CHECK(h.last.empty());
}

TEST_CASE("a name that looks like one in use is refused until that one leaves", "[presence]") {
  CoreHarness h;
  const SessionId alice = h.user("alice");
  for (const char* look_alike : {"aIice", "a1ice", "AL1CE"}) {
    const SessionId m = h.open();
    h.request(m, RegisterRequest{1, look_alike, 0, {}, {}, {}});
    CHECK(h.error_to(m) == ErrorCode::name_confusable);
    const auto errors = h.sent<ErrorReply>(m);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("alice") != std::string::npos);  // says which name it looks like
    CHECK_FALSE(h.core.presence(m).has_value());                  // state unchanged
  }
  const SessionId alec = h.open();
  h.request(alec, RegisterRequest{1, "alec", 0, {}, {}, {}});  // a name that reads differently is fine
  CHECK(h.ok_to(alec));
  h.close(alice);
  const SessionId later = h.open();
  h.request(later, RegisterRequest{1, "aIice", 0, {}, {}, {}});  // free once alice has left
  CHECK(h.ok_to(later));
}

namespace {
Config with_accounts() {
  Config c;
  c.accounts = AccountsMode::open;
  return c;
}
ChannelBinding binding_of(uint8_t fill) {
  ChannelBinding b{};
  b.fill(fill);
  return b;
}
LoginKey key_of(uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  return login_key_from_seed(seed);
}
RegisterRequest login(const LoginKey& key, const ChannelBinding& binding, const std::string& name,
                      const std::string& signed_name = "") {
  return RegisterRequest{
      1, name, 0, login_key_hex(key), login_signature(key, binding, name_key(signed_name.empty() ? name : signed_name)),
      {}};
}
}  // namespace

TEST_CASE("accounts: the first key to log in owns the name, on every later connection, present or not",
          "[presence][accounts]") {
  CoreHarness h(with_accounts());
  const LoginKey alice = key_of(1), mallory = key_of(2);
  const SessionId a = h.open_bound(binding_of(11));
  h.request(a, login(alice, binding_of(11), "alice"));
  REQUIRE(h.ok_to(a));
  const auto claimed = h.effects<AccountClaimed>();
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].account == Account{"alice", alice.public_key});
  h.close(a);
  const SessionId m = h.open_bound(binding_of(12));
  h.request(m, login(mallory, binding_of(12), "alice"));
  CHECK(h.error_to(m) == ErrorCode::name_taken);  // the owner is away: still hers
  CHECK(h.effects<AccountClaimed>().empty());
  h.request(m, login(mallory, binding_of(12), "a1ice"));
  CHECK(h.error_to(m) == ErrorCode::name_confusable);  // nor one that looks like it
  const SessionId back = h.open_bound(binding_of(13));
  h.request(back, login(alice, binding_of(13), "Alice"));
  CHECK(h.ok_to(back));
  CHECK(h.effects<AccountClaimed>().empty());  // known already: nothing to keep
}

TEST_CASE("accounts: a login signed for another connection, by another key or for nothing is refused",
          "[presence][accounts]") {
  CoreHarness h(with_accounts());
  const LoginKey alice = key_of(1);
  const SessionId s = h.open_bound(binding_of(21));
  h.request(s, login(alice, binding_of(20), "alice"));  // replayed from connection 20
  CHECK(h.error_to(s) == ErrorCode::bad_signature);
  h.request(s, login(alice, binding_of(21), "alice", "bob"));  // signed for another name
  CHECK(h.error_to(s) == ErrorCode::bad_signature);
  h.request(s, RegisterRequest{1, "alice", 0, {}, {}, {}});
  CHECK(h.error_to(s) == ErrorCode::login_required);
  h.request(s, RegisterRequest{1, "alice", 0, "xyz", std::string(128, '0'), {}});
  CHECK(h.error_to(s) == ErrorCode::bad_field);
  const SessionId plain = h.open();  // no binding: a login cannot be bound to this connection
  h.request(plain, login(alice, ChannelBinding{}, "alice"));
  CHECK(h.error_to(plain) == ErrorCode::login_required);
  CHECK_FALSE(h.core.presence(s).has_value());  // nothing changed
  h.request(s, login(alice, binding_of(21), "alice"));
  CHECK(h.ok_to(s));
}

TEST_CASE("accounts: a connection says its channel binding, which a page signs to log in", "[presence][accounts]") {
  CoreHarness h(with_accounts());
  const SessionId s = h.open_bound(binding_of(31));
  h.request(s, ChannelBindingRequest{});
  const auto ok = h.sent<OkReply>(s);
  REQUIRE(ok.size() == 1);
  CHECK(std::get<ChannelBindingData>(ok[0].data).binding == to_hex(binding_of(31)));
  h.request(s, login(key_of(3), binding_of(31), "page"));  // signed over what it was told
  CHECK(h.ok_to(s));
  const SessionId plain = h.open();  // no binding (plaintext): nothing to sign
  h.request(plain, ChannelBindingRequest{});
  CHECK(h.error_to(plain) == ErrorCode::login_required);
}

TEST_CASE("accounts: loaded accounts own their names from the start, on both faces", "[presence][accounts]") {
  CoreHarness h(with_accounts());
  const LoginKey alice = key_of(1), mallory = key_of(2);
  h.feed(AccountsLoaded{{Account{"alice", alice.public_key}}});
  const SessionId m = h.open_bound(binding_of(31));
  h.request(m, login(mallory, binding_of(31), "alice"));
  CHECK(h.error_to(m) == ErrorCode::name_taken);
  const SessionId student = h.open();
  h.request(student, JoinRequest{1, "alice", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(student) == ErrorCode::name_taken);
  h.request(student, JoinRequest{1, "aIice", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(student) == ErrorCode::name_confusable);
  const SessionId a = h.open_bound(binding_of(32));
  h.request(a, login(alice, binding_of(32), "alice"));
  CHECK(h.ok_to(a));
}

TEST_CASE("accounts off: names are free while nobody connected uses them, and keys are ignored",
          "[presence][accounts]") {
  CoreHarness h;  // the core's default
  const SessionId a = h.open();
  h.request(a, RegisterRequest{1, "alice", 0, {}, {}, {}});
  CHECK(h.ok_to(a));
  CHECK(h.effects<AccountClaimed>().empty());
}

namespace {
Config with_invites() {
  Config c;
  c.accounts = AccountsMode::invite;
  return c;
}
RegisterRequest with_invite(RegisterRequest r, const std::string& code) {
  r.invite = code;
  return r;
}
}  // namespace

TEST_CASE("invite: an unowned name is claimed only with the host's verdict on an invite for it",
          "[presence][accounts]") {
  CoreHarness h(with_invites());
  const LoginKey alice = key_of(1);
  const SessionId s = h.open_bound(binding_of(41));
  h.request(s, login(alice, binding_of(41), "alice"));
  CHECK(h.error_to(s) == ErrorCode::invite_required);
  h.request(s, with_invite(login(alice, binding_of(41), "alice"), "wrong"));  // the host found no invite
  CHECK(h.error_to(s) == ErrorCode::bad_invite);
  h.feed(InviteChecked{s, "bob", false});  // an invite, for another name
  h.request(s, with_invite(login(alice, binding_of(41), "alice"), "code-for-bob"));
  CHECK(h.error_to(s) == ErrorCode::bad_invite);
  h.feed(InviteChecked{s, "alice", true});
  h.request(s, with_invite(login(alice, binding_of(41), "alice"), "old"));
  CHECK(h.error_to(s) == ErrorCode::invite_expired);
  CHECK(h.effects<AccountClaimed>().empty());
  h.feed(InviteChecked{s, "alice", false});
  h.request(s, with_invite(login(alice, binding_of(41), "Alice"), "good"));
  REQUIRE(h.ok_to(s));
  CHECK(h.effects<AccountClaimed>().size() == 1);
  REQUIRE(h.effects<InviteUsed>().size() == 1);
  CHECK(h.effects<InviteUsed>()[0].name_key == "alice");
  // Owned now: its key logs in again without an invite, and nobody else's does with one.
  h.close(s);
  const SessionId back = h.open_bound(binding_of(42));
  h.request(back, login(alice, binding_of(42), "alice"));
  CHECK(h.ok_to(back));
  CHECK(h.effects<InviteUsed>().empty());
  const SessionId m = h.open_bound(binding_of(43));
  h.feed(InviteChecked{m, "alice", false});
  h.request(m, with_invite(login(key_of(2), binding_of(43), "alice"), "replayed"));
  CHECK(h.error_to(m) == ErrorCode::name_taken);
}

TEST_CASE("invite: a verdict counts for the next register of its session only", "[presence][accounts]") {
  CoreHarness h(with_invites());
  const SessionId s = h.open_bound(binding_of(44));
  h.feed(InviteChecked{s, "alice", false});
  h.request(s, login(key_of(1), binding_of(44), "alice"));  // no code given this time
  CHECK(h.error_to(s) == ErrorCode::invite_required);
  h.request(s, with_invite(login(key_of(1), binding_of(44), "alice"), "again"));  // the verdict was spent
  CHECK(h.error_to(s) == ErrorCode::bad_invite);
}

TEST_CASE("add_key: a logged-in owner adds another device, which may then log in to the name", "[presence][accounts]") {
  CoreHarness h(with_accounts());
  const LoginKey phone = key_of(1), laptop = key_of(2), mallory = key_of(3);
  const SessionId a = h.open_bound(binding_of(51));
  h.request(a, login(phone, binding_of(51), "alice"));
  REQUIRE(h.ok_to(a));
  h.request(a, AddKeyRequest{"zz"});
  CHECK(h.error_to(a) == ErrorCode::bad_field);
  h.request(a, AddKeyRequest{to_hex(laptop.public_key)});
  REQUIRE(h.ok_to(a));
  REQUIRE(h.effects<AccountClaimed>().size() == 1);
  CHECK(h.effects<AccountClaimed>()[0].account == Account{"alice", laptop.public_key});
  h.request(a, AddKeyRequest{to_hex(laptop.public_key)});  // again: nothing new to keep
  CHECK(h.ok_to(a));
  CHECK(h.effects<AccountClaimed>().empty());
  h.close(a);
  const SessionId l = h.open_bound(binding_of(52));
  h.request(l, login(laptop, binding_of(52), "alice"));
  CHECK(h.ok_to(l));
  const SessionId m = h.open_bound(binding_of(53));
  h.request(m, login(mallory, binding_of(53), "alice"));
  CHECK(h.error_to(m) == ErrorCode::name_taken);  // still nobody else's
  // At most max_keys_per_account keys: 2 so far.
  for (uint8_t k = 10; k < 10 + max_keys_per_account - 2; ++k) {
    h.request(l, AddKeyRequest{to_hex(key_of(k).public_key)});
    REQUIRE(h.ok_to(l));
  }
  h.request(l, AddKeyRequest{to_hex(key_of(99).public_key)});
  CHECK(h.error_to(l) == ErrorCode::too_many_keys);
}

TEST_CASE("add_key: refused to a session that did not log in", "[presence][accounts]") {
  CoreHarness h;  // accounts off: nobody logs in
  const SessionId a = h.user("alice");
  h.request(a, AddKeyRequest{to_hex(key_of(2).public_key)});
  CHECK(h.error_to(a) == ErrorCode::login_required);
  CHECK(h.effects<AccountClaimed>().empty());
}
