// SRTP with AEAD_AES_128_GCM (media/srtp.hpp): what the peer's key protected opens, once;
// anything else is refused with its reason.
#include "media/srtp.hpp"

#include <catch2/catch.hpp>

#include "media/rtp.hpp"

using namespace hailer;

namespace {
SrtpMasterKey key_of(uint8_t fill) {
  SrtpMasterKey k{};
  k.fill(fill);
  return k;
}
std::vector<uint8_t> packet(RtpSender& rtp, uint8_t fill) {
  const std::vector<uint8_t> payload(60, fill);
  return rtp_encode(rtp.next(false), payload);
}
}  // namespace

TEST_CASE("a protected packet opens under the same key to the very RTP that was sent", "[srtp]") {
  SrtpSender out(key_of(1));
  SrtpReceiver in(key_of(1));
  RtpSender rtp(0x1234, 100, 5000, 960);
  const auto plain = packet(rtp, 7);
  auto wire = plain;
  out.protect(wire);
  CHECK(wire.size() == plain.size() + srtp_tag_bytes);
  CHECK(std::equal(plain.begin(), plain.begin() + 12, wire.begin()));           // the header stays readable
  CHECK_FALSE(std::equal(plain.begin() + 12, plain.end(), wire.begin() + 12));  // the payload does not
  CHECK(in.unprotect(wire) == SrtpRefusal::none);
  CHECK(wire == plain);
}

TEST_CASE("altered, foreign, replayed and truncated packets are refused, each for its reason", "[srtp]") {
  SrtpSender out(key_of(1));
  SrtpReceiver in(key_of(1));
  SrtpSender stranger(key_of(2));
  RtpSender rtp(0x1234, 100, 5000, 960);
  auto first = packet(rtp, 1);
  out.protect(first);
  auto copy = first;
  REQUIRE(in.unprotect(copy) == SrtpRefusal::none);
  auto replay = first;
  CHECK(in.unprotect(replay) == SrtpRefusal::replayed);  // seen before: the replay window drops it
  auto altered = packet(rtp, 2);
  out.protect(altered);
  altered[20] ^= 0x01;
  CHECK(in.unprotect(altered) == SrtpRefusal::forged);
  auto foreign = packet(rtp, 3);
  stranger.protect(foreign);  // made without the key
  CHECK(in.unprotect(foreign) == SrtpRefusal::forged);
  std::vector<uint8_t> shortest(12 + srtp_tag_bytes - 1, 0x80);
  CHECK(in.unprotect(shortest) == SrtpRefusal::truncated);
  auto cut = packet(rtp, 4);
  out.protect(cut);
  cut.resize(cut.size() - 5);
  CHECK(in.unprotect(cut) == SrtpRefusal::forged);  // the tag no longer matches
  // The stream goes on after all that.
  auto next = packet(rtp, 5);
  out.protect(next);
  CHECK(in.unprotect(next) == SrtpRefusal::none);
}

TEST_CASE("a packet far behind the replay window is refused as a replay", "[srtp]") {
  SrtpSender out(key_of(1));
  SrtpReceiver in(key_of(1));
  RtpSender rtp(0x99, 0, 0, 960);
  auto old = packet(rtp, 0);
  out.protect(old);
  for (int i = 0; i < 200; ++i) {
    auto p = packet(rtp, 1);
    out.protect(p);
    REQUIRE(in.unprotect(p) == SrtpRefusal::none);
  }
  CHECK(in.unprotect(old) == SrtpRefusal::replayed);  // never seen, but 200 packets old
}

TEST_CASE("a stream opens across the sequence number's wrap (the rollover counter)", "[srtp]") {
  SrtpSender out(key_of(3));
  SrtpReceiver in(key_of(3));
  RtpSender rtp(0x77, 65'500, 0, 960);  // wraps after 36 packets
  int opened = 0;
  for (int i = 0; i < 200; ++i) {
    auto p = packet(rtp, static_cast<uint8_t>(i));
    const auto plain = p;
    out.protect(p);
    if (in.unprotect(p) == SrtpRefusal::none && p == plain) ++opened;
  }
  CHECK(opened == 200);
}

TEST_CASE("sessions move without losing their state", "[srtp]") {
  SrtpSender out(key_of(4));
  SrtpReceiver in(key_of(4));
  RtpSender rtp(0x55, 10, 0, 960);
  auto p = packet(rtp, 1);
  out.protect(p);
  SrtpReceiver moved = std::move(in);
  auto again = p;
  CHECK(moved.unprotect(p) == SrtpRefusal::none);
  CHECK(moved.unprotect(again) == SrtpRefusal::replayed);
}
