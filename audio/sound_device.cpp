#include "audio/sound_device.hpp"

#include <fcntl.h>
#include <portaudio.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "media/io/opus_codec.hpp"
#include "media/io/wav_file.hpp"

namespace hailer::audio {

namespace {

constexpr uint32_t hailer_rate_hz = 48'000;
constexpr std::size_t ring_seconds = 2;  // at most 2 s queued either way

void check(PaError e, const std::string& what) {
  if (e != paNoError) throw SoundError(what + ": " + Pa_GetErrorText(e));
}

// PortAudio probes ALSA, OSS and JACK on start and each prints its failures to stderr; a
// machine without a sound card would greet every user with a page of noise. Hide stderr while
// it probes.
class QuietStderr {
 public:
  QuietStderr() {
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, STDERR_FILENO);
      ::close(null);
    }
  }
  ~QuietStderr() {
    if (saved_ >= 0) {
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
    }
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_ = -1;
};

DeviceInfo info_of(int index) {
  const PaDeviceInfo* d = Pa_GetDeviceInfo(index);
  DeviceInfo i;
  i.index = index;
  i.name = d->name;
  i.host_api = Pa_GetHostApiInfo(d->hostApi)->name;
  i.max_input_channels = d->maxInputChannels;
  i.max_output_channels = d->maxOutputChannels;
  i.default_rate_hz = d->defaultSampleRate;
  return i;
}

}  // namespace

struct SoundDevice::Shared {
  Shared(uint32_t in_rate, uint32_t out_rate)
      : captured(std::max<uint32_t>(in_rate, 1) * ring_seconds),
        to_play(std::max<uint32_t>(out_rate, 1) * ring_seconds) {}
  SpscRing captured;  // device -> app
  SpscRing to_play;   // app -> device
  std::atomic<uint64_t> callbacks{0}, frames_captured{0}, frames_played{0}, underruns{0}, overruns{0};
};

namespace {

// Real time: copy, clamp, count. No allocation, no lock, no system call.
int capture_callback(const void* input, void*, unsigned long frames, const PaStreamCallbackTimeInfo*,
                     PaStreamCallbackFlags, void* user) {
  auto* s = static_cast<SoundDevice::Shared*>(user);
  const auto* in = static_cast<const float*>(input);
  int16_t chunk[256];
  unsigned long done = 0;
  while (in != nullptr && done < frames) {
    const unsigned long n = std::min<unsigned long>(frames - done, 256);
    for (unsigned long i = 0; i < n; ++i) chunk[i] = float_to_int16(in[done + i]);
    const std::size_t pushed = s->captured.push(std::span<const int16_t>(chunk, n));
    s->overruns.fetch_add(n - pushed, std::memory_order_relaxed);
    done += n;
  }
  s->callbacks.fetch_add(1, std::memory_order_relaxed);
  s->frames_captured.fetch_add(frames, std::memory_order_relaxed);
  return paContinue;
}

int playback_callback(const void*, void* output, unsigned long frames, const PaStreamCallbackTimeInfo*,
                      PaStreamCallbackFlags, void* user) {
  auto* s = static_cast<SoundDevice::Shared*>(user);
  auto* out = static_cast<float*>(output);
  int16_t chunk[256];
  unsigned long done = 0;
  bool short_of_audio = false;
  while (done < frames) {
    const unsigned long n = std::min<unsigned long>(frames - done, 256);
    const std::size_t got = s->to_play.pop(std::span<int16_t>(chunk, n));
    if (got < n) short_of_audio = true;
    for (unsigned long i = 0; i < n; ++i) out[done + i] = i < got ? static_cast<float>(chunk[i]) / 32768.0f : 0.0f;
    done += n;
  }
  if (short_of_audio) s->underruns.fetch_add(1, std::memory_order_relaxed);
  s->callbacks.fetch_add(1, std::memory_order_relaxed);
  s->frames_played.fetch_add(frames, std::memory_order_relaxed);
  return paContinue;
}

PaStream* open_stream(const DeviceInfo& d, bool input, PaStreamCallback* callback, void* user) {
  PaStreamParameters p{};
  p.device = d.index;
  p.channelCount = 1;
  p.sampleFormat = paFloat32;
  const PaDeviceInfo* info = Pa_GetDeviceInfo(d.index);
  p.suggestedLatency = input ? info->defaultLowInputLatency : info->defaultLowOutputLatency;
  PaStream* stream = nullptr;
  check(Pa_OpenStream(&stream, input ? &p : nullptr, input ? nullptr : &p, d.default_rate_hz,
                      paFramesPerBufferUnspecified, paNoFlag, callback, user),
        "cannot open " + std::string(input ? "capture" : "playback") + " device '" + d.name + "'");
  return stream;
}

}  // namespace

SoundSystem::SoundSystem() {
  QuietStderr quiet;
  check(Pa_Initialize(), "PortAudio");
}

