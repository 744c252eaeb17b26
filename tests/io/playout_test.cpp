// The playout: which decoder call makes each 20 ms slot. A frame rebuilt from FEC must be the
// lost frame's audio (decode_fec on the next packet), never the next packet's own audio.
#include "media/io/playout.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

using namespace hailer;

namespace {

// Records every call, and returns a frame whose first sample says which call made it from which
// payload: decode -> +tag, decode_fec -> -tag, conceal -> 0 (the tag is the payload's first byte).
struct CallLog {
  std::vector<std::string> calls;
};

class RecordingDecoder final : public FrameDecoder {
 public:
  explicit RecordingDecoder(CallLog& log) : log_(log) {}
  std::vector<int16_t> decode(std::span<const uint8_t> payload) override {
    log_.calls.push_back("decode " + std::to_string(payload[0]));
    return frame(payload[0]);
  }
  std::vector<int16_t> decode_fec(std::span<const uint8_t> next_payload) override {
    log_.calls.push_back("fec " + std::to_string(next_payload[0]));
    return frame(-static_cast<int16_t>(next_payload[0]));
  }
  std::vector<int16_t> conceal() override {
    log_.calls.push_back("conceal");
    return frame(0);
  }

 private:
  static std::vector<int16_t> frame(int16_t first) {
    std::vector<int16_t> pcm(960, 0);
    pcm[0] = first;
    return pcm;
  }
  CallLog& log_;
};

// Sends packets 1..n (payload byte = sequence) 20 ms apart except `lost`; returns the slots
// played until the stream has been silent for a while.
std::vector<PlayedFrame> play(JitterBufferConfig config, int n, std::vector<int> lost, CallLog& log) {
  // A fixed 60 ms delay: the packet after a lost one is there when the lost one's slot plays,
  // and the buffer never speeds up (a frame dropped to cut delay would change the slot count).
  config.min_delay_ms = 60;
  config.start_delay_ms = 60;
  Playout playout(config, std::make_unique<RecordingDecoder>(log));
  std::vector<PlayedFrame> played;
  for (int tick = 0; tick < n + 20; ++tick) {
    const Time now = Time::from_ms(20 * tick);
    const int seq = tick + 1;
    if (seq <= n && std::find(lost.begin(), lost.end(), seq) == lost.end()) {
      RtpHeader h;
      h.sequence = static_cast<uint16_t>(seq);
      h.timestamp = static_cast<uint32_t>(960 * seq);
      h.ssrc = 7;
      h.marker = seq == 1;
      const std::vector<uint8_t> payload{static_cast<uint8_t>(seq), 0, 0};
      playout.insert(now, h, payload);
    }
    if (seq == n) playout.end_of_stream();  // the talker released: silence once the buffer is empty
    PlayedFrame f = playout.pull(now);
    if (f.kind != PlayoutKind::silence) played.push_back(std::move(f));
  }
  return played;
}

}  // namespace

TEST_CASE("a lost frame is rebuilt from the next packet's FEC: the lost frame's slot, not the next one's audio",
          "[playout]") {
  CallLog log;
  const auto played = play(JitterBufferConfig{}, 8, {4}, log);
  REQUIRE(played.size() == 8);
  for (int i = 0; i < 8; ++i) {
    INFO("slot " << i);
    const int seq = i + 1;
    CHECK(played[i].timestamp == static_cast<uint32_t>(960 * seq));
    if (seq == 4) {
      CHECK(played[i].kind == PlayoutKind::fec);
      CHECK(played[i].pcm[0] == -5);  // decode_fec(packet 5): frame 4 rebuilt from 5's FEC
    } else {
      CHECK(played[i].kind == PlayoutKind::normal);
      CHECK(played[i].pcm[0] == seq);
    }
  }
  // Packet 5 is still decoded as itself right after its FEC rebuilt frame 4, each exactly once.
  const std::vector<std::string> expected{"decode 1", "decode 2", "decode 3", "fec 5",
                                          "decode 5", "decode 6", "decode 7", "decode 8"};
  CHECK(log.calls == expected);
}

TEST_CASE("without FEC, or with two frames lost in a row, the codec conceals", "[playout]") {
  SECTION("FEC turned off") {
    CallLog log;
    JitterBufferConfig config;
    config.fec = false;
    const auto played = play(config, 6, {3}, log);
    REQUIRE(played.size() == 6);
    CHECK(played[2].kind == PlayoutKind::concealed);
    CHECK(log.calls == std::vector<std::string>{"decode 1", "decode 2", "conceal", "decode 4", "decode 5", "decode 6"});
  }
  SECTION("two in a row: the first is concealed, the second rebuilt from the packet after it") {
    CallLog log;
    const auto played = play(JitterBufferConfig{}, 7, {3, 4}, log);
    const auto fec =
        std::find_if(played.begin(), played.end(), [](const PlayedFrame& f) { return f.kind == PlayoutKind::fec; });
    REQUIRE(fec != played.end());
    REQUIRE(fec != played.begin());
    CHECK(fec->timestamp == 960u * 4);
    CHECK(fec->pcm[0] == -5);
    CHECK(std::prev(fec)->kind == PlayoutKind::concealed);
    CHECK(log.calls ==
          std::vector<std::string>{"decode 1", "decode 2", "conceal", "fec 5", "decode 5", "decode 6", "decode 7"});
  }
}
