// The jitter buffer under any arrival pattern: inserts with arbitrary sequence numbers,
// timestamps and times, pulls, ends and closes. Its own assertions check the invariants; this
// adds the memory bound.
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_input.hpp"
#include "media/jitter_buffer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  hailer::fuzz::Input in(data, size);
  hailer::JitterBufferConfig config;
  config.fec = in.byte() & 1;
  hailer::JitterBuffer jb(config);
  int64_t now_us = 0;
  const uint8_t payload[3] = {1, 2, 3};
  for (int step = 0; step < 2000 && !in.empty(); ++step) {
    const uint8_t op = in.byte();
    now_us += (op & 0x0F) * 2000;  // time moves 0-30 ms per step
    switch (op >> 6) {
      case 0:
      case 1: {
        hailer::RtpHeader h;
        h.sequence = in.u16();
        h.timestamp = static_cast<uint32_t>(in.u16()) * 960u + (in.byte() & 1 ? 0x80000000u : 0);
        h.marker = in.byte() & 1;
        jb.insert(hailer::Time{now_us}, h, payload);
        break;
      }
      case 2:
        (void)jb.pull(hailer::Time{now_us});
        break;
      default:
        if (op & 0x10)
          jb.end_of_stream();
        else
          (void)jb.stats();
        break;
    }
    if (jb.buffered_packets() > config.max_packets) std::abort();  // memory stays bounded
  }
  jb.close();
  return 0;
}
