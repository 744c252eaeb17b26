#include "media/io/opus_codec.hpp"

#include <opus/opus.h>

#include <string>

#include "base/assert.hpp"

namespace hailer {

namespace {
constexpr std::size_t max_packet_bytes = 1000;

void check(int rc, const char* what) {
  if (rc < 0) throw OpusError(std::string(what) + ": " + opus_strerror(rc));
}
}  // namespace

OpusFrameEncoder::OpusFrameEncoder(const OpusSettings& s) {
  if (s.bitrate_bps < 6'000 || s.bitrate_bps > 510'000) throw OpusError("bitrate must be 6000..510000 bps");
  if (s.complexity < 0 || s.complexity > 10) throw OpusError("complexity must be 0..10");
  if (s.expected_loss_percent < 0 || s.expected_loss_percent > 100) throw OpusError("expected loss must be 0..100 %");
  int rc = 0;
  encoder_ = opus_encoder_create(static_cast<opus_int32>(opus_rate_hz), 1, OPUS_APPLICATION_VOIP, &rc);
  check(rc, "opus_encoder_create");
  check(opus_encoder_ctl(encoder_, OPUS_SET_BITRATE(s.bitrate_bps)), "OPUS_SET_BITRATE");
  check(opus_encoder_ctl(encoder_, OPUS_SET_COMPLEXITY(s.complexity)), "OPUS_SET_COMPLEXITY");
  check(opus_encoder_ctl(encoder_, OPUS_SET_INBAND_FEC(s.fec ? 1 : 0)), "OPUS_SET_INBAND_FEC");
  check(opus_encoder_ctl(encoder_, OPUS_SET_PACKET_LOSS_PERC(s.expected_loss_percent)), "OPUS_SET_PACKET_LOSS_PERC");
  check(opus_encoder_ctl(encoder_, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)), "OPUS_SET_SIGNAL");
  check(opus_encoder_ctl(encoder_, OPUS_SET_VBR(s.cbr ? 0 : 1)), "OPUS_SET_VBR");
}

OpusFrameEncoder::~OpusFrameEncoder() { opus_encoder_destroy(encoder_); }

std::vector<uint8_t> OpusFrameEncoder::encode(std::span<const int16_t> frame) {
  HAILER_ASSERT(frame.size() == opus_frame_samples);
  std::vector<uint8_t> packet(max_packet_bytes);
  const opus_int32 n = opus_encode(encoder_, frame.data(), static_cast<int>(frame.size()), packet.data(),
                                   static_cast<opus_int32>(packet.size()));
  check(n, "opus_encode");
  packet.resize(static_cast<std::size_t>(n));
  return packet;
}

void OpusFrameEncoder::reset() { check(opus_encoder_ctl(encoder_, OPUS_RESET_STATE), "OPUS_RESET_STATE"); }

OpusFrameDecoder::OpusFrameDecoder() {
  int rc = 0;
  decoder_ = opus_decoder_create(static_cast<opus_int32>(opus_rate_hz), 1, &rc);
  check(rc, "opus_decoder_create");
}

OpusFrameDecoder::~OpusFrameDecoder() { opus_decoder_destroy(decoder_); }

std::vector<int16_t> OpusFrameDecoder::decode(std::span<const uint8_t> packet) {
  std::vector<int16_t> pcm(opus_frame_samples);
  const int n = opus_decode(decoder_, packet.data(), static_cast<opus_int32>(packet.size()), pcm.data(),
                            static_cast<int>(opus_frame_samples), 0);
  if (n != static_cast<int>(opus_frame_samples)) {
    ++corrupt_;
    return conceal();
  }
  return pcm;
}

std::vector<int16_t> OpusFrameDecoder::decode_fec(std::span<const uint8_t> next_packet) {
  std::vector<int16_t> pcm(opus_frame_samples);
  const int n = opus_decode(decoder_, next_packet.data(), static_cast<opus_int32>(next_packet.size()), pcm.data(),
                            static_cast<int>(opus_frame_samples), 1);
  if (n != static_cast<int>(opus_frame_samples)) return conceal();
  return pcm;
}

std::vector<int16_t> OpusFrameDecoder::conceal() {
  std::vector<int16_t> pcm(opus_frame_samples);
  const int n = opus_decode(decoder_, nullptr, 0, pcm.data(), static_cast<int>(opus_frame_samples), 0);
  check(n, "opus_decode (concealment)");
  return pcm;
}

}  // namespace hailer
