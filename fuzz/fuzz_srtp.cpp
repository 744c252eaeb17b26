// SRTP on any datagram: unprotect never crashes and opens nothing it was not given (a forgery
// needs the key); and any payload protected under the key opens to itself, exactly once.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "media/rtp.hpp"
#include "media/srtp.hpp"

namespace {
hailer::SrtpMasterKey key() {
  hailer::SrtpMasterKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + 3);
  return k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace hailer;
  static SrtpReceiver receiver(key());  // one stream across inputs: the replay window is exercised too
  std::vector<uint8_t> datagram(data, data + size);
  if (receiver.unprotect(datagram) == SrtpRefusal::none && datagram.size() >= size) std::abort();

  // Our own packets never pass the datagram limit (rtp_encode asserts it): protect a payload cut to it.
  const std::size_t payload_bytes = std::min(size, rtp_max_datagram_bytes - rtp_header_bytes);
  SrtpSender sender(key());
  SrtpReceiver fresh(key());
  RtpSender rtp(0xfeedf00d, static_cast<uint16_t>(size), 0, 960);
  const std::vector<uint8_t> plain = rtp_encode(rtp.next(false), std::span<const uint8_t>(data, payload_bytes));
  std::vector<uint8_t> packet = plain;
  sender.protect(packet);
  std::vector<uint8_t> replay = packet;
  if (fresh.unprotect(packet) != SrtpRefusal::none || packet != plain) std::abort();
  if (fresh.unprotect(replay) != SrtpRefusal::replayed) std::abort();
  return 0;
}
