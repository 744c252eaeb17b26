#include "media/jitter_buffer.hpp"

#include <catch2/catch.hpp>

#include "base/prng.hpp"

#include <map>
#include <set>

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

TEST_CASE("a gap with FEC off is played as concealed, never as silence", "[jitter]") {
  JitterBufferConfig c;
  c.fec = false;
  Link l(c);
  std::vector<PlayoutKind> kinds_at_gap;
  for (int i = 0; i < 100; ++i) {
    const auto h = l.sender.next(false);
    if (i < 50 || i > 52) l.send_at(ms(20 * i), h);  // three frames lost mid-stream
    l.pull_at(ms(20 * i + 5));
  }
  CHECK(l.jb.stats().lost == 3);
  // Each missing frame is concealed (a tight buffer meets the gap as underruns first, which
  // conceal too), none is rebuilt without FEC, and none becomes silence.
  CHECK(l.count(PlayoutKind::concealed) >= 3);
  CHECK(l.count(PlayoutKind::fec) == 0);
  // Once playing, the only silence is before the first frame: none after the first normal one.
  const auto first_normal = std::find(l.kinds.begin(), l.kinds.end(), PlayoutKind::normal);
  CHECK(std::count(first_normal, l.kinds.end(), PlayoutKind::silence) == 0);
}

TEST_CASE("regression: a late straggler after the end of a stream does not undo the end", "[jitter]") {
  // Reproduction from the issue: one straggler after a PTT release made the buffer conceal
  // until its idle reset (19 frames) instead of falling silent.
  Link l;
  std::vector<RtpHeader> hs;
  for (int i = 0; i < 50; ++i) hs.push_back(l.sender.next(i == 0));
  int t = 0;
  for (int i = 0; i < 50; ++i, t += 20) {
    if (i != 40) l.send_at(ms(t), hs[static_cast<std::size_t>(i)]);
    l.pull_at(ms(t + 5));
  }
  l.jb.end_of_stream();  // released after frame 49
  const auto late_before = l.jb.stats().late;
  l.send_at(ms(t), hs[40]);  // the straggler, long after its playout time
  l.kinds.clear();
  for (int i = 0; i < 40; ++i, t += 20) l.pull_at(ms(t + 5));
  CHECK(l.jb.stats().late == late_before + 1);
  CHECK(l.count(PlayoutKind::concealed) == 0);
  CHECK_FALSE(l.jb.playing());
}

TEST_CASE("regression: after an idle reset a stale packet cannot restart playout in the past", "[jitter]") {
  // Reproduction from the issue: 119 concealed frames, 2 of 100 new frames played, 36 overflows.
  Link l;
  std::vector<RtpHeader> spurt1;
  for (int i = 0; i < 50; ++i) spurt1.push_back(l.sender.next(i == 0));
  int t = 0;
  for (int i = 0; i < 50; ++i, t += 20) {
    if (i != 30) l.send_at(ms(t), spurt1[static_cast<std::size_t>(i)]);
    l.pull_at(ms(t + 5));
  }
  for (int i = 0; i < 100; ++i, t += 20) {  // 2 s of pause: the buffer resets
    l.sender.skip_frame();
    l.pull_at(ms(t + 5));
  }
  REQUIRE_FALSE(l.jb.playing());
  const auto before = l.jb.stats();
  l.send_at(ms(t), spurt1[30]);  // the previous spurt's straggler, just before the next spurt
  l.kinds.clear();
  for (int i = 0; i < 100; ++i, t += 20) {
    l.send_at(ms(t), l.sender.next(i == 0));
    l.pull_at(ms(t + 5));
  }
  l.jb.end_of_stream();
  for (int i = 0; i < 10; ++i, t += 20) l.pull_at(ms(t + 5));  // the buffered tail plays, then silence
  const auto& s = l.jb.stats();
  CHECK(s.late == before.late + 1);
  CHECK(s.played - before.played == 100);  // every frame of the new spurt
  CHECK(s.concealed == before.concealed);
  CHECK(s.overflowed == before.overflowed);
}

