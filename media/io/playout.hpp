// Media playout, as shipped: packets of one stream in, an adaptive jitter buffer deciding what
// each 20 ms of playout is, the stream's decoder turning that into PCM (decoded, rebuilt from
// the next packet's FEC, or concealed by the codec), 48 kHz mono out. The CLI plays calls with
// it, the server's speaker plays PTT turns with it, and the simulator measures through it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/time.hpp"
#include "media/io/frame_decoder.hpp"
#include "media/jitter_buffer.hpp"
#include "media/rtp.hpp"

namespace hailer {

/// One 20 ms slot of playout.
struct PlayedFrame {
  PlayoutKind kind = PlayoutKind::silence;
  uint32_t timestamp = 0;    ///< RTP timestamp of the frame (normal and fec)
  std::vector<int16_t> pcm;  ///< 960 samples; empty for silence (nothing to play)
  /// Frames decoded but not played (dropped before this one to cut delay), oldest first: a
  /// recording keeps them, a speaker does not play them.
  std::vector<std::vector<int16_t>> skipped;
};

/// One received stream made audible.
class Playout {
 public:
  /// A playout with its buffer settings and the stream's decoder.
  Playout(JitterBufferConfig config, std::unique_ptr<FrameDecoder> decoder);

  /// A packet arrived.
  void insert(Time arrival, const RtpHeader& header, std::span<const uint8_t> payload);
  /// The next 20 ms at `now` (the playout clock calls it once per frame period).
  PlayedFrame pull(Time now);
  /// The sender stopped (PTT release): what is buffered plays, then silence.
  void end_of_stream() { buffer_.end_of_stream(); }
  /// The stream is over: what is buffered is dropped and counted as unplayed.
  void close() { buffer_.close(); }
  /// True while a spurt is playing.
  bool playing() const { return buffer_.playing(); }
  /// Audio buffered ahead of the playout point.
  int64_t buffered_ms() const { return buffer_.buffered_ms(); }
  /// The jitter buffer's statistics.
  const StreamStats& stats() { return buffer_.stats(); }
  /// The jitter buffer (read-only), for reports.
  const JitterBuffer& buffer() const { return buffer_; }

 private:
  JitterBuffer buffer_;
  std::unique_ptr<FrameDecoder> decoder_;
};

}  // namespace hailer
