// A sans-IO network model: it never moves bytes, it only answers "when (if ever) does this
// arrive?". Datagrams (RTP) can be lost (random or bursty, Gilbert-Elliott), delayed with
// jitter, reordered and duplicated; streams (TCP, WebSocket) are reliable and in order, so loss
// shows up as a retransmission delay and head-of-line blocking. Partitions and stalls hold
// traffic; everything derives from one seed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/prng.hpp"
#include "base/time.hpp"

namespace hailer::sim {

/// Gilbert-Elliott loss: in the good state packets are lost with `random`; the bad state
/// (entered with `burst_enter` per packet, left with `burst_exit`) loses with `burst_loss`.
struct LossModel {
  double random = 0;
  double burst_enter = 0;
  double burst_exit = 0.5;
  double burst_loss = 1.0;
};

/// The behaviour of one direction of a link.
struct LinkProfile {
  int64_t latency_ms = 10;  ///< one-way base delay
  int64_t jitter_ms = 0;    ///< extra delay, uniform in [0, jitter]
  LossModel loss;
  double duplicate = 0;  ///< probability a datagram arrives twice
  double reorder = 0;    ///< probability a datagram is held back by reorder_delay_ms
  int64_t reorder_delay_ms = 30;
  int64_t retransmit_ms = 200;  ///< a lost stream segment arrives this much later (TCP RTO)
};

/// Counters of one directed link.
struct LinkCounters {
  uint64_t datagrams = 0;
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  uint64_t segments = 0;
  uint64_t retransmitted = 0;
};

/// The whole network between named nodes.
class Network {
 public:
  /// A network where every link behaves like `default_profile` unless overridden.
  Network(uint64_t seed, LinkProfile default_profile);

  /// Overrides both directions between `a` and `b`.
  void set_link(const std::string& a, const std::string& b, const LinkProfile& profile);
  /// Cuts traffic between the groups in [from, until): datagrams are lost, streams wait.
  void partition(std::vector<std::set<std::string>> groups, Time from, Time until);
  /// Holds everything to and from `node` in [from, until) (a frozen host or a stuck socket).
  void stall(const std::string& node, Time from, Time until);

  /// Arrival times of a datagram sent now (empty: lost; two: duplicated).
  std::vector<Time> datagram(Time now, const std::string& from, const std::string& to);
  /// Arrival time of a stream segment sent now on stream `stream_id` (in order, reliable).
  Time stream(Time now, const std::string& from, const std::string& to, uint64_t stream_id);

  /// Counters per directed link, keyed "from>to".
  const std::map<std::string, LinkCounters>& counters() const { return counters_; }

 private:
  struct Direction {
    LinkProfile profile;
    Prng rng;
    bool bad_state = false;
  };
  struct Hold {
    std::vector<std::set<std::string>> groups;  // partition when non-empty
    std::string node;                           // stall otherwise
    Time from;
    Time until;
  };

  Direction& direction(const std::string& from, const std::string& to);
  bool lose(Direction& d);
  Time delay(Direction& d, Time now);
  std::optional<Time> held_until(Time now, const std::string& from, const std::string& to) const;

  uint64_t seed_;
  LinkProfile default_;
  std::map<std::string, LinkProfile> overrides_;  // "a>b"
  std::map<std::string, Direction> directions_;   // "from>to"
  std::map<std::string, LinkCounters> counters_;
  std::map<std::pair<uint64_t, std::string>, Time> stream_tail_;  // last arrival per stream direction
  std::vector<Hold> holds_;
};

}  // namespace hailer::sim
