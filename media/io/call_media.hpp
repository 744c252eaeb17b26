// One side of a call's audio, sans IO: encodes the captured 20 ms frames into RTP/Opus
// datagrams for the peer and makes the peer's datagrams audible through a Playout (jitter
// buffer, FEC, PLC). The app owns the UDP socket and the 20 ms clock; this owns the media.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/prng.hpp"
#include "media/io/opus_codec.hpp"
#include "media/io/playout.hpp"
#include "media/jitter_buffer.hpp"
#include "media/rtp.hpp"
#include "media/srtp.hpp"
#include "media/stream_stats.hpp"

namespace hailer {

/// Encoder and receiver settings of a call.
struct CallMediaConfig {
  OpusSettings opus{};
  JitterBufferConfig jitter{};
};

/// How a call's received audio went, for the line printed at hangup.
struct CallSummary {
  StreamStats stats;
  uint64_t packets_sent = 0;
  uint64_t bytes_sent = 0;     ///< RTP datagrams (header + Opus), not UDP/IP overhead
  double duration_s = 0;       ///< from the first frame sent or played to the last
  double buffer_delay_ms = 0;  ///< mean jitter-buffer delay while playing
  double mos = 0;              ///< E-model estimate from loss and buffer delay + 20 ms framing (network delay unknown)
  bool protected_media = false;  ///< SRTP (end-to-end keys) rather than plain RTP
  uint64_t srtp_forged = 0;      ///< datagrams that failed SRTP's integrity check (altered, injected, wrong key)
  uint64_t srtp_replayed = 0;    ///< datagrams the replay window dropped (seen before, or too old)
  uint64_t srtp_truncated = 0;   ///< datagrams too short or malformed to be SRTP
  /// One line for people: packets, loss, late, jitter, delay, MOS, bitrate.
  std::string describe() const;
};

/// The media of one call at a time.
class CallMedia {
 public:
  /// Idle media; `seed` draws the SSRC, first sequence number and timestamp of each call.
  CallMedia(CallMediaConfig config, uint64_t seed);

  /// A call connected: a fresh RTP stream out (new SSRC, sequence number and timestamp) and a
  /// fresh playout in; with `keys`, every packet is SRTP under them (plain RTP without).
  void start(const std::optional<SrtpKeys>& keys);
  /// The call ended: what it sounded like. Nothing when no call was running.
  std::optional<CallSummary> stop();
  /// True between start() and stop().
  bool active() const { return playout_.has_value(); }

  /// Encodes one captured frame (960 samples at 48 kHz) into the datagram to send to the peer
  /// (protected when the call has keys).
  std::vector<uint8_t> send_frame(std::span<const int16_t> pcm);
  /// A datagram from the peer arrived; anything that is not RTP is ignored (and counted), and so
  /// is RTP of another stream than the first one heard (another SSRC). With keys, a datagram
  /// that fails SRTP's check (forged, altered, replayed, truncated) is dropped and counted first.
  void receive(Time now, std::span<const uint8_t> datagram);
  /// The peer's audio now comes from another source (the host latched a different one first):
  /// the playout starts over on the next stream heard.
  void restart_playout();
  /// The next 20 ms to play (silence: an empty pcm).
  PlayedFrame play(Time now);
  /// Datagrams received that were not RTP.
  uint64_t not_rtp() const { return not_rtp_; }
  /// RTP packets of another stream (SSRC) than the one being played, dropped.
  uint64_t other_streams() const { return other_streams_; }
  /// Datagrams SRTP refused this call, by reason (all zero on a plain RTP call).
  uint64_t srtp_forged() const { return srtp_forged_; }
  /// Datagrams the replay window dropped this call.
  uint64_t srtp_replayed() const { return srtp_replayed_; }
  /// Datagrams too short or malformed for SRTP this call.
  uint64_t srtp_truncated() const { return srtp_truncated_; }

 private:
  CallMediaConfig config_;
  Prng rng_;
  OpusFrameEncoder encoder_;
  std::optional<RtpSender> sender_;
  std::optional<Playout> playout_;
  bool first_packet_ = true;
  uint64_t packets_sent_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t frames_ = 0;
  double delay_sum_ms_ = 0;
  uint64_t delay_samples_ = 0;
  uint64_t not_rtp_ = 0;
  std::optional<uint32_t> ssrc_;  // the stream being played
  uint64_t other_streams_ = 0;
  std::optional<SrtpSender> srtp_out_;  // with end-to-end keys
  std::optional<SrtpReceiver> srtp_in_;
  uint64_t srtp_forged_ = 0;
  uint64_t srtp_replayed_ = 0;
  uint64_t srtp_truncated_ = 0;
  std::vector<uint8_t> scratch_;  // a received datagram being opened
};

}  // namespace hailer
