// Call media: RTP/Opus out, jitter buffer and decoder in, and the summary printed at hangup.
#include "media/io/call_media.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "media/audio_metrics.hpp"

using namespace hailer;

namespace {

// A warbling tone whose envelope changes every 100 ms, so envelopes can be compared.
std::vector<int16_t> frame_of(int k) {
  std::vector<int16_t> pcm(opus_frame_samples);
  const double amplitude = (k / 5) % 2 == 0 ? 9000 : 1500;
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    const double t = static_cast<double>(k * static_cast<int>(opus_frame_samples) + static_cast<int>(i)) / 48000.0;
    pcm[i] = static_cast<int16_t>(amplitude * std::sin(2 * M_PI * 330 * t));
  }
  return pcm;
}

}  // namespace

TEST_CASE("call media carries audio from one side to the other, with loss concealed and counted", "[call_media]") {
  CallMedia alice(CallMediaConfig{}, 1), bob(CallMediaConfig{}, 2);
  alice.start(std::nullopt);
  bob.start(std::nullopt);
  std::vector<int16_t> sent, heard;
  const int frames = 150;  // 3 s
  for (int k = 0; k < frames; ++k) {
    const Time now = Time::from_ms(20 * k);
    const auto pcm = frame_of(k);
    sent.insert(sent.end(), pcm.begin(), pcm.end());
    const auto datagram = alice.send_frame(pcm);
    if (k % 25 != 7) bob.receive(now + Duration::from_ms(15), datagram);  // every 25th packet lost
    const PlayedFrame f = bob.play(now + Duration::from_ms(20));
    if (!f.pcm.empty()) heard.insert(heard.end(), f.pcm.begin(), f.pcm.end());
  }
  const std::vector<uint8_t> junk{1, 2, 3};
  bob.receive(Time::from_ms(3000), junk);
  CHECK(bob.not_rtp() == 1);
  const auto summary = bob.stop();
  REQUIRE(summary.has_value());
  CHECK(summary->stats.received == frames - 6);
  CHECK(summary->stats.lost + summary->stats.unplayed + summary->stats.played + summary->stats.fec_recovered >= 144);
  CHECK(summary->mos > 3.5);
  CHECK(summary->describe().find("received 144") != std::string::npos);
  const auto sim = envelope_similarity(sent, heard, 48'000, 300);
  CHECK(sim.correlation > 0.8);
  const auto out = alice.stop();
  REQUIRE(out.has_value());
  CHECK(out->packets_sent == frames);
  CHECK(out->bytes_sent > frames * 12);   // at least the RTP headers
  CHECK_FALSE(alice.stop().has_value());  // nothing running any more
}

TEST_CASE("call media plays one stream: another SSRC is dropped and counted until the playout restarts",
          "[call_media]") {
  CallMedia alice(CallMediaConfig{}, 1), intruder(CallMediaConfig{}, 9), bob(CallMediaConfig{}, 2);
  alice.start(std::nullopt);
  intruder.start(std::nullopt);
  bob.start(std::nullopt);
  uint64_t played = 0;
  for (int k = 0; k < 50; ++k) {
    const Time now = Time::from_ms(20 * k);
    bob.receive(now, alice.send_frame(frame_of(k)));
    bob.receive(now, intruder.send_frame(frame_of(k + 3)));  // a second stream, another SSRC
    if (!bob.play(now + Duration::from_ms(20)).pcm.empty()) ++played;
  }
  CHECK(bob.other_streams() == 50);
  CHECK(played > 40);
  // The host switches sources: from now on the intruder's stream is the one played.
  bob.restart_playout();
  for (int k = 50; k < 60; ++k) bob.receive(Time::from_ms(20 * k), intruder.send_frame(frame_of(k)));
  bob.receive(Time::from_ms(1200), alice.send_frame(frame_of(60)));
  CHECK(bob.other_streams() == 51);
  const auto summary = bob.stop();
  REQUIRE(summary.has_value());
  CHECK(summary->stats.received == 10);  // counted from the restart, the intruder's stream only
}

TEST_CASE("call media with keys: SRTP both ways, and forged, replayed and truncated datagrams are refused and counted",
          "[call_media]") {
  SrtpKeys a_keys, b_keys, wrong;
  a_keys.send.fill(1);
  a_keys.receive.fill(2);
  b_keys.send = a_keys.receive;
  b_keys.receive = a_keys.send;
  wrong.send.fill(3);
  wrong.receive.fill(4);
  CallMedia alice(CallMediaConfig{}, 1), bob(CallMediaConfig{}, 2), intruder(CallMediaConfig{}, 9);
  alice.start(a_keys);
  bob.start(b_keys);
  intruder.start(wrong);
  std::vector<int16_t> sent, heard;
  std::vector<uint8_t> captured;
  for (int k = 0; k < 100; ++k) {
    const Time now = Time::from_ms(20 * k);
    const auto pcm = frame_of(k);
    sent.insert(sent.end(), pcm.begin(), pcm.end());
    const auto datagram = alice.send_frame(pcm);
    if (k == 10) captured = datagram;
    bob.receive(now, datagram);
    bob.receive(now, intruder.send_frame(frame_of(k)));  // the right shape, the wrong key
    const PlayedFrame f = bob.play(now + Duration::from_ms(20));
    if (!f.pcm.empty()) heard.insert(heard.end(), f.pcm.begin(), f.pcm.end());
  }
  bob.receive(Time::from_ms(2000), captured);  // a replay
  const std::vector<uint8_t> stub(20, 0x80);
  bob.receive(Time::from_ms(2000), stub);  // too short to carry a tag
  CHECK(bob.srtp_forged() == 100);
  CHECK(bob.srtp_replayed() == 1);
  CHECK(bob.srtp_truncated() == 1);
  CHECK(bob.other_streams() == 0);  // the intruder's packets never reached the SSRC check
  CHECK(envelope_similarity(sent, heard, 48'000, 300).correlation > 0.8);
  const auto summary = bob.stop();
  REQUIRE(summary.has_value());
  CHECK(summary->protected_media);
  CHECK(summary->stats.received == 100);
  CHECK(summary->describe().find("SRTP") != std::string::npos);
  CHECK(summary->describe().find("refused 100 forged, 1 replayed, 1 truncated") != std::string::npos);
  // Plain RTP cannot be heard by an end that expects SRTP, and SRTP is not RTP to a plain end.
  CallMedia plain(CallMediaConfig{}, 3);
  plain.start(std::nullopt);
  alice.start(a_keys);
  plain.receive(Time{0}, alice.send_frame(frame_of(0)));
  CHECK(plain.stop()->stats.received == 1);  // it parses as RTP; its Opus is ciphertext
}
