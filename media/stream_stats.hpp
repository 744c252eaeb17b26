// Per-stream receive statistics: counts, RFC 3550 interarrival jitter, concealment runs and
// interruptions, and the jitter-buffer delay over time. Pure: arrival times are passed in.
#pragma once

#include <cstdint>
#include <vector>

#include "base/time.hpp"

namespace hailer {

/// A concealment run at least this long counts as an interruption (a NetEQ KPI).
inline constexpr int64_t interruption_min_ms = 150;

/// One point of the buffer-delay curve.
struct DelaySample {
  int64_t at_ms = 0;
  int64_t delay_ms = 0;
  int64_t target_ms = 0;
  bool operator==(const DelaySample&) const = default;
};

/// Counters and curves of one received stream.
struct StreamStats {
  uint64_t expected = 0;           ///< packets the sequence range says were sent (RFC 3550)
  uint64_t received = 0;           ///< packets that arrived (duplicates excluded)
  uint64_t lost = 0;               ///< packets never received (from the sequence range, RFC 3550)
  uint64_t late = 0;               ///< arrived after their playout time, discarded
  uint64_t duplicated = 0;         ///< arrived more than once
  uint64_t reordered = 0;          ///< arrived after a packet with a higher sequence number
  uint64_t overflowed = 0;         ///< dropped because the buffer was full
  uint64_t played = 0;             ///< frames decoded from their own packet
  uint64_t fec_recovered = 0;      ///< frames rebuilt from the next packet's in-band FEC
  uint64_t concealed = 0;          ///< frames the decoder had to invent (loss concealment)
  uint64_t accelerated = 0;        ///< frames dropped to bring the delay down
  uint64_t expanded = 0;           ///< frames inserted to let the buffer fill
  uint64_t interruptions = 0;      ///< concealment runs of >= 150 ms
  uint64_t unplayed = 0;           ///< frames still buffered when the stream was closed (the call ended)
  double jitter_ms = 0;            ///< RFC 3550 interarrival jitter, smoothed (1/16)
  std::vector<DelaySample> delay;  ///< buffer delay over time, one sample per 100 ms

  /// Packet loss as the E-model's Ppl sees it (0..1): frames sent but not heard, i.e. lost in
  /// the network or discarded late, minus those rebuilt from FEC. Frames dropped on purpose to
  /// cut delay (accelerated) count as heard; frames still buffered when the stream was closed
  /// count as neither.
  double effective_loss() const;
};

/// RFC 3550 A.8 interarrival jitter estimator, in RTP clock units.
class InterarrivalJitter {
 public:
  /// An estimator for a clock of `clock_hz`.
  explicit InterarrivalJitter(uint32_t clock_hz) : clock_hz_(clock_hz) {}
  /// Feeds one packet's arrival time and RTP timestamp.
  void on_packet(Time arrival, uint32_t rtp_timestamp);
  /// The current estimate in milliseconds.
  double jitter_ms() const;

 private:
  uint32_t clock_hz_;
  bool have_previous_ = false;
  int64_t previous_arrival_ = 0;  // RTP clock units
  uint32_t previous_timestamp_ = 0;
  double jitter_ = 0;  // RTP clock units
};

}  // namespace hailer
