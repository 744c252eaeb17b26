// Every error code is produced by a real input, through the codec or the core, and an error
// never changes state. A new code without a way to reach it fails here.
#include <catch2/catch.hpp>
#include <set>

#include "host/transport_rules.hpp"
#include "protocol/call_keys.hpp"
#include "protocol/codec.hpp"
#include "tests/support/core_harness.hpp"
#include "tests/support/test_port.hpp"

using namespace hailer;
using hailer::test::CoreHarness;

namespace {
std::set<ErrorCode> seen;

void expect(CoreHarness& h, SessionId s, RequestBody body, ErrorCode code) {
  const auto before_presence = h.core.presence(s);
  const auto before_wait = h.core.waiting_on(s);
  h.request(s, std::move(body));
  CHECK(h.error_to(s) == code);
  CHECK(h.core.presence(s) == before_presence);  // unchanged state
  CHECK(h.core.waiting_on(s) == before_wait);
  seen.insert(code);
}

void expect_decode(std::string_view text, ErrorCode code) {
  auto r = decode_request(text, 4096);
  REQUIRE(std::holds_alternative<DecodeError>(r));
  CHECK(std::get<DecodeError>(r).code == code);
  seen.insert(std::get<DecodeError>(r).code);
}
}  // namespace

TEST_CASE("every error code is reachable and leaves state unchanged", "[errors]") {
  seen.clear();
  expect_decode(std::string(5000, 'x'), ErrorCode::message_too_large);
  expect_decode("\"\xc0\xaf\"", ErrorCode::invalid_utf8);
  expect_decode("{", ErrorCode::bad_json);
  expect_decode("42", ErrorCode::not_an_object);
  expect_decode(R"({"type":"fly","id":1})", ErrorCode::unknown_type);
  expect_decode(R"({"type":"call","id":1})", ErrorCode::missing_field);
  expect_decode(R"({"type":"call","id":1,"to":[]})", ErrorCode::bad_field);

  Config c;
  c.max_sessions = 12;
  c.max_waiters_per_callee = 1;
  c.max_rooms = 1;
  c.max_room_members = 2;
  c.instructor_token = "t0k";
  CoreHarness h(c);
  const SessionId fresh = h.open();
  expect(h, fresh, WhoRequest{}, ErrorCode::not_registered);
  expect(h, fresh, RegisterRequest{9, "x", 0, {}, {}, {}}, ErrorCode::unsupported_version);
  expect(h, fresh, RegisterRequest{1, "no way", 0, {}, {}, {}}, ErrorCode::bad_name);

  const SessionId alice = h.user("alice");
  const SessionId bob = h.user("bob");
  const SessionId carol = h.user("carol");
  const SessionId dave = h.user("dave");
  expect(h, fresh, RegisterRequest{1, "ALICE", 0, {}, {}, {}}, ErrorCode::name_taken);
  expect(h, fresh, RegisterRequest{1, "aIice", 0, {}, {}, {}}, ErrorCode::name_confusable);
  expect(h, alice, RegisterRequest{1, "x", 0, {}, {}, {}}, ErrorCode::already_registered);
  expect(h, alice, PressRequest{}, ErrorCode::wrong_face);
  expect(h, alice, CallRequest{"zed", std::nullopt}, ErrorCode::user_not_found);
  expect(h, alice, CallRequest{"alice", std::nullopt}, ErrorCode::self_call);
  expect(h, alice, AcceptRequest{}, ErrorCode::no_pending_call);
  expect(h, alice, HangupRequest{}, ErrorCode::not_in_call);
  expect(h, alice, CancelRequest{}, ErrorCode::no_outgoing_call);
  expect(h, alice, CancelWaitRequest{}, ErrorCode::not_waiting);
  h.request(alice, CallRequest{"bob", std::nullopt});
  const uint64_t call_id = *std::get<CallData>(h.sent<OkReply>(alice).at(0).data).call_id;
  expect(h, alice, CallRequest{"carol", std::nullopt}, ErrorCode::caller_busy);
  {
    const LoginKey account = login_key_from_seed(std::array<uint8_t, 32>{1});
    const CallKeyPair key = call_key_pair_from_seed(std::array<uint8_t, 32>{2});
    const MediaKeyRequest k{call_id, to_hex(key.public_key), login_key_hex(account),
                            call_key_signature(account, call_id, "alice", key.public_key)};
    h.request(alice, k);
    REQUIRE(h.ok_to(alice));
    expect(h, alice, k, ErrorCode::key_already_sent);
  }
  h.request(carol, CallRequest{"bob", std::nullopt});  // carol queues on bob
  expect(h, dave, CallRequest{"bob", std::nullopt}, ErrorCode::queue_full);
  const SessionId eve = h.user("eve");
  h.request(dave, CallRequest{"eve", std::nullopt});  // dave and eve busy
  expect(h, carol, CallRequest{"dave", std::nullopt}, ErrorCode::already_waiting);

  const SessionId p = h.open();
  expect(h, p, JoinRequest{1, "ann", "bad room", Role::student, AudioCodec::pcm16, 48000, ""}, ErrorCode::bad_room);
  expect(h, p, JoinRequest{1, "ann", "class", Role::instructor, AudioCodec::pcm16, 48000, "nope"},
         ErrorCode::bad_token);
  for (uint32_t k = 1; k < c.max_token_failures_per_address_per_minute; ++k) {
    expect(h, p, JoinRequest{1, "ann", "class", Role::instructor, AudioCodec::pcm16, 48000, "nope"},
           ErrorCode::bad_token);
  }
  expect(h, p, JoinRequest{1, "ann", "class", Role::instructor, AudioCodec::pcm16, 48000, "nope"},
         ErrorCode::too_many_attempts);
  const SessionId ann = h.member("ann", "class");
  h.member("ben", "class");
  expect(h, p, JoinRequest{1, "cat", "class", Role::student, AudioCodec::pcm16, 48000, ""}, ErrorCode::room_full);
  expect(h, p, JoinRequest{1, "cat", "other", Role::student, AudioCodec::pcm16, 48000, ""}, ErrorCode::too_many_rooms);
  expect(h, ann, RevokeRequest{}, ErrorCode::not_instructor);
  {
    CoreHarness room;  // the room above is full: grant in a room of its own
    const SessionId teach = room.member("teach", "lab", Role::instructor);
    room.member("dan", "lab");
    expect(room, teach, GrantRequest{"dan"}, ErrorCode::not_queued);
  }

  // bad_frame comes from the host: a binary frame before joining.
  test::TestPort port;
  SeededSecrets secrets(1);
  ServerHost host(Config{}, secrets, HostConfig{}, port, port);
  host.opened(Time{0}, SessionId{1}, "192.0.2.9");
  const uint8_t frame[] = {1, 0, 0, 0, 42};
  host.binary(Time{0}, SessionId{1}, frame);
  REQUIRE(port.sent<ErrorReply>(SessionId{1}).size() == 1);
  seen.insert(port.sent<ErrorReply>(SessionId{1})[0].code);
  // too_many_connections too: the host refuses a session beyond its address's cap.
  test::TestPort capped_port;
  HostConfig one_each;
  one_each.max_sessions_per_address = 1;
  ServerHost capped(Config{}, secrets, one_each, capped_port, capped_port);
  capped.opened(Time{0}, SessionId{1}, "192.0.2.9");
  capped.opened(Time{0}, SessionId{2}, "192.0.2.9");
  REQUIRE(capped_port.sent<ErrorReply>(SessionId{2}).size() == 1);
  seen.insert(capped_port.sent<ErrorReply>(SessionId{2})[0].code);

  // tls_required: the calls port's answer to a plaintext client when it speaks TLS
  // (host/transport_rules.hpp), the one code the transport sends rather than the core.
  {
    const std::string line = tls_required_line();
    const auto decoded = decode_server_message(line.substr(0, line.size() - 1), any_reply_is(ReplyKind::none));
    REQUIRE(std::holds_alternative<ServerMessage>(decoded));
    seen.insert(std::get<ErrorReply>(std::get<ServerMessage>(decoded)).code);
  }

  // login_required and bad_signature: a server with accounts.
  {
    Config with_accounts;
    with_accounts.accounts = AccountsMode::open;
    CoreHarness accounts(with_accounts);
    ChannelBinding binding{};
    binding.fill(5);
    const SessionId s = accounts.open_bound(binding);
    expect(accounts, s, RegisterRequest{1, "alice", 0, {}, {}, {}}, ErrorCode::login_required);
    expect(accounts, s, RegisterRequest{1, "alice", 0, std::string(64, 'a'), std::string(128, 'b'), {}},
           ErrorCode::bad_signature);
  }

  // The invites and add_key codes: a server that gives names by invitation.
  {
    Config with_invites;
    with_invites.accounts = AccountsMode::invite;
    CoreHarness invites(with_invites);
    ChannelBinding binding{};
    binding.fill(6);
    const LoginKey key = login_key_from_seed(std::array<uint8_t, 32>{3});
    const SessionId s = invites.open_bound(binding);
    RegisterRequest r{1, "alice", 0, login_key_hex(key), login_signature(key, binding, "alice"), {}};
    expect(invites, s, r, ErrorCode::invite_required);
    r.invite = "nothing the host knows";
    expect(invites, s, r, ErrorCode::bad_invite);
    invites.feed(InviteChecked{s, "alice", true});
    expect(invites, s, r, ErrorCode::invite_expired);
    invites.feed(InviteChecked{s, "alice", false});
    invites.request(s, r);
    REQUIRE(invites.ok_to(s));
    for (uint8_t k = 10; k < 10 + max_keys_per_account - 1; ++k) {
      invites.request(s, AddKeyRequest{login_key_hex(login_key_from_seed(std::array<uint8_t, 32>{k}))});
      REQUIRE(invites.ok_to(s));
    }
    expect(invites, s, AddKeyRequest{std::string(64, 'f')}, ErrorCode::too_many_keys);
  }

  while (h.core.session_count() < c.max_sessions) h.open();
  const SessionId refused = h.open();
  CHECK(h.error_to(refused) == ErrorCode::server_full);
  seen.insert(ErrorCode::server_full);

  for (int i = 0; i < error_code_count; ++i) {
    CAPTURE(to_string(static_cast<ErrorCode>(i)));
    CHECK(seen.contains(static_cast<ErrorCode>(i)));
  }
  (void)eve;
  (void)bob;
}
