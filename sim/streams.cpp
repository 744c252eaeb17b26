#include "sim/streams.hpp"

namespace hailer::sim {

void AudioStream::played(Time now, PlayoutKind kind, uint32_t timestamp, const std::vector<int16_t>& pcm) {
  if (decode_log) decode_log->place_last(received.size());  // the frame just pulled is decoded after the run
  received.insert(received.end(), pcm.begin(), pcm.end());
  loss_trace.push_back(kind == PlayoutKind::concealed);
  if (kind == PlayoutKind::concealed) concealed_at_ms.push_back(now.ms());
  if (kind != PlayoutKind::normal) return;
  if (first_played_us < 0) first_played_us = now.us;
  if (auto c = capture_time.find(timestamp); c != capture_time.end()) {
    m2e_us.push_back((now - c->second).us);
    capture_time.erase(c);
  }
}

}  // namespace hailer::sim
