// The CLI's audio side: what a call sends (a microphone, or a WAV file, or nothing) and where
// what it hears goes (speakers, a WAV file, or nothing), 20 ms at a time, and the tones. The
// network side of a call (RTP, SRTP, consent) is CallMedia's and the shell's; this only turns
// devices and files into frames and back.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "audio/sound_device.hpp"
#include "client/client.hpp"

namespace hailer::cli {

/// True when `spec` names a WAV file (not a device, not "none").
bool is_wav(const std::string& spec);

/// The sound devices and files of one CLI run.
class CallAudio {
 public:
  /// `audio_in`/`audio_out`: "default", a device (index or part of its name), FILE.wav or "none".
  /// `in_once`: a WAV is sent once per call (then silence) instead of over and over.
  CallAudio(boost::asio::io_context& io, std::string audio_in, std::string audio_out, bool in_once);
  ~CallAudio();
  CallAudio(const CallAudio&) = delete;
  CallAudio& operator=(const CallAudio&) = delete;

  /// Opens the devices and reads the WAV to send; false (said on stderr) when one cannot be used.
  /// "default" with no device present turns that direction off with a warning instead.
  bool open();
  /// True when a call sends something (a device or a WAV).
  bool sends() const { return audio_in_ != "none"; }
  /// A call's audio starts: a WAV is sent from its start.
  void start_call();
  /// The next 20 ms to send (48 kHz mono).
  std::vector<int16_t> next_frame();
  /// 20 ms heard (empty: nothing came in time, written as silence to a WAV).
  void heard(std::span<const int16_t> pcm);
  /// A tone on the speakers (never into a WAV: it records the call, not the tones).
  void play_tone(Tone tone);
  /// Writes the WAV heard, when --audio-out is one and a call had audio.
  void save();
  /// Stops the device's capture timer.
  void stop();

 private:
  bool open_devices();
  void drain_capture();
  void play_on_device(std::span<const int16_t> pcm);

  boost::asio::steady_timer device_timer_;
  std::string audio_in_, audio_out_;
  bool in_once_;
  bool stopped_ = false;
  bool started_once_ = false;  // a call's audio started at least once (the WAV heard is written)
  std::unique_ptr<audio::SoundSystem> sound_system_;
  std::unique_ptr<audio::SoundDevice> device_;
  std::deque<std::vector<int16_t>> captured_;  // the device's newest frames, waiting to be sent
  std::vector<int16_t> capture_;               // the WAV to send
  std::size_t capture_at_ = 0;
  std::vector<int16_t> played_;  // what was heard, for the WAV
};

}  // namespace hailer::cli
