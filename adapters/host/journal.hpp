// The journal: every event the core received, with its time and a digest of the effects it
// produced, one JSON object per line after a header that holds the config and the seed. A
// server writes it as it runs (HostObserver); replay() feeds it to a fresh core and checks
// that every event produces the same effects, so a problem seen on a real server becomes a
// deterministic replay.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "adapters/host/host_port.hpp"
#include "core/config.hpp"
#include "core/events.hpp"

namespace hailer {

/// The journal format this code writes and reads.
inline constexpr int journal_version = 1;

/// The first line of a journal: what a fresh core needs to be the same core.
std::string journal_header(const Config& config, uint64_t seed);
/// One event line: time, the event, and the digest of its effects.
std::string journal_line(Time now, const Event& event, std::span<const Effect> effects);
/// A canonical text of effects (what the digest is taken over; also shown on a mismatch).
std::string describe_effects(std::span<const Effect> effects);

/// Writes every fed event to a stream, flushing each line (a crash loses nothing written).
class JournalWriter final : public HostObserver {
 public:
  /// Writes the header at once.
  JournalWriter(std::ostream& out, const Config& config, uint64_t seed);
  void fed(Time now, const Event& event, std::span<const Effect> effects) override;

 private:
  std::ostream& out_;
};

/// What a replay found.
struct ReplayResult {
  uint64_t events = 0;           ///< event lines replayed
  std::optional<uint64_t> line;  ///< the first line whose effects differ (1-based), if any
  std::string detail;            ///< what differed, or why the journal is unreadable
  bool ok() const { return !line && detail.empty(); }
};

/// Replays a journal on a fresh core with invariants checked after every event.
ReplayResult replay_journal(std::istream& in);

}  // namespace hailer
