// Call audio in the simulator is decoded off the event loop. During the run a playout's decoder
// only notes what it was asked (decode this packet, rebuild from the next one's FEC, conceal)
// and answers a frame of zeros of the right length; a helper thread decodes the noted calls
// while the run goes on, and what is left is decoded at the end, legs in parallel. Nothing in
// a run reads decoded samples before its end, and a leg's decoder depends on nothing but its
// own calls, made in order by one thread at a time, so the PCM is exactly live decoding's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "media/io/frame_decoder.hpp"
#include "media/jitter_buffer.hpp"

namespace hailer::sim {

/// One call a playout made to its decoder.
struct DecodeCall {
  PlayoutKind kind = PlayoutKind::normal;  ///< normal = decode, fec = decode_fec, concealed = conceal
  std::vector<uint8_t> payload;            ///< the packet (normal) or the next packet (fec)
  int64_t played_at = -1;                  ///< sample offset of its frame in the heard track; -1: decoded, not played
};

/// The decoder calls of one leg, in the order they were made, and their decoding so far. The
/// run's thread adds and places calls; one decoding thread at a time decodes them.
class DecodeLog {
 public:
  /// A log whose calls are decoded for `format`.
  explicit DecodeLog(AudioFormat format);

  /// Notes a call (the run's thread).
  void add(PlayoutKind kind, std::span<const uint8_t> payload);
  /// The latest call's frame was played at sample `offset` of the heard track (the run's thread).
  void place_last(std::size_t offset);
  /// Calls noted so far.
  std::size_t size() const;
  /// Decodes up to `max_calls` calls not decoded yet; returns how many it decoded.
  std::size_t decode_some(std::size_t max_calls);
  /// Decodes what is left and writes each played frame into `track` at its offset (the track
  /// already holds a frame of zeros there). Once no other thread decodes this log.
  void finish(std::vector<int16_t>& track);

 private:
  mutable std::mutex mutex_;  // guards calls_ (the run appends while a helper copies)
  std::vector<DecodeCall> calls_;
  std::unique_ptr<FrameDecoder> decoder_;  // touched by the decoding thread only
  std::vector<int16_t> decoded_;           // call i's frame at i * 960, by the decoding thread only
};

/// A FrameDecoder that only notes its calls in a log and answers zeros (20 ms at 48 kHz).
class DeferredDecoder : public FrameDecoder {
 public:
  /// A decoder writing to `log`.
  explicit DeferredDecoder(std::shared_ptr<DecodeLog> log);

  std::vector<int16_t> decode(std::span<const uint8_t> payload) override;
  std::vector<int16_t> decode_fec(std::span<const uint8_t> next_payload) override;
  std::vector<int16_t> conceal() override;

 private:
  std::shared_ptr<DecodeLog> log_;
};

/// Decodes the logs of a run on a helper thread while the run goes on.
class BackgroundDecoding {
 public:
  BackgroundDecoding() = default;
  ~BackgroundDecoding();
  BackgroundDecoding(const BackgroundDecoding&) = delete;
  BackgroundDecoding& operator=(const BackgroundDecoding&) = delete;

  /// A new leg's log, to decode from now on (starts the helper with the first one).
  void add(std::shared_ptr<DecodeLog> log);
  /// Stops the helper; rethrows what it threw. After it, the logs are free for finish().
  void stop();

 private:
  void work(const std::stop_token& stop);
  std::vector<std::shared_ptr<DecodeLog>> snapshot();

  std::mutex mutex_;                  // guards logs_ and failure_
  std::condition_variable_any wake_;  // never notified: the helper's idle pause, cut short by stop()
  std::vector<std::shared_ptr<DecodeLog>> logs_;
  std::exception_ptr failure_;
  std::jthread helper_;
};

}  // namespace hailer::sim
