// The server host through a recording port: decoding, the feed loop, routes, the speaker path,
// recordings, bad frames, broadcasts, UDP proofs and the one timer.
#include "host/server_host.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "base/assert.hpp"
#include "client/client.hpp"
#include "media/audio_metrics.hpp"
#include "media/io/frame_decoder.hpp"
#include "media/io/opus_codec.hpp"
#include "protocol/ptt_frame.hpp"
#include "tests/support/core_harness.hpp"
#include "tests/support/test_port.hpp"

using namespace hailer;
using hailer::test::TestPort;

namespace {

std::string join_text(uint64_t id, const std::string& name, const std::string& codec = "opus", int rate = 48000,
                      const std::string& role = "student") {
  return R"({"type":"join","id":)" + std::to_string(id) + R"(,"version":1,"name":")" + name +
         R"(","room":"class","role":")" + role + R"(","codec":")" + codec + R"(","sample_rate":)" +
         std::to_string(rate) + "}";
}

// A host with a clock the test moves; timer() is called whenever the armed time is reached.
struct Rig {
  TestPort port;
  SeededSecrets secrets{7};
  ServerHost host;
  Time now{0};
  explicit Rig(Config c = {}) : host(c, secrets, HostConfig{}, port, port) {}

  SessionId member(uint64_t id, const std::string& name, const std::string& codec = "opus", int rate = 48000) {
    const SessionId s{id};
    host.opened(now, s, "192.0.2." + std::to_string(id));
    host.text(now, s, join_text(1, name, codec, rate));
    return s;
  }
  void run_until(Time t) {
    for (int fired = 0; port.timer && *port.timer <= t; ++fired) {
      REQUIRE(fired < 100'000);  // a timer asked for the same instant again and again would spin
      now = *port.timer;
      port.timer.reset();  // a request is used up when it fires (HostPort::arm_timer)
      host.timer(now);
    }
    now = t;
  }
  void advance(int64_t ms) { run_until(now + Duration::from_ms(ms)); }
};

std::vector<int16_t> tone_frame(int k, double hz = 440, double amplitude = 8000) {
  std::vector<int16_t> pcm(opus_frame_samples);
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    const double t = static_cast<double>(k * opus_frame_samples + i) / 48000.0;
    pcm[i] = static_cast<int16_t>(amplitude * std::sin(2 * M_PI * hz * t));
  }
  return pcm;
}

}  // namespace

TEST_CASE("host: requests are decoded and answered, broadcasts are encoded once for the room", "[host]") {
  Rig r;
  const SessionId t{1};
  r.host.opened(r.now, t, "192.0.2.1");
  r.host.text(r.now, t, join_text(1, "teacher", "opus", 48000, "instructor"));
  const SessionId a = r.member(2, "ann");
  const SessionId b = r.member(3, "ben");
  r.host.text(r.now, a, R"({"type":"press","id":2})");
  REQUIRE(r.port.sent<FloorTaken>(t).size() == 1);
  REQUIRE(r.port.sent<FloorTaken>(b).size() == 1);
  // floor_taken to the teacher and to ben is one buffer, shared.
  CHECK(r.port.shared[t].back() == r.port.shared[b].back());
  CHECK(r.host.stats().broadcasts >= 1);
  // A malformed request is answered by the core, with its code.
  r.host.text(r.now, b, R"({"type":"press","id":"x"})");
  CHECK(r.port.sent<ErrorReply>(b).back().code == ErrorCode::bad_field);
}

