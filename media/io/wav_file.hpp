// WAV files through libsndfile: read any common WAV as 48 kHz mono 16-bit (mixing channels and
// resampling with libsamplerate), write 48 kHz 16-bit mono.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hailer {

/// A file that cannot be read or written, with the path and the library's reason.
class WavError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Mono 16-bit samples at a known rate.
struct Pcm {
  uint32_t sample_rate_hz = 48'000;
  std::vector<int16_t> samples;
};

/// Reads a sound file and returns it as 48 kHz mono 16-bit; throws WavError.
Pcm read_wav_48k_mono(const std::string& path);

/// Writes 16-bit mono samples as a WAV file at `sample_rate_hz`; throws WavError.
void write_wav(const std::string& path, std::span<const int16_t> samples, uint32_t sample_rate_hz = 48'000);

/// Converts float samples in [-1, 1] to int16 with clamping (never wraps around).
int16_t float_to_int16(float sample);

}  // namespace hailer
