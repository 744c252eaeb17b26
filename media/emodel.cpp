#include "media/emodel.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace hailer {

double r_factor(const EModelInput& in) {
  HAILER_ASSERT(in.mouth_to_ear_ms >= 0 && in.loss_percent >= 0 && in.loss_percent <= 100);
  HAILER_ASSERT(in.burst_ratio >= 1.0 && in.bpl > 0);
  const double d = in.mouth_to_ear_ms;
  const double id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0.0);
  const double p = in.loss_percent;
  const double ie_eff = in.ie + (95.0 - in.ie) * p / (p / in.burst_ratio + in.bpl);
  return std::clamp(93.2 - id - ie_eff, 0.0, 100.0);
}

double mos_from_r(double r) {
  if (r <= 0) return 1.0;
  if (r >= 100) return 4.5;
  // The polynomial dips slightly below 1 for R < ~6.5; MOS has no meaning below 1.
  return std::clamp(1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r), 1.0, 4.5);
}

double burst_ratio(const std::vector<bool>& lost) {
  double received_then_lost = 0, received_before = 0, lost_then_received = 0, lost_before = 0;
  for (std::size_t i = 1; i < lost.size(); ++i) {
    if (lost[i - 1]) {
      ++lost_before;
      if (!lost[i]) ++lost_then_received;
    } else {
      ++received_before;
      if (lost[i]) ++received_then_lost;
    }
  }
  if (received_before == 0 || lost_before == 0) return 1.0;
  const double p = received_then_lost / received_before;
  const double q = lost_then_received / lost_before;
  if (p + q <= 0) return 1.0;
  return std::max(1.0, 1.0 / (p + q));
}

}  // namespace hailer
