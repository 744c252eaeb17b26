// Push-to-talk: joining rooms, floor grant/deny/queue, release, revoke, timers, audio admission.
#include <catch2/catch.hpp>

#include "tests/support/core_harness.hpp"

using namespace hailer;
using hailer::test::CoreHarness;

namespace {
struct Room3 {
  CoreHarness h;
  SessionId teacher, ann, ben, cat;
  explicit Room3(FloorPolicy policy = FloorPolicy::deny, Config c = {}) : h(c) {
    teacher = h.member("teacher", "class", Role::instructor);
    ann = h.member("ann", "class");
    ben = h.member("ben", "class");
    cat = h.member("cat", "class");
    if (policy == FloorPolicy::queue) h.request(teacher, SetPolicyRequest{FloorPolicy::queue});
  }
};
}  // namespace

TEST_CASE("join: reply with the room state, others told of the new member", "[ptt]") {
  CoreHarness h;
  const SessionId t = h.member("teacher", "class", Role::instructor);
  const SessionId a = h.open();
  h.request(a, JoinRequest{1, "ann", "Class", Role::student, AudioCodec::opus, 48000, ""});
  auto ok = h.sent<OkReply>(a);
  REQUIRE(ok.size() == 1);
  const auto& room = std::get<RoomData>(ok[0].data);
  CHECK(room.room == "class");  // rooms compare case-insensitively; the first spelling stays
  CHECK(room.policy == FloorPolicy::deny);
  CHECK(room.talker.empty());
  CHECK(room.members == std::vector<MemberInfo>{{"teacher", Role::instructor}, {"ann", Role::student}});
  CHECK(h.sent<MemberJoined>(t) == std::vector<MemberJoined>{{"ann", Role::student}});
}

TEST_CASE("member_joined goes to the other members, never to the joiner", "[ptt]") {
  CoreHarness h;
  const SessionId t = h.member("teacher", "class", Role::instructor);
  const SessionId a = h.member("ann", "class");
  const SessionId b = h.open();
  h.request(b, JoinRequest{1, "ben", "class", Role::student, AudioCodec::opus, 48000, ""});
  CHECK(h.sent<MemberJoined>(t) == std::vector<MemberJoined>{{"ben", Role::student}});
  CHECK(h.sent<MemberJoined>(a) == std::vector<MemberJoined>{{"ben", Role::student}});
  CHECK(h.sent<MemberJoined>(b).empty());
  // The first member of a room has nobody to tell: no broadcast at all.
  const SessionId c = h.open();
  h.request(c, JoinRequest{1, "cat", "other", Role::student, AudioCodec::opus, 48000, ""});
  CHECK(h.effects<Broadcast>().empty());
}