TEST_CASE("host: binary frames before joining, or malformed, close only their sender with bad_frame", "[host]") {
  Rig r;
  const SessionId a = r.member(1, "ann");
  const SessionId stranger{2};
  r.host.opened(r.now, stranger, "192.0.2.2");
  const std::vector<uint8_t> payload(40, 0x11);
  r.host.binary(r.now, stranger, encode_ptt_frame(1, false, payload));
  REQUIRE(r.port.sent<ErrorReply>(stranger).size() == 1);
  CHECK(r.port.sent<ErrorReply>(stranger)[0].code == ErrorCode::bad_frame);
  CHECK(r.port.sent<ErrorReply>(stranger)[0].message.find("before joining") != std::string::npos);
  REQUIRE(r.port.closes.size() == 1);
  CHECK(r.port.closes[0] == std::make_pair(stranger, CloseReason::protocol_error));
  // The port reports the close later: nothing happens twice.
  r.host.closed(r.now, stranger, CloseReason::protocol_error);

  std::vector<uint8_t> bad = encode_ptt_frame(1, false, payload);
  bad[0] = 2;  // a version this server does not speak
  r.host.binary(r.now, a, bad);
  CHECK(r.port.sent<ErrorReply>(a).back().message.find("unknown frame version") != std::string::npos);
  CHECK(r.port.closes.back() == std::make_pair(a, CloseReason::protocol_error));
  CHECK(r.host.stats().bad_frames == 2);
  CHECK(r.host.core().session_count() == 0);  // both gone from the core at once
}

