#include "core/jitter_buffer.hpp"

#include <catch2/catch.hpp>

#include "core/prng.hpp"

using namespace hailer;

namespace {
// A sender emitting one 20 ms packet per frame, and a receiver pulling every 20 ms.
struct Link {
  JitterBuffer jb;
  RtpSender sender{1, 65500, 0, 960};  // wraps the sequence number early
  std::vector<PlayoutKind> kinds;
  explicit Link(JitterBufferConfig c = {}) : jb(c) {}

  void send_at(Time arrival, const RtpHeader& h) {
    const uint8_t payload[1] = {static_cast<uint8_t>(h.sequence)};
    jb.insert(arrival, h, payload);
  }
  void pull_at(Time t) { kinds.push_back(jb.pull(t).kind); }
  int count(PlayoutKind k) const { return static_cast<int>(std::count(kinds.begin(), kinds.end(), k)); }
};

Time ms(int64_t v) { return Time::from_ms(v); }
}  // namespace

TEST_CASE("steady stream: plays every frame after the start delay, target shrinks to one frame", "[jitter]") {
  Link l;
  for (int i = 0; i < 500; ++i) {
    l.send_at(ms(20 * i + 30), l.sender.next(i == 0));
    l.pull_at(ms(20 * i + 35));
  }
  const auto& s = l.jb.stats();
  CHECK(s.received == 500);
  CHECK(s.lost == 0);
  CHECK(s.concealed == 0);
  CHECK(s.late == 0);
  CHECK(l.jb.target_delay_ms() == 20);
  CHECK(l.jb.buffered_ms() <= 40);  // adapted down from the 80 ms start
  CHECK(s.accelerated >= 1);
}

TEST_CASE("a lost packet is rebuilt from the next packet's FEC, or concealed without FEC", "[jitter]") {
  for (bool fec : {true, false}) {
    JitterBufferConfig c;
    c.fec = fec;
    Link l(c);
    for (int i = 0; i < 100; ++i) {
      const auto h = l.sender.next(false);
      if (i != 50) l.send_at(ms(20 * i), h);
      l.pull_at(ms(20 * i + 5));
    }
    const auto& s = l.jb.stats();
    CHECK(s.lost == 1);
    CHECK(s.fec_recovered == (fec ? 1u : 0u));
    CHECK(s.concealed == (fec ? 0u : 1u));
  }
}

TEST_CASE("reordered packets are played in order, duplicates are counted and dropped", "[jitter]") {
  Link l;
  std::vector<RtpHeader> hs;
  for (int i = 0; i < 60; ++i) hs.push_back(l.sender.next(false));
  for (int i = 0; i < 60; ++i) {
    const int j = (i % 2 == 0 && i + 1 < 60) ? i + 1 : (i % 2 == 1 ? i - 1 : i);  // swap pairs
    l.send_at(ms(20 * i), hs[static_cast<std::size_t>(j)]);
    if (i == 10) l.send_at(ms(20 * i + 1), hs[static_cast<std::size_t>(j)]);
    l.pull_at(ms(20 * i + 5));
  }
  const auto& s = l.jb.stats();
  CHECK(s.reordered >= 25);
  CHECK(s.duplicated == 1);
  CHECK(s.lost == 0);
  CHECK(s.concealed == 0);
}

TEST_CASE("a packet after its playout time is late and discarded", "[jitter]") {
  Link l;
  std::vector<RtpHeader> hs;
  for (int i = 0; i < 40; ++i) hs.push_back(l.sender.next(false));
  for (int i = 0; i < 40; ++i) {
    if (i != 20) l.send_at(ms(20 * i), hs[static_cast<std::size_t>(i)]);
    if (i == 35) l.send_at(ms(20 * i + 1), hs[20]);  // 300 ms late
    l.pull_at(ms(20 * i + 5));
  }
  CHECK(l.jb.stats().late == 1);
}

TEST_CASE("delay never exceeds the maximum, even under a huge jitter spike", "[jitter]") {
  JitterBufferConfig c;
  c.max_delay_ms = 200;
  Link l(c);
  Prng rng(5);
  for (int i = 0; i < 3000; ++i) {
    // 1 s stalls every 10 s: everything bunches up, then arrives at once
    const int64_t base = 20 * i;
    const int64_t arrival = (base % 10'000) < 1000 ? base - base % 10'000 + 1000 : base + rng.between(0, 60);
    l.send_at(ms(arrival), l.sender.next(false));
    l.pull_at(ms(base + 5));
    REQUIRE(l.jb.buffered_ms() <= c.max_delay_ms + 20);
  }
  CHECK(l.jb.target_delay_ms() <= 200);
  for (const auto& d : l.jb.stats().delay) CHECK(d.delay_ms <= c.max_delay_ms + 20);
}

TEST_CASE("jitter raises the target delay toward the 95th percentile", "[jitter]") {
  Link l;
  Prng rng(11);
  for (int i = 0; i < 500; ++i) {
    l.send_at(ms(20 * i + rng.between(0, 60)), l.sender.next(false));
    l.pull_at(ms(20 * i + 5));
  }
  CHECK(l.jb.target_delay_ms() >= 60);
  CHECK(l.jb.target_delay_ms() <= 100);
  CHECK(l.jb.stats().jitter_ms > 5);
  CHECK(l.jb.stats().effective_loss() < 0.05);
}

TEST_CASE("a concealment run of >= 150 ms counts as one interruption", "[jitter]") {
  JitterBufferConfig c;
  c.fec = false;
  Link l(c);
  for (int i = 0; i < 100; ++i) {
    const auto h = l.sender.next(false);
    if (i < 40 || i >= 50) l.send_at(ms(20 * i), h);  // 200 ms gap
    l.pull_at(ms(20 * i + 5));
  }
  CHECK(l.jb.stats().interruptions == 1);
  CHECK(l.jb.stats().lost == 10);
}

TEST_CASE("a paused talker resets playout: silence, not concealment, between spurts", "[jitter]") {
  Link l;
  for (int i = 0; i < 50; ++i) {
    l.send_at(ms(20 * i), l.sender.next(i == 0));
    l.pull_at(ms(20 * i + 5));
  }
  for (int i = 50; i < 150; ++i) {  // 2 s of no packets
    l.sender.skip_frame();
    l.pull_at(ms(20 * i + 5));
  }
  CHECK_FALSE(l.jb.playing());
  const auto concealed_in_pause = l.jb.stats().concealed;
  CHECK(concealed_in_pause <= 20);  // only until the idle reset (400 ms)
  for (int i = 150; i < 200; ++i) {
    l.send_at(ms(20 * i), l.sender.next(i == 150));
    l.pull_at(ms(20 * i + 5));
  }
  CHECK(l.jb.playing());
  CHECK(l.jb.stats().concealed == concealed_in_pause);
}
