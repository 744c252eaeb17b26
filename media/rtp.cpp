#include "media/rtp.hpp"

#include "base/assert.hpp"

namespace hailer {

std::vector<uint8_t> rtp_encode(const RtpHeader& h, std::span<const uint8_t> payload) {
  HAILER_ASSERT(h.payload_type < 128);
  HAILER_ASSERT(rtp_header_bytes + payload.size() <= rtp_max_datagram_bytes);
  std::vector<uint8_t> out(rtp_header_bytes + payload.size());
  out[0] = 0x80;  // version 2, no padding, no extension, no CSRC
  out[1] = static_cast<uint8_t>((h.marker ? 0x80 : 0x00) | h.payload_type);
  out[2] = static_cast<uint8_t>(h.sequence >> 8);
  out[3] = static_cast<uint8_t>(h.sequence);
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(h.timestamp >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<uint8_t>(h.ssrc >> (24 - 8 * i));
  std::copy(payload.begin(), payload.end(), out.begin() + rtp_header_bytes);
  return out;
}

namespace {
uint32_t read32(std::span<const uint8_t> d, std::size_t at) {
  return (uint32_t{d[at]} << 24) | (uint32_t{d[at + 1]} << 16) | (uint32_t{d[at + 2]} << 8) | d[at + 3];
}
}  // namespace

std::optional<RtpPacket> rtp_parse(std::span<const uint8_t> d) {
  if (d.size() < rtp_header_bytes || d.size() > rtp_max_datagram_bytes) return std::nullopt;
  if ((d[0] >> 6) != 2) return std::nullopt;
  const bool padding = (d[0] & 0x20) != 0;
  const bool extension = (d[0] & 0x10) != 0;
  const std::size_t csrc_count = d[0] & 0x0F;
  std::size_t offset = rtp_header_bytes + 4 * csrc_count;
  if (offset > d.size()) return std::nullopt;
  if (extension) {
    if (offset + 4 > d.size()) return std::nullopt;
    const std::size_t words = (std::size_t{d[offset + 2]} << 8) | d[offset + 3];
    offset += 4 + 4 * words;
    if (offset > d.size()) return std::nullopt;
  }
  std::size_t end = d.size();
  if (padding) {
    const std::size_t pad = d[d.size() - 1];
    if (pad == 0 || offset + pad > end) return std::nullopt;
    end -= pad;
  }
  RtpPacket p;
  p.header.marker = (d[1] & 0x80) != 0;
  p.header.payload_type = d[1] & 0x7F;
  p.header.sequence = static_cast<uint16_t>((d[2] << 8) | d[3]);
  p.header.timestamp = read32(d, 4);
  p.header.ssrc = read32(d, 8);
  p.payload = d.subspan(offset, end - offset);
  return p;
}

int32_t sequence_delta(uint16_t a, uint16_t b) { return static_cast<int16_t>(static_cast<uint16_t>(b - a)); }

int64_t timestamp_delta(uint32_t a, uint32_t b) { return static_cast<int32_t>(b - a); }

RtpSender::RtpSender(uint32_t ssrc, uint16_t first_sequence, uint32_t first_timestamp, uint32_t frame_samples)
    : frame_samples_(frame_samples) {
  HAILER_ASSERT(frame_samples > 0);
  header_.ssrc = ssrc;
  header_.sequence = first_sequence;
  header_.timestamp = first_timestamp;
}

RtpHeader RtpSender::next(bool spurt_start) {
  RtpHeader h = header_;
  h.marker = spurt_start;
  header_.sequence = static_cast<uint16_t>(header_.sequence + 1);
  header_.timestamp += frame_samples_;
  return h;
}

void RtpSender::skip_frame() { header_.timestamp += frame_samples_; }

}  // namespace hailer
