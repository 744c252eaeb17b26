// libopus adapter: 48 kHz mono, 20 ms frames, configurable bitrate and complexity, in-band FEC
// and packet-loss concealment. Deterministic: the same input gives the same packets.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

struct OpusEncoder;
struct OpusDecoder;

namespace hailer {

/// Samples in one 20 ms frame at 48 kHz.
inline constexpr std::size_t opus_frame_samples = 960;
/// Sample rate of every Opus stream in hailer.
inline constexpr uint32_t opus_rate_hz = 48'000;

/// A libopus failure (bad configuration): never a peer's bad packet, which is concealed.
class OpusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Encoder settings.
struct OpusSettings {
  int32_t bitrate_bps = 32'000;       ///< 6,000-510,000; speech sweet spot 24-32 kb/s
  int32_t complexity = 5;             ///< 0-10: CPU vs quality
  bool fec = true;                    ///< in-band FEC (carries the previous frame at low rate)
  int32_t expected_loss_percent = 5;  ///< FEC only works when this is > 0
  /// Constant bitrate: every packet of a call is the same size. With variable bitrate a packet's
  /// size follows the speech (silence small, vowels large), and sizes cross encryption intact:
  /// enough to guess phrases of an encrypted call.
  bool cbr = true;
};

/// Encodes 20 ms mono frames.
class OpusFrameEncoder {
 public:
  /// An encoder for VoIP with the given settings; throws OpusError on bad settings.
  explicit OpusFrameEncoder(const OpusSettings& settings = {});
  ~OpusFrameEncoder();
  OpusFrameEncoder(const OpusFrameEncoder&) = delete;
  OpusFrameEncoder& operator=(const OpusFrameEncoder&) = delete;

  /// Encodes exactly one frame of 960 samples into one packet.
  std::vector<uint8_t> encode(std::span<const int16_t> frame);
  /// Forgets the signal history (at the start of a talk spurt).
  void reset();

 private:
  OpusEncoder* encoder_ = nullptr;
};

/// Decodes packets into 20 ms mono frames, with FEC and concealment for missing ones.
class OpusFrameDecoder {
 public:
  /// A decoder at 48 kHz mono.
  OpusFrameDecoder();
  ~OpusFrameDecoder();
  OpusFrameDecoder(const OpusFrameDecoder&) = delete;
  OpusFrameDecoder& operator=(const OpusFrameDecoder&) = delete;

  /// Decodes one packet; a corrupt packet is concealed instead (the peer cannot crash us).
  std::vector<int16_t> decode(std::span<const uint8_t> packet);
  /// Rebuilds the frame before `next_packet` from its in-band FEC (concealment if it has none).
  std::vector<int16_t> decode_fec(std::span<const uint8_t> next_packet);
  /// Invents one frame after a loss (packet-loss concealment).
  std::vector<int16_t> conceal();
  /// Packets that failed to decode and were concealed.
  uint64_t corrupt_packets() const { return corrupt_; }

 private:
  OpusDecoder* decoder_ = nullptr;
  uint64_t corrupt_ = 0;
};

}  // namespace hailer