namespace {
// The property test's sender: spurts, losses, duplicates, reordering and very late stragglers,
// each packet with an arrival time; the receiver pulls every 20 ms.
struct Scheduled {
  Time arrival;
  RtpHeader header;
};

void check_jitter_buffer_properties(uint64_t seed) {
  Prng rng(seed);
  JitterBufferConfig c;
  c.fec = rng.chance(1, 2);
  c.max_packets = static_cast<uint32_t>(rng.between(8, 64));
  c.max_delay_ms = rng.between(60, 300);
  c.start_delay_ms = std::min<int64_t>(80, c.max_delay_ms);
  JitterBuffer jb(c);
  RtpSender sender(static_cast<uint32_t>(rng.next()), static_cast<uint16_t>(rng.next()),
                   static_cast<uint32_t>(rng.next()), 960);
  const uint32_t first_ts = sender.next(false).timestamp;  // timestamps below are relative to it
  auto ext = [&](uint32_t ts) { return timestamp_delta(first_ts, ts); };
  std::vector<Scheduled> pending;
  int64_t played_last = INT64_MIN;
  bool ended = false;
  int64_t highest_sent = INT64_MIN;  // highest timestamp inserted so far
  int64_t highest_at_end = INT64_MIN;
  int on_left = static_cast<int>(rng.between(5, 80));
  int off_left = 0;
  for (int slot = 0; slot < 1500; ++slot) {
    const Time now = Time::from_ms(20 * slot);
    if (on_left > 0) {  // a frame of a spurt: lost, late, duplicated or on time
      const RtpHeader h = sender.next(false);
      if (!rng.chance(1, 20)) {
        const int64_t delay = rng.chance(1, 50) ? rng.between(300, 2000) : rng.between(5, 120);
        pending.push_back({now + Duration::from_ms(delay), h});
        if (rng.chance(1, 30)) pending.push_back({now + Duration::from_ms(delay + rng.between(0, 60)), h});
      }
      if (--on_left == 0) off_left = static_cast<int>(rng.between(0, 60));
    } else {  // a pause between spurts
      sender.skip_frame();
      if (--off_left <= 0) on_left = static_cast<int>(rng.between(5, 80));
    }
    std::stable_sort(pending.begin(), pending.end(),
                     [](const Scheduled& a, const Scheduled& b) { return a.arrival < b.arrival; });
    while (!pending.empty() && pending.front().arrival <= now) {
      const Scheduled p = pending.front();
      pending.erase(pending.begin());
      const uint8_t payload[1] = {1};
      jb.insert(p.arrival, p.header, payload);
      if (ext(p.header.timestamp) > highest_sent) {
        highest_sent = ext(p.header.timestamp);
        ended = false;  // newer audio: the sender talks again
      }
      REQUIRE(jb.buffered_packets() <= c.max_packets);  // bounded memory
    }
    if (rng.chance(1, 100)) {
      jb.end_of_stream();
      ended = true;
      highest_at_end = highest_sent;
    }
    const bool had_packets = jb.buffered_packets() > 0;
    const PlayoutDecision d = jb.pull(now);
    INFO("seed " << seed << ", slot " << slot);
    REQUIRE(jb.buffered_packets() <= c.max_packets);
    REQUIRE(jb.buffered_ms() <= c.max_delay_ms + 20);  // never above the ceiling (plus the frame in hand)
    if (d.kind == PlayoutKind::normal) {
      REQUIRE(ext(d.timestamp) > played_last);  // in order, so never twice
      played_last = ext(d.timestamp);
      if (ended) REQUIRE(ext(d.timestamp) <= highest_at_end);  // an ended stream plays only what it had
    }
    if (d.kind == PlayoutKind::fec) {
      REQUIRE(ext(d.timestamp) > played_last);
      played_last = ext(d.timestamp);
    }
    if (ended && !had_packets) REQUIRE(d.kind == PlayoutKind::silence);  // drained after the end: silence
  }
}
}  // namespace

TEST_CASE("jitter buffer properties hold under random arrivals, losses, duplicates, stragglers and spurts",
          "[jitter][property]") {
  for (uint64_t seed = 1; seed <= 40; ++seed) check_jitter_buffer_properties(seed);
}
