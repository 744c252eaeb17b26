// The call relay's decision per packet (path b of a call's media): find the leg, check its size
// and rate, move the binding, rewrite the header for the recipient. The socket read and write
// around it are the kernel's; this is what hailer adds to each relayed packet.
#include <benchmark/benchmark.h>

#include <vector>

#include "host/relay.hpp"

using namespace hailer;

namespace {

RelayLegId leg_id(uint64_t n) {
  RelayLegId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>((n * 0x9E3779B97F4A7C15ULL) >> (i % 8 * 8));
  id[15] = static_cast<uint8_t>(n);
  return id;
}

// state.range(0) calls relayed at once; one call's two legs alternate, each a 20 ms Opus packet
// (about 100 bytes of SRTP), the clock advancing 10 ms a packet so the rate limit never bites.
void relay_forward(benchmark::State& state) {
  const auto calls = static_cast<uint64_t>(state.range(0));
  RelayLimits limits;
  limits.max_calls = static_cast<uint32_t>(calls);
  Relay relay(limits);
  for (uint64_t c = 0; c < calls; ++c)
    relay.open(c, leg_id(2 * c), SessionId{2 * c}, leg_id(2 * c + 1), SessionId{2 * c + 1});
  const RelayHop a{false, {"198.51.100.7", 40000}, {}}, b{false, {"203.0.113.9", 50000}, {}};
  std::vector<uint8_t> packet(relay_header_bytes + 100, 0x80);
  packet[0] = relay_marker;
  packet[1] = relay_version;
  const uint64_t call = calls / 2;  // one in the middle of the table
  const RelayLegId leg_b = leg_id(2 * call + 1), leg_a = leg_id(2 * call);
  std::copy(leg_b.begin(), leg_b.end(), packet.begin() + 2);
  relay.receive(Time{0}, b, packet);  // binds leg b (to leg a's tunnel: a has sent nothing yet)
  std::copy(leg_a.begin(), leg_a.end(), packet.begin() + 2);
  relay.receive(Time{0}, a, packet);  // binds leg a and is forwarded: the header now names leg b
  bool from_b = true;
  int64_t now_us = 0;
  for (auto _ : state) {
    const RelayVerdict v = relay.receive(Time{now_us += 10'000}, from_b ? b : a, packet);  // the header alternates
    benchmark::DoNotOptimize(v);
    from_b = !from_b;
  }
  if (relay.stats().forwarded < static_cast<uint64_t>(state.iterations())) state.SkipWithError("packets were dropped");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(relay_forward)->Arg(1)->Arg(10'000);

}  // namespace
