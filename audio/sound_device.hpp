// Sound devices through PortAudio's callback API (blocking I/O misbehaves on JACK): capture and
// playback of mono 16-bit audio, converted between the device's own rate and hailer's 48 kHz
// with the resampler the rest of hailer uses. The real-time callbacks only copy samples through
// lock-free rings; everything else happens on the app's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "audio/spsc_ring.hpp"
#include "media/io/resampler.hpp"

namespace hailer::audio {

/// A device could not be found or opened.
class SoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One device as PortAudio lists it.
struct DeviceInfo {
  int index = 0;
  std::string name;
  std::string host_api;
  int max_input_channels = 0;
  int max_output_channels = 0;
  double default_rate_hz = 0;
};

/// PortAudio, initialised for the lifetime of this object (ALSA's error chatter silenced).
class SoundSystem {
 public:
  SoundSystem();
  ~SoundSystem();
  SoundSystem(const SoundSystem&) = delete;
  SoundSystem& operator=(const SoundSystem&) = delete;

  /// Every device.
  std::vector<DeviceInfo> devices() const;
  /// The device `spec` names ("default", an index, or a part of a name) for input or output.
  DeviceInfo find(const std::string& spec, bool input) const;
};

/// Counters of a device, readable from the app's thread.
struct SoundStats {
  uint64_t callbacks = 0;
  uint64_t frames_captured = 0;  ///< device-rate samples captured
  uint64_t frames_played = 0;    ///< device-rate samples handed to the device (silence included)
  uint64_t underruns = 0;        ///< callbacks that found too little to play (filled with silence)
  uint64_t overruns = 0;         ///< captured samples dropped because the app did not read
};

/// An open capture and/or playback device pair, mono, at the devices' default rates.
class SoundDevice {
 public:
  /// Opens the input and/or output device (at least one); throws SoundError.
  SoundDevice(const SoundSystem& system, std::optional<DeviceInfo> input, std::optional<DeviceInfo> output);
  ~SoundDevice();
  SoundDevice(const SoundDevice&) = delete;
  SoundDevice& operator=(const SoundDevice&) = delete;

  /// Starts the streams.
  void start();
  /// Stops them (what is queued is dropped).
  void stop();

  /// The next 20 ms captured, at 48 kHz (960 samples), when one is complete.
  std::optional<std::vector<int16_t>> read_frame();
  /// Queues 48 kHz audio for playback; returns false when the queue was full (audio dropped).
  bool write(std::span<const int16_t> pcm_48k);
  /// Playback queued and not played yet, in milliseconds.
  int64_t queued_ms() const;
  /// Counters.
  SoundStats stats() const;
  /// The capture device's rate (0 without capture) and the playback device's rate.
  uint32_t input_rate_hz() const { return input_rate_hz_; }
  uint32_t output_rate_hz() const { return output_rate_hz_; }

  struct Shared;  // what the callbacks touch

 private:
  std::unique_ptr<Shared> shared_;
  void* input_stream_ = nullptr;  // PaStream*
  void* output_stream_ = nullptr;
  uint32_t input_rate_hz_ = 0;
  uint32_t output_rate_hz_ = 0;
  std::optional<Resampler> to_48k_;
  std::optional<Resampler> from_48k_;
  std::vector<int16_t> captured_48k_;
};

}  // namespace hailer::audio
