#include "adapters/recorder.hpp"

#include <sndfile.h>

#include <filesystem>
#include <regex>
#include <stdexcept>

namespace hailer {

uint64_t next_recording_serial(const std::string& dir) {
  uint64_t highest = 0;
  std::error_code ec;
  static const std::regex pattern(R"(^.+_([0-9]{1,18})\.wav$)");
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, pattern)) highest = std::max<uint64_t>(highest, std::stoull(m[1].str()));
  }
  return highest + 1;
}

struct Recorder::Open {
  SNDFILE* file = nullptr;
  ~Open() {
    if (file != nullptr) sf_close(file);
  }
};

Recorder::Recorder(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (!std::filesystem::is_directory(dir_)) throw std::runtime_error("cannot create the recordings folder " + dir_);
}

Recorder::~Recorder() = default;

bool Recorder::start(uint64_t id, const std::string& file_name) {
  if (file_name.empty() || file_name.find('/') != std::string::npos || file_name.front() == '.') return false;
  SF_INFO info{};
  info.samplerate = 48'000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  auto open = std::make_unique<Open>();
  open->file = sf_open((dir_ + "/" + file_name).c_str(), SFM_WRITE, &info);
  if (open->file == nullptr) return false;
  // Rewrite the header after every write: a crash leaves a file that says how long it is.
  sf_command(open->file, SFC_SET_UPDATE_HEADER_AUTO, nullptr, SF_TRUE);
  open_[id] = std::move(open);
  return true;
}

void Recorder::append(uint64_t id, std::span<const int16_t> pcm) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  sf_write_short(it->second->file, pcm.data(), static_cast<sf_count_t>(pcm.size()));
}

void Recorder::stop(uint64_t id) { open_.erase(id); }

}  // namespace hailer
