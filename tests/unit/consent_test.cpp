// Consent to receive media: nothing is granted before an answer, an answer must carry the nonce
// of one of our recent checks, consent lapses expiry_ms after the last answer (both sides of
// every boundary pinned), and the check schedule is bounded.
#include "client/consent.hpp"

#include <catch2/catch.hpp>

using namespace hailer;

namespace {
ConsentNonce nonce(uint8_t n) {
  ConsentNonce b{};
  b.fill(n);
  return b;
}
std::string answer_to(const std::string& check) { return *consent_answer(check); }
}  // namespace

TEST_CASE("consent: granted only once the destination answers a check, never before", "[consent]") {
  Consent c;
  const Time t0 = Time::from_ms(1'000);
  CHECK_FALSE(c.granted(t0));
  c.start(t0);
  CHECK_FALSE(c.granted(t0));
  const auto check = c.poll(t0, nonce(1));
  REQUIRE(check.has_value());
  CHECK(*check == "hailer-consent 01010101010101010101010101010101");
  CHECK(is_consent_datagram(*check));
  CHECK_FALSE(c.poll(t0, nonce(2)).has_value());  // not due again yet
  // Anything but the answer to our own nonce grants nothing.
  CHECK_FALSE(c.on_answer(t0, "hailer-consent-ok 02020202020202020202020202020202"));
  CHECK_FALSE(c.on_answer(t0, *check));  // the check itself, reflected back
  CHECK_FALSE(c.on_answer(t0, "hailer-consent-ok 0101010101010101010101010101010"));
  CHECK_FALSE(c.granted(t0));
  CHECK(c.on_answer(t0 + Duration::from_ms(30), answer_to(*check)));
  CHECK(c.granted(t0 + Duration::from_ms(30)));
  CHECK(c.grants() == 1);
  // The same answer again proves nothing new.
  CHECK_FALSE(c.on_answer(t0 + Duration::from_ms(31), answer_to(*check)));
}

TEST_CASE("consent: lapses expiry_ms after the last answer, not a millisecond later or sooner", "[consent]") {
  ConsentConfig config;
  Consent c(config);
  const Time t0{0};
  c.start(t0);
  const auto check = c.poll(t0, nonce(7));
  REQUIRE(c.on_answer(Time::from_ms(10), answer_to(*check)));
  CHECK(c.granted(Time::from_ms(10 + config.expiry_ms - 1)));
  CHECK_FALSE(c.granted(Time::from_ms(10 + config.expiry_ms)));
  // A later answer renews it, and re-grants it after a lapse.
  const auto again = c.poll(Time::from_ms(10 + config.expiry_ms), nonce(8));
  REQUIRE(again.has_value());
  CHECK(c.on_answer(Time::from_ms(20 + config.expiry_ms), answer_to(*again)));
  CHECK(c.granted(Time::from_ms(20 + config.expiry_ms)));
  CHECK(c.grants() == 2);
  c.stop();
  CHECK_FALSE(c.granted(Time::from_ms(21 + config.expiry_ms)));
  CHECK_FALSE(c.next_deadline().has_value());
}

TEST_CASE("consent: quick retries only while unanswered and only for a while, then one check per interval",
          "[consent]") {
  ConsentConfig config;
  Consent c(config);
  c.start(Time{0});
  uint8_t n = 0;
  std::vector<int64_t> sent_ms;
  for (int64_t ms = 0; ms <= 10'000; ++ms) {
    if (c.poll(Time::from_ms(ms), nonce(++n))) sent_ms.push_back(ms);
  }
  // 0, 200, ..., 2000 (11 checks: the last quick one is due at 2,000 ms), then every 800 ms.
  REQUIRE(sent_ms.size() >= 12);
  CHECK(sent_ms[0] == 0);
  CHECK(sent_ms[1] == config.retry_ms);
  CHECK(sent_ms[10] == 2'000);
  CHECK(sent_ms[11] == 2'000 + config.check_interval_ms);
  CHECK(sent_ms.size() == 11 + 10);  // 2,800 .. 10,000 every 800 ms
  CHECK(c.checks_sent() == sent_ms.size());
}

TEST_CASE("consent: an answer to any of the last few checks counts (a slow path), an older one does not", "[consent]") {
  Consent c;
  c.start(Time{0});
  std::vector<std::string> checks;
  for (int64_t ms = 0; checks.size() < 10; ms += 200) {
    if (auto k = c.poll(Time::from_ms(ms), nonce(static_cast<uint8_t>(checks.size() + 1)))) checks.push_back(*k);
  }
  CHECK_FALSE(c.on_answer(Time::from_ms(2'000), answer_to(checks[0])));  // forgotten: eight are remembered
  CHECK(c.on_answer(Time::from_ms(2'000), answer_to(checks[3])));
}

TEST_CASE("consent: a check is answered with its own nonce, anything else is not a check", "[consent]") {
  CHECK(consent_answer("hailer-consent 00112233445566778899aabbccddeeff") ==
        std::optional<std::string>("hailer-consent-ok 00112233445566778899aabbccddeeff"));
  for (const std::string& bad :
       {std::string("hailer-consent "), std::string("hailer-consent 0011"),
        std::string("hailer-consent 00112233445566778899aabbccddeeff0"),
        std::string("hailer-consent 00112233445566778899aabbccddeefg"),
        std::string("hailer-consent-ok 00112233445566778899aabbccddeeff"), std::string("\x80\x6f")}) {
    CAPTURE(bad);
    CHECK_FALSE(consent_answer(bad).has_value());
  }
  CHECK_FALSE(is_consent_datagram("\x80\x6f\x00\x01"));
}
