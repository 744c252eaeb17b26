// The E-model (ITU-T G.107), simplified after Cole & Rosenbluth (2001): one-way mouth-to-ear
// delay and effective packet loss -> transmission rating R -> MOS.
#pragma once

#include <vector>

namespace hailer {

/// Equipment impairment of Opus at hailer's 32 kb/s speech setting. G.113 lists no Opus
/// values; published estimates put wideband/fullband Opus at or below G.711's zero on the
/// narrowband scale. 5 is a deliberately modest (pessimistic) choice.
inline constexpr double opus_ie = 5.0;
/// Packet-loss robustness of Opus with its concealment; G.113 gives 25.1 for G.711 with PLC
/// and 19 for G.729A. Opus's PLC is at least as good as G.711 PLC, so 25 is used.
inline constexpr double opus_bpl = 25.0;

/// What the E-model needs.
struct EModelInput {
  double mouth_to_ear_ms = 0;  ///< one-way delay d
  double loss_percent = 0;     ///< Ppl, including late discards
  double burst_ratio = 1.0;    ///< BurstR: 1 for random loss, > 1 for bursty loss
  double ie = opus_ie;
  double bpl = opus_bpl;
};

/// Transmission rating R (0-100): R = 93.2 - Id - Ie_eff.
double r_factor(const EModelInput& in);

/// MOS from R: 1 + 0.035 R + 7e-6 R (R - 60)(100 - R), 1 below R = 0, 4.5 above R = 100.
double mos_from_r(double r);

/// G.107 BurstR from a loss trace (true = lost): 1 / (p + q), where p = P(loss | received
/// before) and q = P(received | lost before); 1 when the trace has no loss or no transitions.
double burst_ratio(const std::vector<bool>& lost);

}  // namespace hailer
