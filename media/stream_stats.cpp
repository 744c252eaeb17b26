#include "media/stream_stats.hpp"

#include <algorithm>
#include <cmath>

#include "media/rtp.hpp"

namespace hailer {

double StreamStats::effective_loss() const {
  if (expected == 0) return 0.0;
  // Frames still buffered when the stream was closed were neither heard nor lost: they are
  // left out of both sides.
  const uint64_t due = expected - std::min(expected, unplayed);
  if (due == 0) return 0.0;
  const uint64_t heard = std::min(due, played + fec_recovered + accelerated);
  return static_cast<double>(due - heard) / static_cast<double>(due);
}

void InterarrivalJitter::on_packet(Time arrival, uint32_t rtp_timestamp) {
  // D(i-1,i) = (R_i - R_{i-1}) - (S_i - S_{i-1}) in RTP units; the timestamp difference is taken
  // modulo 2^32 so that a wrapping timestamp does not look like a jump.
  const int64_t arrival_units = arrival.us * clock_hz_ / 1'000'000;
  if (have_previous_) {
    const int64_t d = (arrival_units - previous_arrival_) - timestamp_delta(previous_timestamp_, rtp_timestamp);
    jitter_ += (std::abs(static_cast<double>(d)) - jitter_) / 16.0;
  }
  previous_arrival_ = arrival_units;
  previous_timestamp_ = rtp_timestamp;
  have_previous_ = true;
}

double InterarrivalJitter::jitter_ms() const { return jitter_ * 1000.0 / clock_hz_; }

}  // namespace hailer
