// Call audio in the simulator is decoded after the run, every stream on its own core. During
// the run a playout's decoder only notes what it was asked (decode this packet, rebuild from
// the next one's FEC, conceal) and answers a frame of zeros of the right length; nothing in a
// run reads decoded samples before its end, and a stream's decoder depends on nothing but its
// own calls, so replaying them afterwards yields exactly the PCM live decoding would have.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "adapters/frame_decoder.hpp"
#include "core/jitter_buffer.hpp"

namespace hailer::sim {

/// One call a playout made to its decoder.
struct DecodeCall {
  PlayoutKind kind = PlayoutKind::normal;  ///< normal = decode, fec = decode_fec, concealed = conceal
  std::vector<uint8_t> payload;           ///< the packet (normal) or the next packet (fec)
  int64_t played_at = -1;                 ///< sample offset of its frame in the heard track; -1: decoded, not played
};

/// The decoder calls of one stream, in the order they were made.
class DecodeLog {
 public:
  /// Notes a call.
  void add(PlayoutKind kind, std::span<const uint8_t> payload);
  /// The latest call's frame was played at sample `offset` of the heard track.
  void place_last(std::size_t offset);
  /// The calls so far.
  const std::vector<DecodeCall>& calls() const { return calls_; }
  /// Decodes every call with a fresh decoder for `format` and writes each played frame into
  /// `track` at its offset (the track already holds a frame of zeros there).
  void replay(const AudioFormat& format, std::vector<int16_t>& track) const;

 private:
  std::vector<DecodeCall> calls_;
};

/// A FrameDecoder that only notes its calls in a log and answers zeros (20 ms at 48 kHz).
class DeferredDecoder : public FrameDecoder {
 public:
  /// A decoder writing to `log`.
  explicit DeferredDecoder(std::shared_ptr<DecodeLog> log);

  std::vector<int16_t> decode(std::span<const uint8_t> payload) override;
  std::vector<int16_t> decode_fec(std::span<const uint8_t> next_payload) override;
  std::vector<int16_t> conceal() override;

 private:
  std::shared_ptr<DecodeLog> log_;
};

}  // namespace hailer::sim
