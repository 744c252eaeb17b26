#include "media/io/call_media.hpp"

#include <cstdio>

#include "base/assert.hpp"
#include "media/emodel.hpp"
#include "media/io/frame_decoder.hpp"

namespace hailer {

std::string CallSummary::describe() const {
  const double kbps = duration_s > 0 ? static_cast<double>(bytes_sent) * 8.0 / duration_s / 1000.0 : 0.0;
  char line[400];
  const int n =
      std::snprintf(line, sizeof line,
                    "sent %llu packets (%.1f kbit/s %s), received %llu, lost %llu, late %llu, concealed %llu, "
                    "jitter %.1f ms, buffer delay %.0f ms, MOS ~%.2f",
                    static_cast<unsigned long long>(packets_sent), kbps, protected_media ? "SRTP" : "plain RTP",
                    static_cast<unsigned long long>(stats.received), static_cast<unsigned long long>(stats.lost),
                    static_cast<unsigned long long>(stats.late), static_cast<unsigned long long>(stats.concealed),
                    stats.jitter_ms, buffer_delay_ms, mos);
  HAILER_ASSERT(n > 0 && static_cast<std::size_t>(n) < sizeof line);
  std::string out = line;
  if (srtp_forged + srtp_replayed + srtp_truncated > 0) {
    out += ", refused " + std::to_string(srtp_forged) + " forged, " + std::to_string(srtp_replayed) + " replayed, " +
           std::to_string(srtp_truncated) + " truncated";
  }
  return out;
}

CallMedia::CallMedia(CallMediaConfig config, uint64_t seed) : config_(config), rng_(seed), encoder_(config.opus) {}

void CallMedia::start(const std::optional<SrtpKeys>& keys) {
  stop();
  srtp_out_.reset();
  srtp_in_.reset();
  if (keys) {
    srtp_out_.emplace(keys->send);
    srtp_in_.emplace(keys->receive);
  }
  srtp_forged_ = srtp_replayed_ = srtp_truncated_ = 0;
  // RFC 3550 5.1: random SSRC, first sequence number and timestamp per stream.
  sender_.emplace(static_cast<uint32_t>(rng_.next()), static_cast<uint16_t>(rng_.next()),
                  static_cast<uint32_t>(rng_.next()), static_cast<uint32_t>(opus_frame_samples));
  playout_.emplace(config_.jitter, make_frame_decoder(AudioFormat{AudioCodec::opus, 48'000}));
  encoder_.reset();
  first_packet_ = true;
  ssrc_.reset();
  packets_sent_ = bytes_sent_ = frames_ = delay_samples_ = other_streams_ = 0;
  delay_sum_ms_ = 0;
}

std::optional<CallSummary> CallMedia::stop() {
  if (!playout_) return std::nullopt;
  playout_->close();
  CallSummary s;
  s.stats = playout_->stats();
  s.packets_sent = packets_sent_;
  s.bytes_sent = bytes_sent_;
  s.duration_s = static_cast<double>(frames_) * 0.020;
  s.buffer_delay_ms = delay_samples_ > 0 ? delay_sum_ms_ / static_cast<double>(delay_samples_) : 0.0;
  EModelInput in;
  in.mouth_to_ear_ms = s.buffer_delay_ms + 20.0;
  in.loss_percent = 100.0 * s.stats.effective_loss();
  s.mos = mos_from_r(r_factor(in));
  s.protected_media = srtp_out_.has_value();
  s.srtp_forged = srtp_forged_;
  s.srtp_replayed = srtp_replayed_;
  s.srtp_truncated = srtp_truncated_;
  playout_.reset();
  sender_.reset();
  srtp_out_.reset();  // a call's keys die with it
  srtp_in_.reset();
  return s;
}

std::vector<uint8_t> CallMedia::send_frame(std::span<const int16_t> pcm) {
  HAILER_ASSERT(sender_.has_value() && pcm.size() == opus_frame_samples);
  const std::vector<uint8_t> packet = encoder_.encode(pcm);
  const RtpHeader header = sender_->next(first_packet_);
  first_packet_ = false;
  auto datagram = rtp_encode(header, packet);
  if (srtp_out_) srtp_out_->protect(datagram);
  ++packets_sent_;
  bytes_sent_ += datagram.size();
  return datagram;
}

void CallMedia::receive(Time now, std::span<const uint8_t> datagram) {
  if (!playout_) return;
  if (srtp_in_) {
    scratch_.assign(datagram.begin(), datagram.end());
    switch (srtp_in_->unprotect(scratch_)) {
      case SrtpRefusal::none:
        break;
      case SrtpRefusal::forged:
        ++srtp_forged_;
        return;
      case SrtpRefusal::replayed:
        ++srtp_replayed_;
        return;
      case SrtpRefusal::truncated:
        ++srtp_truncated_;
        return;
    }
    datagram = scratch_;
  }
  const auto packet = rtp_parse(datagram);
  if (!packet) {
    ++not_rtp_;
    return;
  }
  if (!ssrc_) ssrc_ = packet->header.ssrc;
  if (packet->header.ssrc != *ssrc_) {
    ++other_streams_;
    return;
  }
  playout_->insert(now, packet->header, packet->payload);
}

void CallMedia::restart_playout() {
  HAILER_ASSERT(playout_.has_value());
  playout_.emplace(config_.jitter, make_frame_decoder(AudioFormat{AudioCodec::opus, 48'000}));
  ssrc_.reset();
}

PlayedFrame CallMedia::play(Time now) {
  HAILER_ASSERT(playout_.has_value());
  ++frames_;
  PlayedFrame f = playout_->pull(now);
  if (f.kind != PlayoutKind::silence) {
    delay_sum_ms_ += static_cast<double>(playout_->buffered_ms());
    ++delay_samples_;
  }
  return f;
}

}  // namespace hailer
