#include "apps/cli/call_audio.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <utility>

#include "media/io/opus_codec.hpp"
#include "media/io/wav_file.hpp"

namespace hailer::cli {

namespace {

constexpr auto frame_period = std::chrono::milliseconds(20);
constexpr std::size_t max_captured_frames = 3;  // captured audio waiting to be sent: 60 ms at most
constexpr int64_t max_playback_queue_ms = 200;  // beyond this the device fell behind: drop, do not lag

// A tone at 48 kHz: `pattern` is (frequency or 0 for a pause, milliseconds) pairs.
std::vector<int16_t> tone_pcm(std::initializer_list<std::pair<double, int>> pattern) {
  std::vector<int16_t> pcm;
  for (const auto& [hz, ms] : pattern) {
    const std::size_t n = static_cast<std::size_t>(ms) * 48;
    for (std::size_t i = 0; i < n; ++i) {
      const double t = static_cast<double>(i) / 48000.0;
      pcm.push_back(hz == 0 ? int16_t{0} : static_cast<int16_t>(6000 * std::sin(2 * M_PI * hz * t)));
    }
  }
  return pcm;
}

}  // namespace

bool is_wav(const std::string& spec) { return spec.size() > 4 && spec.ends_with(".wav"); }

CallAudio::CallAudio(boost::asio::io_context& io, std::string audio_in, std::string audio_out, bool in_once)
    : device_timer_(io), audio_in_(std::move(audio_in)), audio_out_(std::move(audio_out)), in_once_(in_once) {}

CallAudio::~CallAudio() = default;

bool CallAudio::open() {
  if (!open_devices()) return false;
  if (is_wav(audio_in_)) {
    try {
      capture_ = read_wav_48k_mono(audio_in_).samples;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hailer: %s\n", e.what());  // it names the file and why
      return false;
    }
  }
  return true;
}

// Opens the sound devices named (not "none", not a WAV). "default" with no device present
// turns audio off with a warning; a named device that cannot be used is an error.
bool CallAudio::open_devices() {
  const bool in = audio_in_ != "none" && !is_wav(audio_in_);
  const bool out = audio_out_ != "none" && !is_wav(audio_out_);
  if (!in && !out) return true;
  try {
    sound_system_ = std::make_unique<audio::SoundSystem>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer: %s\n", e.what());
    return false;
  }
  std::optional<audio::DeviceInfo> input, output;
  auto pick = [&](std::string& spec, bool capture, std::optional<audio::DeviceInfo>& into) {
    try {
      into = sound_system_->find(spec, capture);
      return true;
    } catch (const audio::SoundError& e) {
      if (spec != "default") {
        std::fprintf(stderr, "hailer: %s\n", e.what());
        return false;
      }
      std::fprintf(stderr, "hailer: %s: %s off\n", e.what(), capture ? "sending audio" : "playing audio");
      spec = "none";
      return true;
    }
  };
  if (in && !pick(audio_in_, true, input)) return false;
  if (out && !pick(audio_out_, false, output)) return false;
  if (!input && !output) return true;
  try {
    device_ = std::make_unique<audio::SoundDevice>(*sound_system_, input, output);
    device_->start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer: %s\n", e.what());
    return false;
  }
  drain_capture();
  return true;
}

// Every 20 ms: captured frames move to a short queue (the newest few are kept), so capture
// never overruns between calls and a call starts with fresh audio.
void CallAudio::drain_capture() {
  if (!device_ || device_->input_rate_hz() == 0) return;
  while (auto f = device_->read_frame()) {
    captured_.push_back(std::move(*f));
    if (captured_.size() > max_captured_frames) captured_.pop_front();
  }
  device_timer_.expires_after(frame_period);
  device_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopped_) drain_capture();
  });
}

void CallAudio::start_call() {
  started_once_ = true;
  capture_at_ = 0;  // every call hears the file from its start
}

// The oldest captured frame, or the WAV's next 20 ms (from its start at every call, over and
// over; with in_once, once and then silence).
std::vector<int16_t> CallAudio::next_frame() {
  if (device_ && device_->input_rate_hz() != 0) {
    while (auto f = device_->read_frame()) captured_.push_back(std::move(*f));
    while (captured_.size() > max_captured_frames) captured_.pop_front();
    if (captured_.empty()) return std::vector<int16_t>(opus_frame_samples, 0);
    std::vector<int16_t> frame = std::move(captured_.front());
    captured_.pop_front();
    return frame;
  }
  std::vector<int16_t> pcm(opus_frame_samples, 0);
  for (std::size_t i = 0; i < pcm.size() && !capture_.empty(); ++i) {
    if (capture_at_ == capture_.size()) {
      if (in_once_) break;
      capture_at_ = 0;
    }
    pcm[i] = capture_[capture_at_++];
  }
  return pcm;
}

void CallAudio::heard(std::span<const int16_t> pcm) {
  if (!pcm.empty()) play_on_device(pcm);
  if (!is_wav(audio_out_)) return;
  if (pcm.empty())
    played_.insert(played_.end(), opus_frame_samples, 0);
  else
    played_.insert(played_.end(), pcm.begin(), pcm.end());
}

void CallAudio::play_tone(Tone tone) {
  if (tone == Tone::incoming_call)
    play_on_device(tone_pcm({{440, 400}, {0, 200}, {480, 400}}));
  else
    play_on_device(tone_pcm({{880, 120}, {0, 80}, {880, 120}}));
}

void CallAudio::play_on_device(std::span<const int16_t> pcm) {
  if (!device_ || device_->output_rate_hz() == 0) return;
  if (device_->queued_ms() > max_playback_queue_ms) return;
  device_->write(pcm);
}

// The calls' audio, one after another, as heard. No call, no file: an empty WAV would read as
// a call that recorded nothing.
void CallAudio::save() {
  if (!is_wav(audio_out_)) return;
  if (!started_once_) {
    std::fprintf(stderr, "hailer: no call had audio: %s not written\n", audio_out_.c_str());
    return;
  }
  try {
    write_wav(audio_out_, played_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer: %s\n", e.what());  // it names the file and why
  }
}

void CallAudio::stop() {
  stopped_ = true;
  device_timer_.cancel();
}

}  // namespace hailer::cli
