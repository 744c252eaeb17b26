#include "host/speaker.hpp"

#include <algorithm>
#include <set>

#include "base/assert.hpp"
#include "media/audio_metrics.hpp"
#include "media/io/opus_codec.hpp"

namespace hailer {

namespace {
constexpr Duration frame_period = Duration::from_ms(20);
// A clock that fell further behind than this (a stalled process) skips ahead instead of
// playing a burst: the device would only drop it.
constexpr int max_catch_up_ticks = 10;
}  // namespace

Speaker::Turn::Turn(SessionId t, std::string r, JitterBufferConfig c, const AudioFormat& f)
    : talker(t), room(std::move(r)), playout(c, make_frame_decoder(f)) {}

Speaker::Speaker(JitterBufferConfig config) : config_(config) { mix_.resize(opus_frame_samples); }

void Speaker::open(Time now, const RouteSpeaker& route) {
  HAILER_ASSERT(route.open && !routed(route.talker));
  turns_.emplace_back(route.talker, route.room, config_, route.format);
  ++stats_.turns;
  if (!next_tick_) next_tick_ = now + frame_period;
}

Speaker::Turn* Speaker::current_turn(SessionId talker) {
  for (auto it = turns_.rbegin(); it != turns_.rend(); ++it) {
    if (it->talker == talker) return &*it;
  }
  return nullptr;
}

void Speaker::close(SessionId talker) {
  Turn* t = current_turn(talker);
  HAILER_ASSERT(t != nullptr && t->routed);
  t->routed = false;
  t->playout.end_of_stream();
}

bool Speaker::routed(SessionId talker) const {
  for (const Turn& t : turns_) {
    if (t.talker == talker && t.routed) return true;
  }
  return false;
}

std::set<SessionId> Speaker::routed_talkers() const {
  std::set<SessionId> out;
  for (const Turn& t : turns_) {
    if (t.routed) out.insert(t.talker);
  }
  return out;
}

void Speaker::record(SessionId talker, uint64_t recording) {
  Turn* t = current_turn(talker);
  HAILER_ASSERT(t != nullptr && t->routed && !t->recording);
  t->recording = recording;
}

void Speaker::stop_recording(SessionId talker, MediaSink& sink) {
  Turn* t = current_turn(talker);
  if (t == nullptr || !t->recording) return;
  sink.record_stop(*t->recording);
  t->recording.reset();
}

std::optional<SessionId> Speaker::talker_of(uint64_t recording) const {
  for (const Turn& t : turns_) {
    if (t.recording == recording) return t.talker;
  }
  return std::nullopt;
}

void Speaker::insert(Time now, SessionId talker, const PttFrame& frame) {
  Turn* t = current_turn(talker);
  HAILER_ASSERT(t != nullptr && t->routed);
  // Sequence numbers wrap at 2^16; the stream's timestamps must not.
  if (!t->have_sequence) {
    t->have_sequence = true;
    t->highest_raw = frame.sequence;
    t->highest_sequence = t->first_sequence = 0;
  }
  const int64_t ext = t->highest_sequence + sequence_delta(t->highest_raw, frame.sequence);
  if (ext > t->highest_sequence) {
    t->highest_sequence = ext;
    t->highest_raw = frame.sequence;
  }
  RtpHeader h;
  h.sequence = frame.sequence;
  h.timestamp = static_cast<uint32_t>((ext - t->first_sequence) * static_cast<int64_t>(opus_frame_samples));
  t->playout.insert(now, h, frame.payload);
  if (frame.last) t->playout.end_of_stream();
  ++stats_.frames_in;
}

std::optional<Time> Speaker::next_tick() const { return next_tick_; }

std::optional<StreamStats> Speaker::turn_stats(SessionId talker) {
  Turn* t = current_turn(talker);
  if (t == nullptr) return std::nullopt;
  StreamStats s = t->playout.stats();
  s.unplayed += t->playout.buffer().buffered_packets();  // as if the turn ended now
  return s;
}

void Speaker::tick(Time now, MediaSink& sink, std::vector<PlayedLevel>& levels) {
  for (int run = 0; next_tick_ && *next_tick_ <= now; ++run) {
    if (run == max_catch_up_ticks) {
      next_tick_ = now + frame_period;
      break;
    }
    if (run > 0) ++stats_.late_ticks;
    const Time at = *next_tick_;
    tick_once(at, sink, levels);
    next_tick_ = turns_.empty() ? std::nullopt : std::optional<Time>(at + frame_period);
  }
}

bool Speaker::finished(Turn& t) const { return !t.routed && !t.playout.playing() && t.playout.buffered_ms() == 0; }

void Speaker::tick_once(Time at, MediaSink& sink, std::vector<PlayedLevel>& levels) {
  ++stats_.ticks;
  std::fill(mix_.begin(), mix_.end(), int16_t{0});
  talkers_.clear();
  pcm_.clear();
  pcm_.reserve(turns_.size());
  std::set<std::string> rooms_playing;
  for (Turn& t : turns_) {
    if (!rooms_playing.insert(t.room).second) continue;  // an earlier turn of this room plays first
    PlayedFrame f = t.playout.pull(at);
    if (t.recording) {
      for (const auto& skipped : f.skipped) sink.record_append(*t.recording, skipped);
    }
    if (f.kind == PlayoutKind::silence) continue;
    ++stats_.frames_played;
    if (f.kind == PlayoutKind::concealed) ++stats_.frames_concealed;
    for (std::size_t i = 0; i < mix_.size(); ++i) {
      mix_[i] = static_cast<int16_t>(std::clamp(int32_t{mix_[i]} + int32_t{f.pcm[i]}, -32768, 32767));
    }
    if (t.recording) sink.record_append(*t.recording, f.pcm);
    if (t.routed) levels.push_back(PlayedLevel{t.talker, level_dbfs(f.pcm)});
    pcm_.push_back(std::move(f.pcm));
    talkers_.push_back(TalkerFrame{t.talker, f.kind, f.timestamp, pcm_.back()});
  }
  sink.play(SpeakerFrame{at, mix_, talkers_});
  for (auto it = turns_.begin(); it != turns_.end();) {
    if (!finished(*it)) {
      ++it;
      continue;
    }
    if (it->recording) sink.record_stop(*it->recording);
    sink.turn_ended(it->talker, it->playout.stats());
    it = turns_.erase(it);
  }
}

}  // namespace hailer
