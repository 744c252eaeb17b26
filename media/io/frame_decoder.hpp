// Turns one stream's frames into 20 ms of 48 kHz mono PCM, whatever the sender's format:
// Opus (with in-band FEC and the codec's own concealment), or 16-bit PCM at any declared rate
// (resampled with libsamplerate, concealed by fading the last frame out).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "media/io/resampler.hpp"
#include "protocol/messages.hpp"

namespace hailer {

/// A decoder of one stream; every call returns exactly one 20 ms frame at 48 kHz.
class FrameDecoder {
 public:
  virtual ~FrameDecoder() = default;
  /// Decodes one frame's payload; a corrupt payload is concealed instead.
  virtual std::vector<int16_t> decode(std::span<const uint8_t> payload) = 0;
  /// Rebuilds the frame before `next_payload` (Opus in-band FEC); concealment where there is none.
  virtual std::vector<int16_t> decode_fec(std::span<const uint8_t> next_payload) = 0;
  /// Invents one frame for a missing one.
  virtual std::vector<int16_t> conceal() = 0;
};

/// 16-bit little-endian mono PCM at `sample_rate_hz`, resampled to 48 kHz; concealment fades
/// the last frame out over a few frames (there is no FEC in raw PCM).
class Pcm16FrameDecoder : public FrameDecoder {
 public:
  /// A decoder for PCM at 8-192 kHz.
  explicit Pcm16FrameDecoder(uint32_t sample_rate_hz);

  std::vector<int16_t> decode(std::span<const uint8_t> payload) override;
  std::vector<int16_t> decode_fec(std::span<const uint8_t> next_payload) override;
  std::vector<int16_t> conceal() override;

 private:
  std::vector<int16_t> take_frame();
  Resampler resampler_;
  std::vector<int16_t> fifo_;  // resampled samples not yet played
  std::vector<int16_t> last_;  // the last frame played, for concealment
  int concealed_run_ = 0;
};

/// The decoder for a stream of `format`.
std::unique_ptr<FrameDecoder> make_frame_decoder(const AudioFormat& format);

/// Reads 16-bit little-endian samples (a browser's Int16Array) from bytes.
std::vector<int16_t> pcm16_from_bytes(std::span<const uint8_t> bytes);
/// Writes samples as 16-bit little-endian bytes.
std::vector<uint8_t> pcm16_to_bytes(std::span<const int16_t> samples);

}  // namespace hailer