SoundSystem::~SoundSystem() { Pa_Terminate(); }

std::vector<DeviceInfo> SoundSystem::devices() const {
  std::vector<DeviceInfo> out;
  const int n = Pa_GetDeviceCount();
  out.reserve(static_cast<std::size_t>(std::max(n, 0)));
  for (int i = 0; i < n; ++i) out.push_back(info_of(i));
  return out;
}

DeviceInfo SoundSystem::find(const std::string& spec, bool input) const {
  auto usable = [&](const DeviceInfo& d) { return input ? d.max_input_channels > 0 : d.max_output_channels > 0; };
  const char* what = input ? "capture" : "playback";
  if (spec == "default") {
    const int index = input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
    if (index == paNoDevice) throw SoundError(std::string("no default ") + what + " device (hailer --list-devices)");
    return info_of(index);
  }
  const auto all = devices();
  if (!spec.empty() && spec.find_first_not_of("0123456789") == std::string::npos) {
    const int index = std::stoi(spec);
    if (index < static_cast<int>(all.size()) && usable(all[static_cast<std::size_t>(index)])) {
      return all[static_cast<std::size_t>(index)];
    }
  }
  for (const auto& d : all) {
    if (usable(d) && d.name.find(spec) != std::string::npos) return d;
  }
  throw SoundError(std::string("no ") + what + " device matches '" + spec + "' (hailer --list-devices)");
}

SoundDevice::SoundDevice(const SoundSystem&, std::optional<DeviceInfo> input, std::optional<DeviceInfo> output) {
  if (!input && !output) throw SoundError("no device to open");
  input_rate_hz_ = input ? static_cast<uint32_t>(std::lround(input->default_rate_hz)) : 0;
  output_rate_hz_ = output ? static_cast<uint32_t>(std::lround(output->default_rate_hz)) : 0;
  shared_ = std::make_unique<Shared>(input_rate_hz_, output_rate_hz_);
  if (input) {
    to_48k_.emplace(input_rate_hz_, hailer_rate_hz);
    input_stream_ = open_stream(*input, true, capture_callback, shared_.get());
  }
  if (output) {
    from_48k_.emplace(hailer_rate_hz, output_rate_hz_);
    try {
      output_stream_ = open_stream(*output, false, playback_callback, shared_.get());
    } catch (...) {
      if (input_stream_ != nullptr) Pa_CloseStream(input_stream_);
      throw;
    }
  }
}

SoundDevice::~SoundDevice() {
  stop();
  if (input_stream_ != nullptr) Pa_CloseStream(input_stream_);
  if (output_stream_ != nullptr) Pa_CloseStream(output_stream_);
}

void SoundDevice::start() {
  if (input_stream_ != nullptr && Pa_IsStreamActive(input_stream_) != 1)
    check(Pa_StartStream(input_stream_), "capture start");
  if (output_stream_ != nullptr && Pa_IsStreamActive(output_stream_) != 1)
    check(Pa_StartStream(output_stream_), "playback start");
}

void SoundDevice::stop() {
  if (input_stream_ != nullptr && Pa_IsStreamActive(input_stream_) == 1) Pa_StopStream(input_stream_);
  if (output_stream_ != nullptr && Pa_IsStreamActive(output_stream_) == 1) Pa_StopStream(output_stream_);
}

std::optional<std::vector<int16_t>> SoundDevice::read_frame() {
  if (!to_48k_) return std::nullopt;
  int16_t chunk[512];
  while (captured_48k_.size() < opus_frame_samples) {
    const std::size_t n = shared_->captured.pop(std::span<int16_t>(chunk, 512));
    if (n == 0) break;
    const auto converted = to_48k_->process(std::span<const int16_t>(chunk, n));
    captured_48k_.insert(captured_48k_.end(), converted.begin(), converted.end());
  }
  if (captured_48k_.size() < opus_frame_samples) return std::nullopt;
  std::vector<int16_t> frame(captured_48k_.begin(), captured_48k_.begin() + opus_frame_samples);
  captured_48k_.erase(captured_48k_.begin(), captured_48k_.begin() + opus_frame_samples);
  return frame;
}

bool SoundDevice::write(std::span<const int16_t> pcm_48k) {
  if (!from_48k_) return false;
  const auto converted = from_48k_->process(pcm_48k);
  return shared_->to_play.push(converted) == converted.size();
}

int64_t SoundDevice::queued_ms() const {
  if (output_rate_hz_ == 0) return 0;
  return static_cast<int64_t>(shared_->to_play.size()) * 1000 / output_rate_hz_;
}

SoundStats SoundDevice::stats() const {
  SoundStats s;
  s.callbacks = shared_->callbacks.load();
  s.frames_captured = shared_->frames_captured.load();
  s.frames_played = shared_->frames_played.load();
  s.underruns = shared_->underruns.load();
  s.overruns = shared_->overruns.load();
  return s;
}

}  // namespace hailer::audio
