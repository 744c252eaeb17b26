// An adaptive jitter buffer in the spirit of libwebrtc's NetEQ, simplified: the target delay is
// the 95th percentile of recent relative packet delays plus one frame, kept between one frame
// and a hard maximum, so delay never grows without bound. The receiver's playout clock pulls one
// frame per period and is told what to do: decode a packet, decode the next packet's FEC,
// conceal, or play silence. Pure: arrival and playout times are passed in.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "base/time.hpp"
#include "media/rtp.hpp"
#include "media/stream_stats.hpp"

namespace hailer {

/// Tuning of a jitter buffer; durations in milliseconds.
struct JitterBufferConfig {
  uint32_t frame_samples = 960;  ///< one 20 ms Opus frame at 48 kHz
  uint32_t clock_hz = rtp_opus_clock_hz;
  int64_t min_delay_ms = 20;         ///< at least one frame
  int64_t start_delay_ms = 80;       ///< target until enough packets were seen (NetEQ starts at 80 ms)
  int64_t max_delay_ms = 200;        ///< hard ceiling: frames are dropped above it
  uint32_t max_packets = 64;         ///< memory bound; the oldest is dropped beyond it
  int64_t window_ms = 2000;          ///< relative delays are measured over this window
  int64_t idle_reset_ms = 400;       ///< empty and silent this long: the stream paused, wait for a new spurt
  int64_t adjust_interval_ms = 200;  ///< at most one speed-up per interval (~100 ms of change per second)
  bool fec = true;                   ///< use the next packet's in-band FEC for a missing frame
};

/// What the playout clock should do for the current frame.
enum class PlayoutKind : uint8_t { silence, normal, fec, concealed };

/// One frame's playout decision; `payload` is the packet to decode (normal, fec).
struct PlayoutDecision {
  PlayoutKind kind = PlayoutKind::silence;
  std::vector<uint8_t> payload;
  uint32_t timestamp = 0;  ///< RTP timestamp of the frame played (normal and fec)
  /// Packets dropped before this frame to cut the delay, oldest first: not to be played, but
  /// still decoded in order (the decoder's state stays continuous, a recording stays whole).
  std::vector<std::vector<uint8_t>> dropped;
};

/// Reorders, times and conceals one RTP stream.
class JitterBuffer {
 public:
  /// An empty buffer.
  explicit JitterBuffer(JitterBufferConfig config = {});

  /// Accepts one packet that arrived at `arrival` (late, duplicate or overflowing ones are counted and dropped).
  void insert(Time arrival, const RtpHeader& header, std::span<const uint8_t> payload);

  /// The decision for the frame the playout clock is about to play at `now`.
  PlayoutDecision pull(Time now);

  /// The sender said it stopped (PTT release): once the buffer is empty, play silence instead
  /// of concealing. A packet newer than any seen cancels it; a late straggler does not.
  void end_of_stream() { ending_ = true; }

  /// The stream is over (the call ended): what is still buffered will never play; it is
  /// dropped and counted as unplayed, not lost. Later packets are refused as late.
  void close();

  /// Statistics so far (loss is computed from the sequence range).
  const StreamStats& stats();
  /// The current target delay.
  int64_t target_delay_ms() const { return target_ms_; }
  /// Audio buffered ahead of the playout point.
  int64_t buffered_ms() const;
  /// Packets held (bounded by max_packets).
  std::size_t buffered_packets() const { return packets_.size(); }
  /// True while playing out (between the start of a spurt and its end).
  bool playing() const { return started_; }

 private:
  struct Packet {
    std::vector<uint8_t> payload;
    uint32_t timestamp = 0;  // as sent, for the caller's bookkeeping
  };

  int64_t extend_timestamp(uint32_t ts);
  int64_t extend_sequence(uint16_t seq);
  void update_target(Time arrival, int64_t ext_ts);
  bool can_adjust(Time now) const;
  void catch_up_to_ceiling(Time now, PlayoutDecision& decision);
  void drop_oldest(Time now, PlayoutDecision& decision);
  void take(PlayoutDecision& decision, PlayoutKind kind, int64_t ts, bool erase);
  void note_concealment(bool concealed);
  void sample_delay(Time now);
  int64_t ts_to_ms(int64_t units) const;

  JitterBufferConfig config_;
  StreamStats stats_;
  InterarrivalJitter jitter_;
  std::map<int64_t, Packet> packets_;  // by extended timestamp
  bool have_first_ = false;
  int64_t highest_ts_ = 0;  // extended
  uint32_t highest_raw_ts_ = 0;
  int64_t first_seq_ = 0;    // extended
  int64_t highest_seq_ = 0;  // extended
  uint16_t highest_raw_seq_ = 0;
  std::set<int64_t> seen_seq_;  // recent extended sequence numbers, for duplicate detection
  bool started_ = false;
  bool has_playout_point_ = false;  // playout started once: next_ts_ is meaningful from then on
  int64_t next_ts_ = 0;             // extended timestamp of the next frame to play
  Time last_arrival_;
  Time last_adjust_{-1'000'000'000};
  Time last_sample_{-1'000'000'000};
  std::deque<std::pair<Time, int64_t>> transits_;  // (arrival, transit ms) in the window
  int64_t target_ms_;
  int64_t concealment_run_ = 0;
  bool ending_ = false;
};

}  // namespace hailer
