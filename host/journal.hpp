// The journal: every event the core received, with its time and a digest of the effects it
// produced, one JSON object per line after a header that holds the config. A server writes it
// as it runs (HostObserver); replay() feeds it to a fresh core and checks that every event
// produces the same effects, so a problem seen on a real server becomes a deterministic replay.
//
// It holds no secret and nothing a secret derives from: media keys are never written (replay
// gives each session a stand-in key, stand_in_secrets()), register replies are digested with
// their key blanked, a media proof is written with whether its MAC was right instead of the MAC
// (replay makes a right or a wrong one under the stand-in key), and the instructor token, in
// the header and in joins, is written as a marker (replay uses a stand-in token).
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/events.hpp"
#include "host/host_port.hpp"

namespace hailer {

/// The journal format this code writes and reads (1 held a seed that derived every token).
inline constexpr int journal_version = 2;

/// The first line of a journal: what a fresh core needs to be the same core (the instructor
/// token only as "<redacted>").
std::string journal_header(const Config& config);
/// A canonical text of effects (what the digest is taken over; also shown on a mismatch), with
/// every media key blanked.
std::string describe_effects(std::span<const Effect> effects);

/// The media keys of the registered calls sessions, learnt from the register replies a core
/// sent (the writer sees the real keys, a replay the stand-ins); kept in memory only.
class MediaKeys {
 public:
  /// Learns from one fed event and its effects.
  void observe(const Event& event, std::span<const Effect> effects);
  /// The key whose proofs name `media_id`, if a registered session holds it.
  const SecretKey* key_of(uint64_t media_id) const;

 private:
  std::map<uint64_t, SecretKey> keys_;       // media id -> key
  std::map<SessionId, uint64_t> media_ids_;  // session -> its media id
};

/// Writes every fed event to a stream, flushing each line (a crash loses nothing written).
class JournalWriter final : public HostObserver {
 public:
  /// Writes the header at once.
  JournalWriter(std::ostream& out, const Config& config);
  void fed(Time now, const Event& event, std::span<const Effect> effects) override;

 private:
  std::ostream& out_;
  std::string instructor_token_;
  MediaKeys keys_;
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
