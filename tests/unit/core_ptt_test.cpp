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

TEST_CASE("press on an idle floor: granted with talk time, taken told to everyone else, route opened",
          "[ptt]") {
  Room3 r;
  r.h.request(r.ann, PressRequest{});
  CHECK(r.h.ok_to(r.ann));
  CHECK(r.h.sent<FloorGranted>(r.ann) == std::vector<FloorGranted>{{60'000}});
  for (SessionId s : {r.teacher, r.ben, r.cat}) CHECK(r.h.sent<FloorTaken>(s) == std::vector<FloorTaken>{{"ann"}});
  CHECK(r.h.sent<FloorTaken>(r.ann).empty());
  auto routes = r.h.effects<RouteMedia>();
  REQUIRE(routes.size() == 1);
  CHECK(routes[0].from == r.ann);
  CHECK_FALSE(routes[0].to_peer.has_value());
  CHECK(routes[0].open);
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
  CHECK(r.h.effects<RouteMedia>().empty());
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
  auto routes = r.h.effects<RouteMedia>();
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

TEST_CASE("maximum talk time revokes the floor with a reason", "[ptt]") {
  Config c;
  c.max_talk_ms = 20'000;
  c.silence_timeout_ms = 50'000;
  Room3 r(FloorPolicy::deny, c);
  r.h.request(r.ann, PressRequest{});
  for (int i = 0; i < 19; ++i) {
    r.h.advance(Duration::from_ms(1000));
    r.h.feed(AudioFrame{r.ann, -20});
  }
  CHECK(r.h.core.floor_holder_of(r.ann) == r.ann);
  r.h.advance(Duration::from_ms(1000));
  CHECK(r.h.sent<FloorRevoked>(r.ann) == std::vector<FloorRevoked>{{RevokeReason::max_talk_time}});
  CHECK(r.h.sent<FloorIdle>(r.ben).size() == 1);
}

TEST_CASE("silence timeout: a holder who stops talking loses the floor, voice keeps it", "[ptt]") {
  Config c;
  c.silence_timeout_ms = 4'000;
  Room3 r(FloorPolicy::deny, c);
  r.h.request(r.ann, PressRequest{});
  r.h.advance(Duration::from_ms(3'000));
  r.h.feed(AudioFrame{r.ann, -30});  // voiced
  r.h.advance(Duration::from_ms(3'000));
  r.h.feed(AudioFrame{r.ann, -80});  // silence does not count
  CHECK(r.h.core.floor_holder_of(r.ann) == r.ann);
  r.h.advance(Duration::from_ms(1'000));
  CHECK(r.h.sent<FloorRevoked>(r.ann) == std::vector<FloorRevoked>{{RevokeReason::silence}});
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
  r.h.feed(AudioFrame{r.ann, -20});  // before any grant
  r.h.request(r.ann, PressRequest{});
  r.h.feed(AudioFrame{r.ann, -20});
  r.h.feed(AudioFrame{r.ben, -20});
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

TEST_CASE("the last member leaving closes the room, the name can reopen it fresh", "[ptt]") {
  CoreHarness h;
  const SessionId t = h.member("teacher", "class", Role::instructor);
  h.request(t, SetPolicyRequest{FloorPolicy::queue});
  h.close(t);
  CHECK(h.core.floor_holders().empty());
  const SessionId s = h.open();
  h.request(s, JoinRequest{1, "ann", "class", Role::student, AudioCodec::pcm16, 48000, ""});
  CHECK(std::get<RoomData>(h.sent<OkReply>(s).at(0).data).policy == FloorPolicy::deny);
}
