#include "media/jitter_buffer.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace hailer {

namespace {
constexpr std::size_t min_samples_for_estimate = 10;
constexpr int64_t seen_sequence_memory = 1024;
constexpr int64_t delay_sample_period_ms = 100;
}  // namespace

JitterBuffer::JitterBuffer(JitterBufferConfig config)
    : config_(config), jitter_(config.clock_hz), target_ms_(config.start_delay_ms) {
  HAILER_ASSERT(config_.frame_samples > 0 && config_.clock_hz > 0);
  HAILER_ASSERT(config_.min_delay_ms > 0 && config_.min_delay_ms <= config_.max_delay_ms);
  HAILER_ASSERT(config_.start_delay_ms >= config_.min_delay_ms && config_.start_delay_ms <= config_.max_delay_ms);
  HAILER_ASSERT(config_.max_packets > 1);
}

int64_t JitterBuffer::ts_to_ms(int64_t units) const { return units * 1000 / config_.clock_hz; }

namespace {
// Unwraps a modular counter (16-bit sequence, 32-bit timestamp) against the highest value seen,
// advancing that high-water mark; `delta` is the counter's signed modular difference.
template <typename Raw, typename Delta>
int64_t unwrap(Raw raw, int64_t& highest, Raw& highest_raw, Delta delta) {
  const int64_t ext = highest + delta(highest_raw, raw);
  if (ext > highest) {
    highest = ext;
    highest_raw = raw;
  }
  return ext;
}
}  // namespace

int64_t JitterBuffer::extend_timestamp(uint32_t ts) {
  return unwrap(ts, highest_ts_, highest_raw_ts_, timestamp_delta);
}

int64_t JitterBuffer::extend_sequence(uint16_t seq) {
  return unwrap(seq, highest_seq_, highest_raw_seq_, sequence_delta);
}

void JitterBuffer::insert(Time arrival, const RtpHeader& header, std::span<const uint8_t> payload) {
  if (!have_first_) {
    have_first_ = true;
    highest_raw_ts_ = header.timestamp;
    highest_raw_seq_ = header.sequence;
    first_seq_ = highest_seq_ = 0;
    highest_ts_ = 0;
  }
  const int64_t previous_highest_seq = highest_seq_;
  const int64_t previous_highest_ts = highest_ts_;
  const int64_t ext_seq = extend_sequence(header.sequence);
  const int64_t ext_ts = extend_timestamp(header.timestamp);
  if (seen_seq_.contains(ext_seq)) {
    ++stats_.duplicated;
    return;
  }
  seen_seq_.insert(ext_seq);
  while (!seen_seq_.empty() && *seen_seq_.begin() < highest_seq_ - seen_sequence_memory)
    seen_seq_.erase(seen_seq_.begin());
  ++stats_.received;
  if (ext_seq < previous_highest_seq) ++stats_.reordered;
  first_seq_ = std::min(first_seq_, ext_seq);
  jitter_.on_packet(arrival, header.timestamp);
  stats_.jitter_ms = jitter_.jitter_ms();
  update_target(arrival, ext_ts);

  // Behind the playout point: its time has passed. The point survives an idle reset, so a
  // straggler of the previous spurt cannot restart playout in the past.
  if (has_playout_point_ && ext_ts < next_ts_) {
    ++stats_.late;
    return;
  }
  // Only audio newer than anything seen means the sender is talking again; a reordered
  // straggler of the spurt that ended does not undo its end.
  const bool newest = stats_.received == 1 || ext_ts > previous_highest_ts;
  if (newest) {
    ending_ = false;
    last_arrival_ = arrival;
  }
  if (packets_.size() >= config_.max_packets) {
    packets_.erase(packets_.begin());
    ++stats_.overflowed;
  }
  packets_[ext_ts] = Packet{std::vector<uint8_t>(payload.begin(), payload.end()), header.timestamp};
}

// Target = 95th percentile of relative delay over the window + one frame, clamped.
void JitterBuffer::update_target(Time arrival, int64_t ext_ts) {
  const int64_t transit_ms = arrival.ms() - ts_to_ms(ext_ts);
  transits_.emplace_back(arrival, transit_ms);
  while (!transits_.empty() && arrival - transits_.front().first > Duration::from_ms(config_.window_ms)) {
    transits_.pop_front();
  }
  if (transits_.size() < min_samples_for_estimate) return;
  int64_t min_transit = transits_.front().second;
  for (const auto& [at, t] : transits_) min_transit = std::min(min_transit, t);
  std::vector<int64_t> relative;
  relative.reserve(transits_.size());
  for (const auto& [at, t] : transits_) relative.push_back(t - min_transit);
  const auto k = static_cast<std::ptrdiff_t>((relative.size() - 1) * 95 / 100);
  std::nth_element(relative.begin(), relative.begin() + k, relative.end());
  const int64_t frame_ms = ts_to_ms(config_.frame_samples);
  target_ms_ = std::clamp(relative[static_cast<std::size_t>(k)] + frame_ms, config_.min_delay_ms, config_.max_delay_ms);
}

int64_t JitterBuffer::buffered_ms() const {
  if (packets_.empty()) return 0;
  const int64_t from = started_ ? next_ts_ : packets_.begin()->first;
  return std::max<int64_t>(0, ts_to_ms(packets_.rbegin()->first + config_.frame_samples - from));
}

bool JitterBuffer::can_adjust(Time now) const {
  return now - last_adjust_ >= Duration::from_ms(config_.adjust_interval_ms);
}