TEST_CASE("host: max_frames_per_second frames in a second are judged, the next one is a flood that closes its sender",
          "[host]") {
  // The one judge of a frame, for every transport: the 101st in one second of the server's clock
  // is refused with bad_frame and its sender closed; the others in the room go on.
  Rig r;
  const SessionId a = r.member(1, "ann");
  const SessionId b = r.member(2, "ben");
  r.run_until(Time{1'000'000});
  const std::vector<uint8_t> payload(40, 0x11);
  for (uint16_t k = 0; k < 100; ++k) r.host.binary(Time{1'000'000 + k * 9'000}, b, encode_ptt_frame(k, false, payload));
  CHECK(r.port.closes.empty());
  CHECK(r.host.stats().floods == 0);
  CHECK(r.host.core().stats().audio_frames_dropped == 100);  // judged and tallied: ben has no floor
  r.host.binary(Time{1'999'999}, b, encode_ptt_frame(100, false, payload));
  REQUIRE(r.port.closes.size() == 1);
  CHECK(r.port.closes[0] == std::make_pair(b, CloseReason::protocol_error));
  CHECK(r.port.sent<ErrorReply>(b).back().code == ErrorCode::bad_frame);
  CHECK(r.port.sent<ErrorReply>(b).back().message.find("more than 100 audio frames per second") != std::string::npos);
  CHECK(r.host.stats().floods == 1);
  CHECK(r.host.stats().bad_frames == 1);
  // The first frame of the next second starts a new count for anyone else.
  for (uint16_t k = 0; k < 100; ++k) r.host.binary(Time{2'000'000 + k * 9'000}, a, encode_ptt_frame(k, false, payload));
  CHECK(r.port.closes.size() == 1);
}

TEST_CASE("host: frames from a member without the floor are dropped and counted, not played", "[host]") {
  Rig r;
  const SessionId a = r.member(1, "ann");
  const SessionId b = r.member(2, "ben");
  r.host.text(r.now, a, R"({"type":"press","id":2})");
  OpusFrameEncoder enc;
  for (uint16_t k = 0; k < 20; ++k) {
    r.host.binary(r.now, b, encode_ptt_frame(k, false, enc.encode(tone_frame(k))));
    r.advance(20);
  }
  CHECK(r.host.core().stats().audio_frames_dropped == 20);
  CHECK(r.port.closes.empty());
  for (const auto& who : r.port.talkers) {
    for (SessionId s : who) CHECK(s == a);
  }
}

TEST_CASE("host: a recording the media sink refuses is told to the instructors once the host's call is done",
          "[host]") {
  // The sink answers in its return value; the host feeds the core after applying the press's
  // effects (never from inside them), and the turn goes on, played but unrecorded.
  Rig r;
  const SessionId t{1};
  r.host.opened(r.now, t, "192.0.2.1");
  r.host.text(r.now, t, join_text(1, "teacher", "opus", 48000, "instructor"));
  const SessionId a = r.member(2, "ann");
  r.port.refuse_recordings = RecordingStopReason::disk_full;
  r.host.text(r.now, a, R"({"type":"press","id":2})");
  REQUIRE(r.port.sent<RecordingStopped>(t).size() == 1);
  CHECK(r.port.sent<RecordingStopped>(t)[0] == RecordingStopped{"ann", RecordingStopReason::disk_full});
  CHECK(r.port.sent<RecordingStopped>(a).empty());  // the student is not told
  OpusFrameEncoder enc;
  for (uint16_t k = 0; k < 10; ++k) {
    r.host.binary(r.now, a, encode_ptt_frame(k, false, enc.encode(tone_frame(k))));
    r.advance(20);
  }
  CHECK(r.host.core().stats().audio_frames_admitted == 10);  // the turn goes on
  CHECK(r.port.sent<RecordingStopped>(t).size() == 1);       // told once
}

TEST_CASE("host: the speaker conceals a missing frame with the codec, not with zeros", "[host]") {
  Rig r;
  const SessionId a = r.member(1, "ann");
  r.host.text(r.now, a, R"({"type":"press","id":2})");
  OpusFrameEncoder enc;
  for (uint16_t k = 0; k < 60; ++k) {
    const auto packet = enc.encode(tone_frame(k));
    if (k != 30) r.host.binary(r.now, a, encode_ptt_frame(k, false, packet));  // frame 30 never arrives
    r.advance(20);
  }
  r.host.text(r.now, a, R"({"type":"release","id":3})");
  r.advance(400);
  // Every frame after playout started carries sound: the lost one was rebuilt (FEC) or concealed.
  std::size_t replaced = 0;
  for (std::size_t i = 0; i < r.port.mixes.size(); ++i) {
    if (r.port.kinds[i].empty()) continue;
    if (r.port.kinds[i][0] == PlayoutKind::fec || r.port.kinds[i][0] == PlayoutKind::concealed) {
      ++replaced;
      CHECK(level_dbfs(r.port.mixes[i]) > -40);
    }
  }
  CHECK(replaced >= 1);
  // The recording holds what was played: 60 frames (59 received, one rebuilt), and it closed
  // once the tail drained.
  REQUIRE(r.port.recording_files.size() == 1);
  CHECK(r.port.recording_files.begin()->second == "ann_1.wav");
  CHECK(r.port.recordings_stopped.size() == 1);
  CHECK(r.port.recorded.begin()->second.size() == 60 * opus_frame_samples);
  REQUIRE(r.port.turns.size() == 1);
  CHECK(r.port.turns[0].second.received == 59);
}

TEST_CASE("host: turns in one room play one after the other, never on top of each other", "[host]") {
  Config c;
  c.default_floor_policy = FloorPolicy::queue;
  Rig r(c);
  const SessionId a = r.member(1, "ann");
  const SessionId b = r.member(2, "ben");
  r.host.text(r.now, a, R"({"type":"press","id":2})");
  r.host.text(r.now, b, R"({"type":"press","id":2})");  // queued behind ann
  OpusFrameEncoder ea, eb;
  uint16_t k = 0;
  for (; k < 30; ++k) {
    r.host.binary(r.now, a, encode_ptt_frame(k, false, ea.encode(tone_frame(k, 300))));
    r.advance(20);
  }
  r.host.text(r.now, a, R"({"type":"release","id":3})");  // ben is granted now; ann's tail still buffered
  for (uint16_t j = 0; j < 30; ++j) {
    r.host.binary(r.now, b, encode_ptt_frame(j, false, eb.encode(tone_frame(j, 600))));
    r.advance(20);
  }
  r.host.text(r.now, b, R"({"type":"release","id":3})");
  r.advance(500);
  std::size_t ann_played = 0, ben_played = 0;
  bool ben_started = false;
  for (const auto& who : r.port.talkers) {
    CHECK(who.size() <= 1);  // one voice at a time
    for (SessionId s : who) {
      if (s == b) ben_started = true;
      if (s == a) CHECK_FALSE(ben_started);  // all of ann's turn, her tail included, before ben
      (s == a ? ann_played : ben_played)++;
    }
  }
  // The buffer may drop a frame or two to bring its delay down; the recordings keep every one.
  CHECK(ann_played >= 27);
  CHECK(ben_played >= 27);
  REQUIRE(r.port.recorded.size() == 2);
  for (const auto& [id, pcm] : r.port.recorded) CHECK(pcm.size() == 30 * opus_frame_samples);
  CHECK(r.port.recordings_stopped.size() == 2);
}

TEST_CASE("host: 16-bit PCM at 44.1 kHz is resampled to 48 kHz on the speaker", "[host]") {
  Rig r;
  const SessionId a = r.member(1, "ann", "pcm16", 44100);
  r.host.text(r.now, a, R"({"type":"press","id":2})");
  for (uint16_t k = 0; k < 50; ++k) {
    std::vector<int16_t> pcm(882);
    for (std::size_t i = 0; i < pcm.size(); ++i) {
      pcm[i] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * static_cast<double>(k * 882 + i) / 44100.0));
    }
    r.host.binary(r.now, a, encode_ptt_frame(k, k == 49, pcm16_to_bytes(pcm)));
    r.advance(20);
  }
  r.advance(400);
  REQUIRE(r.port.recorded.size() == 1);
  const auto& rec = r.port.recorded.begin()->second;
  CHECK(rec.size() == 50 * opus_frame_samples);
  CHECK(level_dbfs(std::span(rec).subspan(10 * opus_frame_samples, 30 * opus_frame_samples)) > -20);
  // A frame longer than 20 ms at the declared rate is refused.
  r.host.binary(r.now, a, encode_ptt_frame(60, false, std::vector<uint8_t>(2 * 883, 0)));
  CHECK(r.port.sent<ErrorReply>(a).back().code == ErrorCode::bad_frame);
}

TEST_CASE("host: a UDP proof reaches the core, anything else on the port is ignored", "[host]") {
  Rig r;
  const SessionId a{1};
  r.host.opened(r.now, a, "192.0.2.1");
  r.host.text(r.now, a, R"({"type":"register","id":1,"version":1,"name":"alice","media_port":5004})");
  const auto reg = std::get<RegisteredData>(r.port.sent<OkReply>(a, ReplyKind::registered).at(0).data);
  const MediaProbeDatagram proof = hailer::test::CoreHarness::proof(reg, 1);
  SecretKey key;
  REQUIRE(from_hex(reg.media_token, key.bytes));
  const std::string probe = encode_media_probe(key, proof.media_id, 1);
  r.host.datagram(r.now, {"203.0.113.5", 40000}, std::vector<uint8_t>(probe.begin(), probe.end()));
  CHECK(r.port.sent<MediaReady>(a) == std::vector<MediaReady>{{"203.0.113.5", 40000}});
  const std::string junk = "GET / HTTP/1.1";
  r.host.datagram(r.now, {"198.51.100.1", 9}, std::vector<uint8_t>(junk.begin(), junk.end()));
  CHECK(r.host.stats().datagrams_ignored == 1);
  CHECK(r.host.core().stats().media_probes == 1);
}

TEST_CASE("host: one address holds at most max_sessions_per_address sessions, the rest refused at the door",
          "[host][security]") {
  TestPort port;
  SeededSecrets secrets(3);
  HostConfig hc;
  hc.max_sessions_per_address = 2;
  ServerHost host(Config{}, secrets, hc, port, port);
  const Time t{0};
  host.opened(t, SessionId{1}, "198.51.100.7");
  host.opened(t, SessionId{2}, "198.51.100.7");
  host.opened(t, SessionId{3}, "198.51.100.7");
  CHECK(host.core().session_count() == 2);
  REQUIRE(port.sent<ErrorReply>(SessionId{3}).size() == 1);
  CHECK(port.sent<ErrorReply>(SessionId{3})[0].code == ErrorCode::too_many_connections);
  CHECK(port.closes == std::vector<std::pair<SessionId, CloseReason>>{{SessionId{3}, CloseReason::server_full}});
  CHECK(host.stats().refused_per_address == 1);
  // What the refused connection says goes nowhere; its close is not the core's business.
  host.text(t, SessionId{3}, R"({"type":"register","id":1,"version":1,"name":"x"})");
  host.closed(t, SessionId{3}, CloseReason::server_full);
  CHECK(host.core().session_count() == 2);
  // Another address is not affected; a session that leaves makes room for one more.
  host.opened(t, SessionId{4}, "192.0.2.1");
  CHECK(host.core().session_count() == 3);
  host.closed(t, SessionId{1}, CloseReason::peer_closed);
  host.opened(t, SessionId{5}, "198.51.100.7");
  CHECK(host.core().session_count() == 3);
  CHECK(port.sent<ErrorReply>(SessionId{5}).empty());
  CHECK(host.stats().refused_per_address == 1);
}

TEST_CASE("host: the one timer is the earlier of the core's deadline and the speaker's tick", "[host]") {
  Config c;
  c.heartbeat_timeout_ms = 5'000;
  Rig r(c);
  const SessionId a = r.member(1, "ann");
  REQUIRE(r.port.timer.has_value());
  CHECK(*r.port.timer == Time::from_ms(5'000));  // only the heartbeat
  r.host.text(r.now, a, R"({"type":"press","id":2})");
  CHECK(*r.port.timer == Time::from_ms(20));  // the speaker's first tick
  r.host.timer(Time::from_ms(19));            // early: harmless, nothing due
  CHECK(r.port.mixes.empty());
  r.host.timer(Time::from_ms(20));
  CHECK(r.port.mixes.size() == 1);
  CHECK(*r.port.timer == Time::from_ms(40));
}

TEST_CASE("host: a port that calls back into the host from inside a port call is a bug", "[host]") {
  struct Reentrant : TestPort {
    ServerHost* host = nullptr;
    void send_text(SessionId to, std::string_view text) override {
      TestPort::send_text(to, text);
      host->closed(Time{0}, to, CloseReason::reset);  // must have been queued, not called
    }
  };
  Reentrant port;
  SeededSecrets secrets(1);
  ServerHost host(Config{}, secrets, HostConfig{}, port, port);
  port.host = &host;
  host.opened(Time{0}, SessionId{1}, "192.0.2.1");
  CHECK_THROWS_AS(host.text(Time{0}, SessionId{1}, R"({"type":"ping","id":1})"), AssertionFailure);
}

TEST_CASE(
    "host: a client that sends only malformed lines shows signs of life and the heartbeat closes it only once silent",
    "[host]") {
  Config c;
  c.heartbeat_timeout_ms = 1'000;
  Rig r(c);
  const SessionId s{1};
  r.host.opened(r.now, s, "192.0.2.1");
  // Never a valid request, never registered: garbage, bad JSON, an unknown type, an oversized
  // line, every 500 ms for 5 s (five heartbeat periods).
  const std::vector<std::string> bad{"garbage", "{\"type\":", R"({"type":"dance","id":1})", std::string(5000, 'x')};
  for (int i = 0; i < 10; ++i) {
    r.advance(500);
    r.host.text(r.now, s, bad[static_cast<std::size_t>(i) % bad.size()]);
  }
  CHECK(r.port.closes.empty());
  CHECK(r.port.sent<ErrorReply>(s).size() == 10);  // each answered, none ignored
  const Time last = r.now;
  r.run_until(last + Duration::from_ms(999));
  CHECK(r.port.closes.empty());
  r.run_until(last + Duration::from_ms(1'000));
  REQUIRE(r.port.closes.size() == 1);
  CHECK(r.port.closes[0] == std::pair{s, CloseReason::heartbeat_timeout});
}

TEST_CASE("host: a line of exactly max_message_bytes is a request, one byte more is message_too_large", "[host]") {
  Config c;
  c.max_message_bytes = 256;
  Rig r(c);
  const SessionId s{1};
  r.host.opened(r.now, s, "192.0.2.1");
  const std::string body = R"("type":"ping","id":1})";
  r.host.text(r.now, s, "{" + std::string(256 - 1 - body.size(), ' ') + body);
  r.host.text(r.now, s, "{" + std::string(257 - 1 - body.size(), ' ') + body);
  const auto errors = r.port.sent<ErrorReply>(s);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].code == ErrorCode::message_too_large);
  CHECK(r.port.sent<OkReply>(s).size() == 1);  // the ping of exactly 256 bytes
}
