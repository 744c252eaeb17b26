#include "media/io/wav_file.hpp"

#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>

namespace hailer {

namespace {
constexpr sf_count_t max_frames = 48'000LL * 3600;  // one hour: a limit on memory

std::vector<float> read_mono_float(const std::string& path, uint32_t& rate) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr) throw WavError("cannot read " + path + ": " + sf_strerror(nullptr));
  if (info.channels < 1 || info.samplerate < 8000 || info.samplerate > 192000 || info.frames > max_frames) {
    sf_close(f);
    throw WavError("unsupported audio in " + path + " (channels, rate 8-192 kHz, or longer than an hour)");
  }
  std::vector<float> interleaved(static_cast<std::size_t>(info.frames * info.channels));
  const sf_count_t got = sf_readf_float(f, interleaved.data(), info.frames);
  sf_close(f);
  std::vector<float> mono(static_cast<std::size_t>(got));
  for (std::size_t i = 0; i < mono.size(); ++i) {
    float sum = 0;
    for (int c = 0; c < info.channels; ++c)
      sum += interleaved[i * static_cast<std::size_t>(info.channels) + static_cast<std::size_t>(c)];
    mono[i] = sum / static_cast<float>(info.channels);
  }
  rate = static_cast<uint32_t>(info.samplerate);
  return mono;
}

std::vector<float> resample_to_48k(std::vector<float> in, uint32_t rate) {
  if (rate == 48'000 || in.empty()) return in;
  const double ratio = 48'000.0 / rate;
  std::vector<float> out(static_cast<std::size_t>(std::ceil(static_cast<double>(in.size()) * ratio)) + 16);
  SRC_DATA data{};
  data.data_in = in.data();
  data.input_frames = static_cast<long>(in.size());
  data.data_out = out.data();
  data.output_frames = static_cast<long>(out.size());
  data.src_ratio = ratio;
  const int rc = src_simple(&data, SRC_SINC_MEDIUM_QUALITY, 1);
  if (rc != 0) throw WavError(std::string("resampling failed: ") + src_strerror(rc));
  out.resize(static_cast<std::size_t>(data.output_frames_gen));
  return out;
}
}  // namespace

int16_t float_to_int16(float sample) {
  const float clamped = std::clamp(sample, -1.0f, 1.0f);
  return static_cast<int16_t>(std::lround(clamped * 32767.0f));
}

Pcm read_wav_48k_mono(const std::string& path) {
  uint32_t rate = 0;
  std::vector<float> raw = read_mono_float(path, rate);  // sets `rate`: keep it a separate statement
  const std::vector<float> mono = resample_to_48k(std::move(raw), rate);
  Pcm pcm;
  pcm.samples.reserve(mono.size());
  for (float s : mono) pcm.samples.push_back(float_to_int16(s));
  return pcm;
}

void write_wav(const std::string& path, std::span<const int16_t> samples, uint32_t sample_rate_hz) {
  SF_INFO info{};
  info.samplerate = static_cast<int>(sample_rate_hz);
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (f == nullptr) throw WavError("cannot write " + path + ": " + sf_strerror(nullptr));
  const sf_count_t wrote = sf_write_short(f, samples.data(), static_cast<sf_count_t>(samples.size()));
  sf_close(f);
  if (wrote != static_cast<sf_count_t>(samples.size())) throw WavError("short write to " + path);
}

}  // namespace hailer
