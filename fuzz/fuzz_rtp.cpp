// RTP parsing on any datagram: never crashes, the payload lies inside the datagram.
#include <cstdint>
#include <cstdlib>

#include "media/rtp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::span<const uint8_t> datagram(data, size);
  if (const auto p = hailer::rtp_parse(datagram)) {
    if (p->payload.data() < data || p->payload.data() + p->payload.size() > data + size) std::abort();
    if (p->header.payload_type >= 128) std::abort();
  }
  return 0;
}
