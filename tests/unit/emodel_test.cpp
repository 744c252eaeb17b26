#include "media/emodel.hpp"

#include <catch2/catch.hpp>

using namespace hailer;

TEST_CASE("E-model: no impairment gives the best R and MOS ~4.4", "[emodel]") {
  EModelInput in;
  in.ie = 0;
  const double r = r_factor(in);
  CHECK(r == Approx(93.2));
  CHECK(mos_from_r(r) == Approx(4.41).margin(0.01));
}

TEST_CASE("E-model: delay beyond 177.3 ms costs more", "[emodel]") {
  EModelInput a, b;
  a.mouth_to_ear_ms = 150;
  b.mouth_to_ear_ms = 300;
  CHECK(93.2 - opus_ie - r_factor(a) == Approx(0.024 * 150));
  CHECK(93.2 - opus_ie - r_factor(b) == Approx(0.024 * 300 + 0.11 * (300 - 177.3)));
}

TEST_CASE("E-model: loss lowers R, bursty loss more than random", "[emodel]") {
  EModelInput random_loss, bursty;
  random_loss.loss_percent = bursty.loss_percent = 5;
  bursty.burst_ratio = 3;
  CHECK(r_factor(random_loss) < r_factor(EModelInput{}));
  CHECK(r_factor(bursty) < r_factor(random_loss));
  // Ie_eff = Ie + (95 - Ie) * P / (P / BurstR + Bpl)
  CHECK(r_factor(random_loss) == Approx(93.2 - (opus_ie + (95 - opus_ie) * 5 / (5 + opus_bpl))));
}

TEST_CASE("MOS mapping is clamped and monotonic", "[emodel]") {
  CHECK(mos_from_r(-5) == 1.0);
  CHECK(mos_from_r(120) == 4.5);
  double previous = 1.0;
  for (int r = 0; r <= 100; r += 5) {
    const double m = mos_from_r(r);
    CHECK(m >= previous - 1e-9);
    previous = m;
  }
  CHECK(mos_from_r(50) == Approx(2.58).margin(0.01));
}

TEST_CASE("burst ratio: 1 for isolated losses, > 1 for runs", "[emodel]") {
  std::vector<bool> isolated(1000, false), runs(1000, false);
  for (int i = 0; i < 1000; i += 50) isolated[static_cast<std::size_t>(i)] = true;
  for (int i = 0; i < 1000; i += 100) {
    for (int k = 0; k < 5; ++k) runs[static_cast<std::size_t>(i + k)] = true;
  }
  CHECK(burst_ratio(isolated) == Approx(1.0).margin(0.05));
  CHECK(burst_ratio(runs) > 3.0);
  CHECK(burst_ratio({}) == 1.0);
}
