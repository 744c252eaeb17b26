// The audio a simulated participant speaks: a WAV fixture, "tone:HZ" or "speechlike:SEED",
// made into whole 20 ms frames at 48 kHz, and its Opus packets. Both are cached across the runs
// of one process, keyed by everything that decides their content, so sharing changes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "media/io/opus_codec.hpp"

namespace hailer::sim {

/// A fixture the scenario names is missing or unreadable: a usage error, not a failed run.
class FixtureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Sources and their encodings, shared by the runs of one process.
struct MediaCache {
  std::map<std::string, std::vector<int16_t>> sources;               ///< by fixtures dir + spec
  std::map<std::string, std::vector<std::vector<uint8_t>>> encoded;  ///< by source key + Opus settings
};

/// Where a world finds its audio.
class AudioSources {
 public:
  /// Sources under `fixtures_dir`, cached in `cache`.
  AudioSources(std::string fixtures_dir, MediaCache& cache) : dir_(std::move(fixtures_dir)), cache_(cache) {}

  /// The source as whole 20 ms frames of 48 kHz mono; throws FixtureError for a missing file.
  const std::vector<int16_t>& pcm(const std::string& spec);
  /// The source encoded once, one Opus packet per frame; senders loop these packets.
  const std::vector<std::vector<uint8_t>>& packets(const std::string& spec, const OpusSettings& opus);
  /// Loads and encodes these sources now, each on its own core, so packets() finds them ready.
  void prepare(const std::vector<std::string>& specs, const OpusSettings& opus);

 private:
  std::vector<int16_t> load(const std::string& spec) const;
  std::string encoded_key(const std::string& spec, const OpusSettings& opus) const;
  static std::vector<std::vector<uint8_t>> encode(const std::vector<int16_t>& source, const OpusSettings& opus);
  std::string dir_;
  MediaCache& cache_;
};

}  // namespace hailer::sim
