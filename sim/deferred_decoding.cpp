#include "sim/deferred_decoding.hpp"

#include <algorithm>
#include <chrono>

#include "base/assert.hpp"
#include "media/io/opus_codec.hpp"

namespace hailer::sim {

namespace {
constexpr std::size_t helper_batch_calls = 50;  // a second of one leg per turn, so legs advance together
constexpr auto helper_idle_wait = std::chrono::milliseconds(1);
}  // namespace

DecodeLog::DecodeLog(AudioFormat format) : decoder_(make_frame_decoder(format)) {}

void DecodeLog::add(PlayoutKind kind, std::span<const uint8_t> payload) {
  HAILER_ASSERT(kind == PlayoutKind::normal || kind == PlayoutKind::fec || kind == PlayoutKind::concealed);
  DecodeCall call{kind, std::vector<uint8_t>(payload.begin(), payload.end()), -1};
  const std::lock_guard lock(mutex_);
  calls_.push_back(std::move(call));
}

void DecodeLog::place_last(std::size_t offset) {
  HAILER_ASSERT(offset % opus_frame_samples == 0);
  const std::lock_guard lock(mutex_);
  HAILER_ASSERT(!calls_.empty());
  HAILER_ASSERT(calls_.back().played_at == -1);
  calls_.back().played_at = static_cast<int64_t>(offset);
}

std::size_t DecodeLog::size() const {
  const std::lock_guard lock(mutex_);
  return calls_.size();
}

std::size_t DecodeLog::decode_some(std::size_t max_calls) {
  const std::size_t first = decoded_.size() / opus_frame_samples;
  std::vector<DecodeCall> todo;
  {
    const std::lock_guard lock(mutex_);
    const std::size_t last = std::min(calls_.size(), first + max_calls);
    for (std::size_t i = first; i < last; ++i) todo.push_back(DecodeCall{calls_[i].kind, calls_[i].payload, -1});
  }
  for (const DecodeCall& c : todo) {
    std::vector<int16_t> pcm;
    switch (c.kind) {
      case PlayoutKind::normal:
        pcm = decoder_->decode(c.payload);
        break;
      case PlayoutKind::fec:
        pcm = decoder_->decode_fec(c.payload);
        break;
      case PlayoutKind::concealed:
        pcm = decoder_->conceal();
        break;
      case PlayoutKind::silence:
        HAILER_ASSERT(false && "silence is never decoded");
    }
    HAILER_ASSERT(pcm.size() == opus_frame_samples);
    decoded_.insert(decoded_.end(), pcm.begin(), pcm.end());
  }
  return todo.size();
}

void DecodeLog::finish(std::vector<int16_t>& track) {
  while (decode_some(helper_batch_calls) > 0) {
  }
  const std::lock_guard lock(mutex_);
  HAILER_ASSERT(decoded_.size() == calls_.size() * opus_frame_samples);
  for (std::size_t i = 0; i < calls_.size(); ++i) {
    if (calls_[i].played_at < 0) continue;
    const auto at = static_cast<std::size_t>(calls_[i].played_at);
    HAILER_ASSERT(at + opus_frame_samples <= track.size());
    const auto from = decoded_.begin() + static_cast<std::ptrdiff_t>(i * opus_frame_samples);
    std::copy(from, from + static_cast<std::ptrdiff_t>(opus_frame_samples),
              track.begin() + static_cast<std::ptrdiff_t>(at));
  }
}

DeferredDecoder::DeferredDecoder(std::shared_ptr<DecodeLog> log) : log_(std::move(log)) {
  HAILER_ASSERT(log_ != nullptr);
}

std::vector<int16_t> DeferredDecoder::decode(std::span<const uint8_t> payload) {
  log_->add(PlayoutKind::normal, payload);
  return std::vector<int16_t>(opus_frame_samples, 0);
}

std::vector<int16_t> DeferredDecoder::decode_fec(std::span<const uint8_t> next_payload) {
  log_->add(PlayoutKind::fec, next_payload);
  return std::vector<int16_t>(opus_frame_samples, 0);
}

std::vector<int16_t> DeferredDecoder::conceal() {
  log_->add(PlayoutKind::concealed, {});
  return std::vector<int16_t>(opus_frame_samples, 0);
}

BackgroundDecoding::~BackgroundDecoding() {
  if (helper_.joinable()) {
    helper_.request_stop();
    helper_.join();
  }
}

void BackgroundDecoding::add(std::shared_ptr<DecodeLog> log) {
  HAILER_ASSERT(log != nullptr);
  {
    const std::lock_guard lock(mutex_);
    logs_.push_back(std::move(log));
  }
  // One helper beside the run's thread: on a single core it would only take turns with it.
  if (!helper_.joinable() && std::thread::hardware_concurrency() > 1) {
    helper_ = std::jthread([this](const std::stop_token& stop) { work(stop); });
  }
}

std::vector<std::shared_ptr<DecodeLog>> BackgroundDecoding::snapshot() {
  const std::lock_guard lock(mutex_);
  return logs_;
}

void BackgroundDecoding::work(const std::stop_token& stop) {
  try {
    while (!stop.stop_requested()) {
      std::size_t decoded = 0;
      for (const auto& log : snapshot()) decoded += log->decode_some(helper_batch_calls);
      if (decoded == 0) {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, stop, helper_idle_wait, [] { return false; });
      }
    }
  } catch (...) {
    const std::lock_guard lock(mutex_);
    failure_ = std::current_exception();
  }
}

void BackgroundDecoding::stop() {
  if (helper_.joinable()) {
    helper_.request_stop();
    helper_.join();
  }
  const std::lock_guard lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

}  // namespace hailer::sim
