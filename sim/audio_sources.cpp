#include "sim/audio_sources.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/assert.hpp"
#include "base/prng.hpp"
#include "media/io/wav_file.hpp"
#include "sim/parallel.hpp"

namespace hailer::sim {

namespace {

std::vector<int16_t> tone(double hz) {
  std::vector<int16_t> pcm(std::size_t{48'000} * 5);
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = static_cast<int16_t>(9000 * std::sin(2 * M_PI * hz * static_cast<double>(i) / 48'000));
  }
  return pcm;
}

// Syllable-like bursts of a gliding tone with pauses: speech's on/off envelope without a voice.
std::vector<int16_t> speechlike(uint64_t seed) {
  Prng rng(seed);
  std::vector<int16_t> pcm(std::size_t{48'000} * 6);
  std::size_t at = 0;
  while (at < pcm.size()) {
    const auto on = static_cast<std::size_t>(rng.between(80, 300)) * 48;
    const auto off = static_cast<std::size_t>(rng.between(40, 200)) * 48;
    const double amp = 3000.0 + static_cast<double>(rng.below(9000));
    const double f0 = 120.0 + static_cast<double>(rng.below(120));
    for (std::size_t i = 0; i < on && at < pcm.size(); ++i, ++at) {
      const double t = static_cast<double>(i) / 48'000;
      pcm[at] = static_cast<int16_t>(amp * std::sin(2 * M_PI * f0 * t * (1 + 0.3 * t)) *
                                     std::sin(M_PI * static_cast<double>(i) / static_cast<double>(on)));
    }
    at += off;
  }
  return pcm;
}

}  // namespace

const std::vector<int16_t>& AudioSources::pcm(const std::string& spec) {
  const std::string key = dir_ + "|" + spec;
  if (auto it = cache_.sources.find(key); it != cache_.sources.end()) return it->second;
  return cache_.sources.emplace(key, load(spec)).first->second;
}

std::vector<int16_t> AudioSources::load(const std::string& spec) const {
  std::vector<int16_t> pcm;
  if (spec.starts_with("tone:")) {
    pcm = tone(std::stod(spec.substr(5)));
  } else if (spec.starts_with("speechlike:")) {
    pcm = speechlike(std::stoull(spec.substr(11)));
  } else {
    const std::string path = spec.front() == '/' ? spec : dir_ + "/" + spec;
    if (!std::filesystem::exists(path)) {
      throw FixtureError("audio fixture " + path +
                         " does not exist (make it with scripts/make_fixtures.sh, or pass --fixtures)");
    }
    try {
      pcm = read_wav_48k_mono(path).samples;
    } catch (const WavError& e) {
      throw FixtureError(e.what());
    }
  }
  pcm.resize((pcm.size() + opus_frame_samples - 1) / opus_frame_samples * opus_frame_samples, 0);  // whole frames
  return pcm;
}

std::string AudioSources::encoded_key(const std::string& spec, const OpusSettings& o) const {
  return dir_ + "|" + spec + "|" + std::to_string(o.bitrate_bps) + "/" + std::to_string(o.complexity) + "/" +
         std::to_string(o.fec) + "/" + std::to_string(o.expected_loss_percent);
}

// Opus is deterministic, so one pass of a real encoder over the looping source gives the
// packets a live encoder would send; only the first frames after each wrap differ slightly
// (a live encoder carries the end of the loop in its state). Encoding is the simulator's
// largest cost after decoding; this keeps a minute of two-way audio to a fraction of a second.
std::vector<std::vector<uint8_t>> AudioSources::encode(const std::vector<int16_t>& source, const OpusSettings& o) {
  HAILER_ASSERT(source.size() % opus_frame_samples == 0);
  OpusFrameEncoder encoder(o);
  std::vector<std::vector<uint8_t>> out;
  out.reserve(source.size() / opus_frame_samples);
  for (std::size_t at = 0; at < source.size(); at += opus_frame_samples) {
    out.push_back(encoder.encode(std::span(source).subspan(at, opus_frame_samples)));
  }
  return out;
}

const std::vector<std::vector<uint8_t>>& AudioSources::packets(const std::string& spec, const OpusSettings& o) {
  const std::string key = encoded_key(spec, o);
  if (auto it = cache_.encoded.find(key); it != cache_.encoded.end()) return it->second;
  return cache_.encoded.emplace(key, encode(pcm(spec), o)).first->second;
}

void AudioSources::prepare(const std::vector<std::string>& specs, const OpusSettings& o) {
  struct Job {
    std::string spec, source_key, encoded_key;
    const std::vector<int16_t>* cached = nullptr;  // the source, if an earlier run loaded it
    std::vector<int16_t> loaded;
    std::vector<std::vector<uint8_t>> packets;
  };
  std::vector<Job> jobs;
  for (const std::string& spec : specs) {
    const std::string key = encoded_key(spec, o);
    if (cache_.encoded.contains(key) ||
        std::any_of(jobs.begin(), jobs.end(), [&](const Job& j) { return j.encoded_key == key; }))
      continue;
    Job j{spec, dir_ + "|" + spec, key, nullptr, {}, {}};
    if (auto it = cache_.sources.find(j.source_key); it != cache_.sources.end()) j.cached = &it->second;
    jobs.push_back(std::move(j));
  }
  // Each source is made and encoded on its own (its own encoder): the packets do not depend on
  // which core made them. The caches are written here, after, by this thread only; the first
  // missing fixture in participant order is the one reported.
  run_in_parallel(jobs.size(), [&](std::size_t i) {
    Job& j = jobs[i];
    if (j.cached == nullptr) j.loaded = load(j.spec);
    j.packets = encode(j.cached != nullptr ? *j.cached : j.loaded, o);
  });
  for (Job& j : jobs) {
    if (j.cached == nullptr) cache_.sources.emplace(j.source_key, std::move(j.loaded));
    cache_.encoded.emplace(j.encoded_key, std::move(j.packets));
  }
}

}  // namespace hailer::sim