TEST_CASE("join errors: bad name, bad room, name taken, token, version, limits", "[ptt]") {
  Config c;
  c.instructor_token = "secret";
  c.max_room_members = 1;
  c.max_rooms = 1;
  CoreHarness h(c);
  h.member("ann", "class");
  const SessionId s = h.open();
  h.request(s, JoinRequest{1, "b b", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::bad_name);
  h.request(s, JoinRequest{1, "ben", "../x", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::bad_room);
  h.request(s, JoinRequest{1, "ANN", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::name_taken);
  h.request(s, JoinRequest{1, "ben", "class", Role::instructor, AudioCodec::pcm16, 48000, "wrong"});
  CHECK(h.error_to(s) == ErrorCode::bad_token);
  h.request(s, JoinRequest{7, "ben", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::unsupported_version);
  h.request(s, JoinRequest{1, "ben", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::room_full);
  h.request(s, JoinRequest{1, "ben", "other", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::too_many_rooms);
  h.request(s, JoinRequest{1, "ben", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::room_full);  // still unjoined: state unchanged by the errors
  h.request(s, CallRequest{"ann", std::nullopt});
  CHECK(h.error_to(s) == ErrorCode::not_registered);
}

TEST_CASE("instructor tokens: wrong tries are limited per address, boundaries pinned, the cookie stands for the token",
          "[ptt][security]") {
  Config c;
  c.instructor_token = "0123456789abcdef0123456789abcdef";
  c.max_token_failures_per_address_per_minute = 3;
  CoreHarness h(c);
  auto try_token = [&](const std::string& address, const std::string& token, bool cookie = false) {
    const SessionId s = h.open(address, cookie);
    h.request(s, JoinRequest{1, "tom", "class", Role::instructor, AudioCodec::pcm16, 48000, token});
    std::optional<ErrorCode> result;
    if (!h.ok_to(s)) result = h.error_to(s);
    h.close(s);
    return result;
  };
  const std::string attacker = "198.51.100.7";
  // A token one character short, one character off, empty: all wrong, however close.
  CHECK(try_token(attacker, c.instructor_token.substr(1)) == ErrorCode::bad_token);
  CHECK(try_token(attacker, "1123456789abcdef0123456789abcdef") == ErrorCode::bad_token);
  CHECK(try_token(attacker, "") == ErrorCode::bad_token);
  // The address's budget is spent: even the right token is refused now (else the refusal
  // would stop nothing: a right guess would still be told apart).
  CHECK(try_token(attacker, c.instructor_token) == ErrorCode::too_many_attempts);
  CHECK(h.core.stats().token_failures == 3);
  CHECK(h.core.stats().token_tries_limited == 1);
  // Another address is not affected.
  CHECK_FALSE(try_token("192.0.2.50", c.instructor_token).has_value());
  // One try comes back every 20 s (3 a minute): not a millisecond before.
  h.advance(Duration::from_ms(19'999));
  CHECK(try_token(attacker, "wrong") == ErrorCode::too_many_attempts);
  h.advance(Duration::from_ms(1));
  CHECK(try_token(attacker, "wrong") == ErrorCode::bad_token);
  h.advance(Duration::from_ms(20'000));
  CHECK_FALSE(try_token(attacker, c.instructor_token).has_value());
  // The web face vouched for the instructor's cookie: no token needed, and none is counted.
  CHECK_FALSE(try_token("192.0.2.51", "", true).has_value());
  // A student needs neither.
  const SessionId ann = h.open(attacker);
  h.request(ann, JoinRequest{1, "ann", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.ok_to(ann));
}

TEST_CASE("press on an idle floor: granted with talk time, taken told to everyone else, route opened", "[ptt]") {
  Room3 r;
  r.h.request(r.ann, PressRequest{});
  CHECK(r.h.ok_to(r.ann));
  CHECK(r.h.sent<FloorGranted>(r.ann) == std::vector<FloorGranted>{{60'000}});
  for (SessionId s : {r.teacher, r.ben, r.cat}) CHECK(r.h.sent<FloorTaken>(s) == std::vector<FloorTaken>{{"ann"}});
  CHECK(r.h.sent<FloorTaken>(r.ann).empty());
  auto routes = r.h.effects<RouteSpeaker>();
  REQUIRE(routes.size() == 1);
  CHECK(routes[0].talker == r.ann);
  CHECK(routes[0].room == "class");
  CHECK(routes[0].format == AudioFormat{AudioCodec::pcm16, 48'000});
  CHECK(routes[0].open);
  CHECK(r.h.effects<RouteMedia>().empty());
  // The broadcast of floor_taken is one effect for the room, after the holder's grant.
  const auto& last = r.h.last;
  std::size_t grant_at = last.size(), broadcast_at = last.size();
  for (std::size_t i = 0; i < last.size(); ++i) {
    if (const auto* m = std::get_if<SendMessage>(&last[i]); m && std::holds_alternative<FloorGranted>(m->message))
      grant_at = i;
    if (std::holds_alternative<Broadcast>(last[i])) broadcast_at = i;
  }
  CHECK(grant_at < broadcast_at);
  REQUIRE(r.h.effects<Broadcast>().size() == 1);
  CHECK(r.h.effects<Broadcast>()[0].to == std::vector<SessionId>{r.teacher, r.ben, r.cat});
  auto rec = r.h.effects<StartRecording>();
  REQUIRE(rec.size() == 1);
  CHECK(rec[0].file_name == "ann_1.wav");
  CHECK(rec[0].room == "class");
}

TEST_CASE("deny: a press while someone talks is denied with the talker, never two talkers", "[ptt]") {
  Room3 r;
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, PressRequest{});
  CHECK(r.h.sent<FloorDenied>(r.ben) == std::vector<FloorDenied>{{DenyReason::floor_taken, "ann"}});
  CHECK(r.h.effects<RouteSpeaker>().empty());
  CHECK(r.h.core.floor_holder_of(r.ben) == r.ann);
}

TEST_CASE("queue: presses queue with positions, release grants the head and re-tells positions", "[ptt]") {
  Room3 r(FloorPolicy::queue);
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, PressRequest{});
  CHECK(r.h.sent<FloorQueued>(r.ben) == std::vector<FloorQueued>{{1}});
  r.h.request(r.cat, PressRequest{});
  CHECK(r.h.sent<FloorQueued>(r.cat) == std::vector<FloorQueued>{{2}});
  r.h.request(r.cat, PressRequest{});  // a repeat returns the position
  CHECK(r.h.sent<FloorQueued>(r.cat) == std::vector<FloorQueued>{{2}});
  r.h.request(r.ann, ReleaseRequest{});
  CHECK(r.h.sent<FloorGranted>(r.ben).size() == 1);
  CHECK(r.h.sent<FloorTaken>(r.ann) == std::vector<FloorTaken>{{"ben"}});
  CHECK(r.h.sent<FloorQueued>(r.cat) == std::vector<FloorQueued>{{1}});
  CHECK(r.h.sent<FloorIdle>(r.ann).empty());  // idle only when the queue is empty
  auto rec = r.h.effects<StartRecording>();
  REQUIRE(rec.size() == 1);
  CHECK(rec[0].file_name == "ben_2.wav");  // a new serial per turn: nothing overwritten
}

TEST_CASE("a queued member who releases leaves the queue", "[ptt]") {
  Room3 r(FloorPolicy::queue);
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, PressRequest{});
  r.h.request(r.cat, PressRequest{});
  r.h.request(r.ben, ReleaseRequest{});
  CHECK(r.h.sent<FloorDequeued>(r.ben) == std::vector<FloorDequeued>{{DequeueReason::released}});
  CHECK(r.h.sent<FloorQueued>(r.cat) == std::vector<FloorQueued>{{1}});
  r.h.request(r.ben, ReleaseRequest{});  // idempotent: ok, nothing else
  CHECK(r.h.ok_to(r.ben));
  CHECK(r.h.last.size() == 1);
}

TEST_CASE("release by the holder with nobody queued: floor idle to everyone, route closed", "[ptt]") {
  Room3 r;
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ann, ReleaseRequest{});
  for (SessionId s : {r.teacher, r.ann, r.ben, r.cat}) CHECK(r.h.sent<FloorIdle>(s).size() == 1);
  auto routes = r.h.effects<RouteSpeaker>();
  REQUIRE(routes.size() == 1);
  CHECK_FALSE(routes[0].open);
  CHECK(r.h.effects<StopRecording>().size() == 1);
}

TEST_CASE("the speaker disconnecting mid-turn releases the floor (any close code)", "[ptt]") {
  Room3 r(FloorPolicy::queue);
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, PressRequest{});
  r.h.close(r.ann);
  CHECK(r.h.sent<FloorGranted>(r.ben).size() == 1);
  CHECK(r.h.sent<MemberLeft>(r.cat) == std::vector<MemberLeft>{{"ann"}});
  CHECK(r.h.effects<StopRecording>().size() == 1);
  for (SessionId to : r.h.recipients()) CHECK(to != r.ann);
}

TEST_CASE("maximum talk time revokes the floor with a reason: not a millisecond before", "[ptt]") {
  Config c;
  c.max_talk_ms = 20'000;
  c.silence_timeout_ms = 50'000;
  Room3 r(FloorPolicy::deny, c);
  r.h.request(r.ann, PressRequest{});
  for (int i = 0; i < 19; ++i) {
    r.h.advance(Duration::from_ms(1000));
    r.h.feed(AudioPlayed{r.ann, -20});
  }
  r.h.advance(Duration::from_ms(999));
  CHECK(r.h.sent<FloorRevoked>(r.ann).empty());
  CHECK(r.h.core.floor_holder_of(r.ann) == r.ann);
  r.h.advance(Duration::from_ms(1));
  CHECK(r.h.sent<FloorRevoked>(r.ann) == std::vector<FloorRevoked>{{RevokeReason::max_talk_time}});
  CHECK(r.h.sent<FloorIdle>(r.ben).size() == 1);
}

TEST_CASE("silence timeout: a holder who stops talking loses the floor, voice keeps it", "[ptt]") {
  Config c;
  c.silence_timeout_ms = 4'000;
  Room3 r(FloorPolicy::deny, c);
  r.h.request(r.ann, PressRequest{});
  r.h.advance(Duration::from_ms(3'000));
  r.h.feed(AudioPlayed{r.ann, -30});  // voiced: the silence deadline moves to 3 s + 4 s
  r.h.advance(Duration::from_ms(3'000));
  r.h.feed(AudioPlayed{r.ann, -80});  // silence does not count
  r.h.advance(Duration::from_ms(999));
  CHECK(r.h.sent<FloorRevoked>(r.ann).empty());
  CHECK(r.h.core.floor_holder_of(r.ann) == r.ann);
  r.h.advance(Duration::from_ms(1));
  CHECK(r.h.sent<FloorRevoked>(r.ann) == std::vector<FloorRevoked>{{RevokeReason::silence}});
}

TEST_CASE("a frame exactly at the silence threshold counts as silence, one dB above as voice", "[ptt]") {
  Config c;
  c.silence_timeout_ms = 1'000;
  c.silence_threshold_dbfs = -50;
  Room3 r(FloorPolicy::deny, c);
  r.h.request(r.ann, PressRequest{});
  r.h.advance(Duration::from_ms(500));
  r.h.feed(AudioPlayed{r.ann, -50});  // at the threshold: silence, the deadline stays at 1 s
  r.h.advance(Duration::from_ms(499));
  CHECK(r.h.sent<FloorRevoked>(r.ann).empty());
  r.h.advance(Duration::from_ms(1));
  CHECK(r.h.sent<FloorRevoked>(r.ann) == std::vector<FloorRevoked>{{RevokeReason::silence}});

  r.h.request(r.ben, PressRequest{});
  r.h.advance(Duration::from_ms(500));
  r.h.feed(AudioPlayed{r.ben, -49});  // above: voice, the deadline moves to 1.5 s
  r.h.advance(Duration::from_ms(999));
  CHECK(r.h.sent<FloorRevoked>(r.ben).empty());
  r.h.advance(Duration::from_ms(1));
  CHECK(r.h.sent<FloorRevoked>(r.ben) == std::vector<FloorRevoked>{{RevokeReason::silence}});
}

TEST_CASE("a holder who presses again is told the remaining talk time, not the maximum", "[ptt]") {
  Config c;
  c.max_talk_ms = 20'000;
  c.silence_timeout_ms = 50'000;
  Room3 r(FloorPolicy::deny, c);
  r.h.request(r.ann, PressRequest{});
  CHECK(r.h.sent<FloorGranted>(r.ann) == std::vector<FloorGranted>{{20'000}});
  r.h.advance(Duration::from_ms(7'250));
  r.h.request(r.ann, PressRequest{});
  CHECK(r.h.sent<FloorGranted>(r.ann) == std::vector<FloorGranted>{{12'750}});
  CHECK(r.h.effects<RouteSpeaker>().empty());  // still the same turn: no new route, no new recording
  CHECK(r.h.effects<StartRecording>().empty());
}

TEST_CASE("PTT audio frames alone keep a session alive past the heartbeat timeout", "[ptt][presence]") {
  Config c;
  c.heartbeat_timeout_ms = 10'000;
  c.silence_timeout_ms = 60'000;
  CoreHarness h(c);
  const SessionId ann = h.member("ann", "class");
  const SessionId ben = h.member("ben", "class");
  h.request(ann, PressRequest{});
  h.request(ben, PingRequest{});
  for (int i = 0; i < 30; ++i) {  // 30 s of frames every second, and nothing else from ann
    h.advance(Duration::from_ms(1'000));
    h.feed(AudioFrame{ann});
    h.request(ben, PingRequest{});
  }
  CHECK(h.core.floor_holder_of(ann) == ann);
  CHECK(h.effects<CloseSession>().empty());
  // A non-holder's frames count too: they are dropped, but they prove the sender alive.
  h.feed(AudioFrame{ben});
  h.advance(Duration::from_ms(9'999));
  CHECK(h.effects<CloseSession>().empty());
  h.advance(Duration::from_ms(1));
  CHECK(h.effects<CloseSession>().size() == 2);  // both silent for exactly 10 s now
}

TEST_CASE("the instructor may revoke and change the policy, students may not", "[ptt]") {
  Room3 r(FloorPolicy::queue);
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, PressRequest{});
  r.h.request(r.cat, RevokeRequest{});
  CHECK(r.h.error_to(r.cat) == ErrorCode::not_instructor);
  r.h.request(r.cat, SetPolicyRequest{FloorPolicy::deny});
  CHECK(r.h.error_to(r.cat) == ErrorCode::not_instructor);
  r.h.request(r.teacher, RevokeRequest{});
  CHECK(r.h.sent<FloorRevoked>(r.ann) == std::vector<FloorRevoked>{{RevokeReason::instructor}});
  CHECK(r.h.sent<FloorGranted>(r.ben).size() == 1);
  r.h.request(r.cat, PressRequest{});
  r.h.request(r.teacher, SetPolicyRequest{FloorPolicy::deny});
  CHECK(r.h.sent<FloorDequeued>(r.cat) == std::vector<FloorDequeued>{{DequeueReason::policy_changed}});
  for (SessionId s : {r.teacher, r.ann, r.ben, r.cat}) {
    CHECK(r.h.sent<PolicyChanged>(s) == std::vector<PolicyChanged>{{FloorPolicy::deny}});
  }
}

TEST_CASE("an instructor pressing is denied as receive-only", "[ptt]") {
  Room3 r;
  r.h.request(r.teacher, PressRequest{});
  CHECK(r.h.sent<FloorDenied>(r.teacher).at(0).reason == DenyReason::receive_only);
  CHECK_FALSE(r.h.core.floor_holder_of(r.ann).has_value());
}

TEST_CASE("audio is admitted only from the holder", "[ptt]") {
  Room3 r;
  r.h.feed(AudioFrame{r.ann});  // before any grant
  r.h.request(r.ann, PressRequest{});
  r.h.feed(AudioFrame{r.ann});
  r.h.feed(AudioFrame{r.ben});
  CHECK(r.h.core.stats().audio_frames_admitted == 1);
  CHECK(r.h.core.stats().audio_frames_dropped == 2);
}

TEST_CASE("floor queue is bounded: one more is denied queue_full", "[ptt][limits]") {
  Config c;
  c.max_floor_queue = 1;
  Room3 r(FloorPolicy::queue, c);
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, PressRequest{});
  r.h.request(r.cat, PressRequest{});
  CHECK(r.h.sent<FloorDenied>(r.cat) == std::vector<FloorDenied>{{DenyReason::queue_full, "ann"}});
}

TEST_CASE("who on a PTT session lists the room, calls requests are the wrong face", "[ptt]") {
  Room3 r;
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, WhoRequest{});
  const RoomData room = std::get<RoomData>(r.h.sent<OkReply>(r.ben).at(0).data);
  CHECK(room.talker == "ann");
  CHECK(room.members.size() == 4);
  r.h.request(r.ben, HangupRequest{});
  CHECK(r.h.error_to(r.ben) == ErrorCode::wrong_face);
}

TEST_CASE("the last member leaving closes the room, and its policy is kept under its name while the server runs",
          "[ptt]") {
  CoreHarness h;
  const SessionId t = h.member("teacher", "class", Role::instructor);
  h.request(t, SetPolicyRequest{FloorPolicy::queue});
  h.close(t);
  CHECK(h.core.floor_holders().empty());
  const SessionId s = h.open();
  h.request(s, JoinRequest{1, "ann", "CLASS", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(std::get<RoomData>(h.sent<OkReply>(s).at(0).data).policy == FloorPolicy::queue);
  // Set back to the default and emptied: the room reopens with the default, and other rooms never
  // had anything kept.
  const SessionId t2 = h.member("teacher", "class", Role::instructor);
  h.request(t2, SetPolicyRequest{FloorPolicy::deny});
  h.close(s);
  h.close(t2);
  const SessionId s2 = h.open();
  h.request(s2, JoinRequest{1, "ann", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(std::get<RoomData>(h.sent<OkReply>(s2).at(0).data).policy == FloorPolicy::deny);
  const SessionId o = h.open();
  h.request(o, JoinRequest{1, "bob", "other", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(std::get<RoomData>(h.sent<OkReply>(o).at(0).data).policy == FloorPolicy::deny);
}

namespace {
std::vector<std::string> queue_names(const std::vector<FloorQueue>& told) {
  std::vector<std::string> names;
  if (told.empty()) return names;
  for (const QueueEntry& e : told.back().queue) names.push_back(e.name);
  return names;
}
}  // namespace

TEST_CASE("the instructors see the floor queue each time it changes, students never do", "[ptt][queue]") {
  Room3 r(FloorPolicy::queue);
  r.h.request(r.ann, PressRequest{});  // granted: nobody waits
  CHECK(r.h.sent<FloorQueue>(r.teacher).empty());
  r.h.request(r.ben, PressRequest{});
  CHECK(queue_names(r.h.sent<FloorQueue>(r.teacher)) == std::vector<std::string>{"ben"});
  CHECK(r.h.sent<FloorQueue>(r.ben).empty());
  r.h.request(r.cat, PressRequest{});
  CHECK(queue_names(r.h.sent<FloorQueue>(r.teacher)) == std::vector<std::string>{"ben", "cat"});
  r.h.request(r.cat, PressRequest{});  // a repeated press changes nothing and tells nothing
  CHECK(r.h.sent<FloorQueue>(r.teacher).empty());
  CHECK(r.h.sent<FloorQueued>(r.cat) == std::vector<FloorQueued>{{2}});
  // A second instructor joining mid-queue learns the queue with its join.
  const SessionId t2 = r.h.member("tess", "class", Role::instructor);
  CHECK(queue_names(r.h.sent<FloorQueue>(t2)) == std::vector<std::string>{"ben", "cat"});
  r.h.request(r.ann, ReleaseRequest{});  // ben is granted: cat moves up
  CHECK(queue_names(r.h.sent<FloorQueue>(r.teacher)) == std::vector<std::string>{"cat"});
  CHECK(r.h.sent<FloorQueued>(r.cat) == std::vector<FloorQueued>{{1}});
  r.h.request(r.cat, ReleaseRequest{});  // cat gives up its place
  CHECK(r.h.sent<FloorQueue>(r.teacher).size() == 1);
  CHECK(queue_names(r.h.sent<FloorQueue>(r.teacher)).empty());
  for (SessionId s : {r.ann, r.ben, r.cat}) CHECK(r.h.sent<FloorQueue>(s).empty());
}

TEST_CASE("grant: the instructor gives a queued student the floor out of turn", "[ptt][queue]") {
  Room3 r(FloorPolicy::queue);
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, PressRequest{});
  r.h.request(r.cat, PressRequest{});
  r.h.request(r.teacher, GrantRequest{"CAT"});  // names compare case-insensitively
  CHECK(r.h.ok_to(r.teacher));
  CHECK(r.h.sent<FloorRevoked>(r.ann) == std::vector<FloorRevoked>{{RevokeReason::instructor}});
  CHECK(r.h.sent<FloorGranted>(r.cat).size() == 1);
  CHECK(r.h.sent<FloorTaken>(r.ben) == std::vector<FloorTaken>{{"cat"}});
  CHECK(r.h.core.floor_holder_of(r.ann) == r.cat);
  CHECK(queue_names(r.h.sent<FloorQueue>(r.teacher)) == std::vector<std::string>{"ben"});
  CHECK(r.h.sent<FloorQueued>(r.ben).empty());  // ben stays first in line
  // cat's route opened and ann's closed: one speaker at a time.
  const auto routes = r.h.effects<RouteSpeaker>();
  REQUIRE(routes.size() == 2);
  CHECK((routes[0].talker == r.ann && !routes[0].open));
  CHECK((routes[1].talker == r.cat && routes[1].open));
  // With the floor idle (everyone released), a grant is refused: nobody waits.
  r.h.request(r.teacher, GrantRequest{"ann"});
  CHECK(r.h.error_to(r.teacher) == ErrorCode::not_queued);
}

TEST_CASE("skip: the instructor takes a student out of the queue, those behind move up", "[ptt][queue]") {
  Room3 r(FloorPolicy::queue);
  r.h.request(r.ann, PressRequest{});
  r.h.request(r.ben, PressRequest{});
  r.h.request(r.cat, PressRequest{});
  r.h.request(r.teacher, SkipRequest{"ben"});
  CHECK(r.h.ok_to(r.teacher));
  CHECK(r.h.sent<FloorDequeued>(r.ben) == std::vector<FloorDequeued>{{DequeueReason::skipped}});
  CHECK(r.h.sent<FloorQueued>(r.cat) == std::vector<FloorQueued>{{1}});
  CHECK(queue_names(r.h.sent<FloorQueue>(r.teacher)) == std::vector<std::string>{"cat"});
  CHECK(r.h.core.floor_holder_of(r.ann) == r.ann);  // the talker goes on
  r.h.request(r.teacher, SkipRequest{"ben"});       // no longer queued
  CHECK(r.h.error_to(r.teacher) == ErrorCode::not_queued);
  r.h.request(r.teacher, SkipRequest{"ann"});  // the talker is not in the queue
  CHECK(r.h.error_to(r.teacher) == ErrorCode::not_queued);
  r.h.request(r.teacher, SkipRequest{"nobody"});
  CHECK(r.h.error_to(r.teacher) == ErrorCode::not_queued);
  r.h.request(r.teacher, SkipRequest{"no way"});
  CHECK(r.h.error_to(r.teacher) == ErrorCode::bad_name);
  r.h.request(r.teacher, GrantRequest{""});
  CHECK(r.h.error_to(r.teacher) == ErrorCode::bad_name);
  r.h.request(r.ann, GrantRequest{"cat"});
  CHECK(r.h.error_to(r.ann) == ErrorCode::not_instructor);
  r.h.request(r.ann, SkipRequest{"cat"});
  CHECK(r.h.error_to(r.ann) == ErrorCode::not_instructor);
  CHECK(r.h.core.floor_holder_of(r.ann) == r.ann);
}

TEST_CASE("a student queued in another room cannot be granted or skipped from this one", "[ptt][queue]") {
  Room3 r(FloorPolicy::queue);
  const SessionId t2 = r.h.member("tess", "lab", Role::instructor);
  r.h.request(t2, SetPolicyRequest{FloorPolicy::queue});
  const SessionId dan = r.h.member("dan", "lab");
  const SessionId eve = r.h.member("eve", "lab");
  r.h.request(dan, PressRequest{});
  r.h.request(eve, PressRequest{});
  r.h.request(r.teacher, GrantRequest{"eve"});
  CHECK(r.h.error_to(r.teacher) == ErrorCode::not_queued);
  r.h.request(r.teacher, SkipRequest{"eve"});
  CHECK(r.h.error_to(r.teacher) == ErrorCode::not_queued);
  CHECK(r.h.core.floor_holder_of(dan) == dan);
}

TEST_CASE("an instructor with a wrong token hears bad_token even when the name is in use", "[ptt]") {
  Config c;
  c.instructor_token = "the-right-token-1234";
  CoreHarness h(c);
  const SessionId t = h.open();
  h.request(t, JoinRequest{1, "teacher", "class", Role::instructor, AudioCodec::pcm16, 48000, c.instructor_token});
  REQUIRE(h.ok_to(t));
  const SessionId second = h.open();
  h.request(second, JoinRequest{1, "teacher", "class", Role::instructor, AudioCodec::pcm16, 48000, "an-old-token"});
  CHECK(h.error_to(second) == ErrorCode::bad_token);
  // With the right token the name is still the first tab's.
  h.request(second, JoinRequest{1, "teacher", "class", Role::instructor, AudioCodec::pcm16, 48000, c.instructor_token});
  CHECK(h.error_to(second) == ErrorCode::name_taken);
}

namespace {
// `n` frames of the holder's turn played (the speaker reports each), loud enough to keep the floor.
void play_frames(CoreHarness& h, SessionId talker, int n) {
  for (int k = 0; k < n; ++k) {
    h.feed(AudioPlayed{talker, -20});
    if (!h.effects<StopRecording>().empty() || !h.messages(talker).empty()) return;  // the caller looks at this step
  }
}
}  // namespace

TEST_CASE("recording budgets: a student's turns are recorded up to the hourly budget, then the turn goes on unrecorded",
          "[ptt][recording]") {
  Config c;
  c.recorded_seconds_per_student_per_hour = 2;
  c.max_talk_ms = 3'600'000;
  c.silence_timeout_ms = 3'600'000;
  c.heartbeat_timeout_ms = 24 * 3'600'000;  // nobody is dropped while the clock runs half an hour
  Room3 r(FloorPolicy::deny, c);
  r.h.request(r.ann, PressRequest{});
  REQUIRE(r.h.effects<StartRecording>().size() == 1);
  // Each second is charged as it begins: at the grant and at frame 50; frame 100 finds nothing left.
  for (int k = 0; k < 99; ++k) {
    r.h.feed(AudioPlayed{r.ann, -20});
    REQUIRE(r.h.effects<StopRecording>().empty());
  }
  r.h.feed(AudioPlayed{r.ann, -20});
  const auto stops = r.h.effects<StopRecording>();
  REQUIRE(stops.size() == 1);
  CHECK(stops[0].session == r.ann);
  CHECK(stops[0].at_once);
  CHECK(r.h.sent<RecordingStopped>(r.teacher) ==
        std::vector<RecordingStopped>{{"ann", RecordingStopReason::student_budget}});
  for (SessionId s : {r.ann, r.ben, r.cat}) CHECK(r.h.sent<RecordingStopped>(s).empty());  // students are not told
  CHECK(r.h.core.floor_holder_of(r.ben) == r.ann);                                         // the turn goes on
  CHECK(r.h.effects<RouteSpeaker>().empty());
  r.h.request(r.ann, ReleaseRequest{});
  CHECK(r.h.effects<StopRecording>().empty());  // stopped already
  // Her next turn is not recorded at all; ben's is.
  r.h.request(r.ann, PressRequest{});
  CHECK(r.h.effects<StartRecording>().empty());
  CHECK(r.h.sent<RecordingStopped>(r.teacher) ==
        std::vector<RecordingStopped>{{"ann", RecordingStopReason::student_budget}});
  r.h.request(r.ann, ReleaseRequest{});
  r.h.request(r.ben, PressRequest{});
  CHECK(r.h.effects<StartRecording>().size() == 1);
  r.h.request(r.ben, ReleaseRequest{});
  // A second of budget comes back every 30 minutes: not a millisecond before.
  r.h.advance(Duration::from_ms(1'800'000 - 1));
  r.h.request(r.ann, PressRequest{});
  CHECK(r.h.effects<StartRecording>().empty());
  r.h.request(r.ann, ReleaseRequest{});
  r.h.advance(Duration::from_ms(1));
  r.h.request(r.ann, PressRequest{});
  CHECK(r.h.effects<StartRecording>().size() == 1);
  CHECK(r.h.core.stats().recordings_refused == 3);
}

TEST_CASE("recording budgets: an address's students share its hourly budget", "[ptt][recording]") {
  Config c;
  c.recorded_seconds_per_address_per_hour = 1;
  Room3 r(FloorPolicy::deny, c);  // every member joined from the same address
  r.h.request(r.ann, PressRequest{});
  play_frames(r.h, r.ann, 50);  // the address's one second
  r.h.request(r.ann, ReleaseRequest{});
  r.h.request(r.ben, PressRequest{});
  CHECK(r.h.effects<StartRecording>().empty());
  CHECK(r.h.sent<RecordingStopped>(r.teacher) ==
        std::vector<RecordingStopped>{{"ben", RecordingStopReason::address_budget}});
  r.h.request(r.ben, ReleaseRequest{});
  const SessionId dan = r.h.open("198.51.100.40");  // a student elsewhere is recorded
  r.h.request(dan, JoinRequest{1, "dan", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  r.h.request(dan, PressRequest{});
  CHECK(r.h.effects<StartRecording>().size() == 1);
}

TEST_CASE("a recording the port cannot make or go on with is told to the instructors, the floor untouched",
          "[ptt][recording]") {
  Room3 r;
  r.h.request(r.ann, PressRequest{});
  r.h.feed(RecordingFailed{r.ann, RecordingStopReason::disk_full});
  const auto stops = r.h.effects<StopRecording>();
  REQUIRE(stops.size() == 1);
  CHECK(stops[0].at_once);
  CHECK(r.h.sent<RecordingStopped>(r.teacher) ==
        std::vector<RecordingStopped>{{"ann", RecordingStopReason::disk_full}});
  CHECK(r.h.core.floor_holder_of(r.ann) == r.ann);
  // The tail of a turn that ended: told, nothing to stop.
  r.h.request(r.ann, ReleaseRequest{});
  r.h.feed(RecordingFailed{r.ann, RecordingStopReason::quota});
  CHECK(r.h.effects<StopRecording>().empty());
  CHECK(r.h.sent<RecordingStopped>(r.teacher) == std::vector<RecordingStopped>{{"ann", RecordingStopReason::quota}});
  // Nothing for someone gone.
  r.h.close(r.ben);
  r.h.feed(RecordingFailed{r.ben, RecordingStopReason::error});
  CHECK(r.h.last.empty());
}

TEST_CASE("one address opens at most max_rooms_per_address rooms, and may open another once one closes",
          "[ptt][security]") {
  Config c;
  c.max_rooms = 10;
  c.max_rooms_per_address = 2;
  CoreHarness h(c);
  auto join = [&](const std::string& address, const std::string& name, const std::string& room) {
    const SessionId s = h.open(address);
    h.request(s, JoinRequest{1, name, room, Role::student, AudioCodec::pcm16, 48000, ""});
    return s;
  };
  const SessionId a1 = join("198.51.100.7", "a1", "r1");
  join("198.51.100.7", "a2", "r2");
  const SessionId a3 = join("198.51.100.7", "a3", "r3");
  CHECK(h.error_to(a3) == ErrorCode::too_many_rooms);
  CHECK(h.sent<ErrorReply>(a3).at(0).message.find("your address has opened 2 rooms") != std::string::npos);
  const SessionId a4 = join("198.51.100.7", "a4", "r1");  // joining a room that exists is fine
  CHECK(h.ok_to(a4));
  CHECK(h.ok_to(join("192.0.2.8", "b1", "r3")));  // another address opens its own
  h.close(a1);
  h.close(a4);  // r1 closed with its last member
  CHECK(h.ok_to(join("198.51.100.7", "a5", "r5")));
}

TEST_CASE("a member name that looks like a calls user's is refused: one namespace for both faces", "[ptt]") {
  CoreHarness h;
  h.user("bob");
  const SessionId s = h.open();
  h.request(s, JoinRequest{1, "b0b", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(h.error_to(s) == ErrorCode::name_confusable);
  h.member("rnia", "class");
  const SessionId m = h.open();
  h.request(m, RegisterRequest{1, "mia", 0, {}, {}, {}});
  CHECK(h.error_to(m) == ErrorCode::name_confusable);
}

TEST_CASE("kept policies are bounded: past 4,096 rooms one is forgotten and its room reopens with the default",
          "[ptt][limits]") {
  CoreHarness h;
  auto name = [](int i) {
    std::string n = std::to_string(i);
    return "r" + std::string(4 - n.size(), '0') + n;
  };
  for (int i = 0; i <= 4096; ++i) {  // 4,097 rooms set to queue, each emptied in turn
    const SessionId t = h.member("teach", name(i), Role::instructor);
    h.request(t, SetPolicyRequest{FloorPolicy::queue});
    h.close(t);
  }
  auto policy_of = [&](const std::string& room) {
    const SessionId s = h.open();
    h.request(s, JoinRequest{1, "ann", room, Role::student, AudioCodec::pcm16, 48000, ""});
    const FloorPolicy p = std::get<RoomData>(h.sent<OkReply>(s).at(0).data).policy;
    h.close(s);
    return p;
  };
  CHECK(policy_of(name(0)) == FloorPolicy::deny);  // the one forgotten to make room
  CHECK(policy_of(name(1)) == FloorPolicy::queue);
  CHECK(policy_of(name(4096)) == FloorPolicy::queue);
}
