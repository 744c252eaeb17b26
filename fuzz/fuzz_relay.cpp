// What a client can send the call relay: a calls connection's byte stream (lines and tunnel
// frames, cut into two reads where the input says) whose frames then reach the relay from a
// tunnel or a UDP address. Never crashes; the framer hands out lines without a newline and frames
// within the limit; the relay forwards only between the two legs of a call, with the recipient's
// own id in the header, answers a binding unchanged to where it came from, and keeps its
// invariants after every packet.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "host/relay.hpp"
#include "host/transport_rules.hpp"

using namespace hailer;

namespace {
constexpr std::size_t max_line_bytes = 4096;

RelayLegId leg(uint8_t n) {
  RelayLegId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(n * 31 + i * 7 + 1);
  return id;
}

// Legs 0-3: calls 1 (sessions 1, 2) and 2 (sessions 3, 4).
const std::array<RelayLegId, 4> legs{leg(0), leg(1), leg(2), leg(3)};

int leg_index(std::span<const uint8_t> datagram) {
  if (datagram.size() < relay_header_bytes) return -1;
  for (std::size_t i = 0; i < legs.size(); ++i) {
    if (std::equal(legs[i].begin(), legs[i].end(), datagram.begin() + 2)) return static_cast<int>(i);
  }
  return -1;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t cut = data[0] % (text.size() + 1);
  LineFramer framer;
  std::vector<std::vector<uint8_t>> frames;
  auto on_line = [](std::string_view line) {
    if (line.empty() || line.find('\n') != std::string_view::npos) std::abort();
    return true;
  };
  auto on_frame = [&](std::string_view frame) {
    if (frame.size() > max_line_bytes - tunnel_prefix_bytes) std::abort();
    frames.emplace_back(frame.begin(), frame.end());
    return true;
  };
  if (framer.feed(text.substr(0, cut), max_line_bytes, on_line, on_frame) == LineFramer::Verdict::ok)
    (void)framer.feed(text.substr(cut), max_line_bytes, on_line, on_frame);

  Relay relay(RelayLimits{2, BucketRate{100, 1000}});
  if (!relay.open(1, legs[0], SessionId{1}, legs[1], SessionId{2}) ||
      !relay.open(2, legs[2], SessionId{3}, legs[3], SessionId{4}))
    std::abort();
  int64_t now_us = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    std::vector<uint8_t>& f = frames[i];
    // Most frames name a live leg (the fuzzer's bytes choose which), so forwarding is reached.
    if (f.size() >= relay_header_bytes && f[2] % 5 != 4) {
      f[0] = relay_marker;
      f[1] = relay_version;
      const RelayLegId& id = legs[f[2] % 5];
      std::copy(id.begin(), id.end(), f.begin() + 2);
    }
    const uint8_t pick = f.empty() ? 0 : f.back();
    RelayHop from;
    from.tunnel = pick % 3 == 0;
    if (from.tunnel)
      from.session = SessionId{1 + pick % 4u};
    else
      from.udp = MediaEndpoint{"198.51.100." + std::to_string(pick % 4), static_cast<uint16_t>(4000 + pick % 2)};
    now_us += pick * 100;
    const std::vector<uint8_t> before = f;
    const int sender = leg_index(f);
    const RelayVerdict v = relay.receive(Time{now_us}, from, std::span<uint8_t>(f));
    relay.check_invariants();
    if (v.drop) continue;
    if (sender < 0 || f.size() > relay_max_datagram_bytes) std::abort();  // only a live leg's, within the size
    if (from.tunnel && from.session != SessionId{static_cast<uint64_t>(sender + 1)}) std::abort();
    if (v.answer) {
      // A binding comes back unchanged, to where it came from.
      if (f != before || f.size() != relay_header_bytes || !(v.to == from)) std::abort();
      continue;
    }
    const int recipient = leg_index(f);
    if (recipient != (sender ^ 1)) std::abort();  // the other leg of the same call, by its own id
    if (!std::equal(f.begin() + relay_header_bytes, f.end(), before.begin() + relay_header_bytes)) std::abort();
    if (v.to.tunnel && v.to.session != SessionId{static_cast<uint64_t>(recipient + 1)}) std::abort();
  }
  return 0;
}