void JitterBuffer::take(PlayoutDecision& p, PlayoutKind kind, int64_t ts, bool erase) {
  p.kind = kind;
  auto it = packets_.find(ts);
  HAILER_ASSERT(it != packets_.end());
  // A FEC frame is the one before the packet that carries it.
  p.timestamp = kind == PlayoutKind::fec ? it->second.timestamp - config_.frame_samples : it->second.timestamp;
  if (erase) {
    p.payload = std::move(it->second.payload);
    packets_.erase(it);
  } else {
    p.payload = it->second.payload;
  }
}

void JitterBuffer::note_concealment(bool concealed) {
  if (!concealed) {
    concealment_run_ = 0;
    return;
  }
  ++stats_.concealed;
  ++concealment_run_;
  const int64_t frame_ms = ts_to_ms(config_.frame_samples);
  // Counted once, when the run first reaches the threshold, so a run cut short by the end of
  // the stream is still counted.
  if (concealment_run_ * frame_ms >= interruption_min_ms && (concealment_run_ - 1) * frame_ms < interruption_min_ms) {
    ++stats_.interruptions;
  }
}

void JitterBuffer::sample_delay(Time now) {
  if (now - last_sample_ < Duration::from_ms(delay_sample_period_ms)) return;
  last_sample_ = now;
  if (stats_.delay.size() >= 100'000) return;  // bounded: 10,000 s of samples
  stats_.delay.push_back(DelaySample{now.ms(), started_ ? buffered_ms() : 0, target_ms_});
}

// Above the hard ceiling the delay comes down at once, not a frame per pull: the oldest
// packets are dropped and any gap in front of the next one is skipped (its frames never came).
// A packet of an earlier spurt buffered ahead of the next one would otherwise start playout at
// the old packet and conceal across the whole pause.
void JitterBuffer::catch_up_to_ceiling(Time now, PlayoutDecision& decision) {
  while (buffered_ms() > config_.max_delay_ms && !packets_.empty()) {
    if (packets_.begin()->first > next_ts_) {
      next_ts_ = packets_.begin()->first;
      continue;
    }
    if (packets_.size() == 1) return;
    drop_oldest(now, decision);
  }
}

// Drops the frame at the playout point (it is the oldest packet) to bring the delay down.
void JitterBuffer::drop_oldest(Time now, PlayoutDecision& decision) {
  HAILER_ASSERT(!packets_.empty() && packets_.begin()->first == next_ts_);
  decision.dropped.push_back(std::move(packets_.begin()->second.payload));
  packets_.erase(packets_.begin());
  next_ts_ += config_.frame_samples;
  ++stats_.accelerated;
  last_adjust_ = now;
}

PlayoutDecision JitterBuffer::pull(Time now) {
  sample_delay(now);
  const uint32_t frame = config_.frame_samples;
  if (!started_) {
    // An ended stream plays what it has, even below the target (a turn shorter than the delay).
    if (packets_.empty() || (buffered_ms() < target_ms_ && !ending_)) return PlayoutDecision{};
    started_ = true;
    has_playout_point_ = true;
    next_ts_ = packets_.begin()->first;  // never behind the old point: older packets were refused as late
  }
  if (packets_.empty() && (ending_ || now - last_arrival_ >= Duration::from_ms(config_.idle_reset_ms))) {
    started_ = false;  // the talker stopped: play silence until the next spurt fills the buffer
    concealment_run_ = 0;
    return PlayoutDecision{};
  }
  // Too much delay: drop the oldest frame, rate-limited unless far above target or the ceiling.
  // The level includes the frame about to play and moves in whole frames, so the trigger is one
  // frame above `high`: triggering at `high` itself drains to a zero margin and oscillates
  // (drop, underrun, conceal, drop...), measured as 44 concealed frames on a clean 20 ms link.
  PlayoutDecision decision;
  catch_up_to_ceiling(now, decision);
  const int64_t level = buffered_ms();
  const int64_t frame_ms = ts_to_ms(frame);
  const int64_t low = std::max(target_ms_ * 3 / 4, target_ms_ - 85);
  const int64_t high = std::max(target_ms_, low + frame_ms);
  const bool over = level > 4 * high;
  if ((over || (level >= high + frame_ms && can_adjust(now))) && packets_.contains(next_ts_) && packets_.size() > 1) {
    drop_oldest(now, decision);
  }
  if (packets_.contains(next_ts_)) {
    note_concealment(false);
    ++stats_.played;
    take(decision, PlayoutKind::normal, next_ts_, true);
    next_ts_ += frame;
    return decision;
  }
  if (config_.fec && packets_.contains(next_ts_ + frame)) {
    note_concealment(false);
    ++stats_.fec_recovered;
    take(decision, PlayoutKind::fec, next_ts_ + frame, false);
    next_ts_ += frame;
    return decision;
  }
  note_concealment(true);
  if (packets_.empty()) {
    ++stats_.expanded;  // underrun: wait for the frame instead of skipping it (the delay grows)
  } else {
    next_ts_ += frame;  // a gap with later packets: the frame is lost
  }
  decision.kind = PlayoutKind::concealed;
  return decision;
}

void JitterBuffer::close() {
  stats_.unplayed += packets_.size();
  if (!packets_.empty()) {
    has_playout_point_ = true;
    next_ts_ = std::max(next_ts_, packets_.rbegin()->first + config_.frame_samples);
  }
  packets_.clear();
  started_ = false;
}

const StreamStats& JitterBuffer::stats() {
  const int64_t expected = have_first_ ? highest_seq_ - first_seq_ + 1 : 0;
  stats_.expected = static_cast<uint64_t>(expected);
  stats_.lost = static_cast<uint64_t>(std::max<int64_t>(0, expected - static_cast<int64_t>(stats_.received)));
  return stats_;
}

}  // namespace hailer
