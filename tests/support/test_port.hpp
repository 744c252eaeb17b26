// A HostPort and MediaSink that records what the host does, for tests of the server host: texts per
// connection, closes with reasons, the armed timer, speaker frames and recordings.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "host/server_host.hpp"
#include "protocol/codec.hpp"

namespace hailer::test {

/// Records every call the host makes on its port and its media sink (one object for both).
class TestPort : public HostPort, public MediaSink {
 public:
  std::map<SessionId, std::vector<std::string>> texts;          ///< per connection, in order
  std::map<SessionId, std::vector<const std::string*>> shared;  ///< a broadcast's shared buffer (null: sent alone)
  std::vector<std::pair<SessionId, CloseReason>> closes;
  std::optional<Time> timer;
  std::vector<SpeakerFrame> frames;             ///< spans are invalid after play()
  std::vector<std::vector<int16_t>> mixes;      ///< each played mix, copied
  std::vector<std::vector<SessionId>> talkers;  ///< who was in each played frame
  std::vector<std::vector<PlayoutKind>> kinds;  ///< how each talker's frame was made
  std::vector<Time> played_at;
  std::map<uint64_t, std::string> recording_files;
  std::map<uint64_t, std::vector<int16_t>> recorded;
  std::vector<uint64_t> recordings_stopped;
  std::vector<std::pair<SessionId, StreamStats>> turns;

  void send_text(SessionId to, std::string_view text) override {
    texts[to].emplace_back(text);
    shared[to].push_back(nullptr);
  }
  void send_broadcast(std::span<const SessionId> to, const SharedText& text) override {
    for (SessionId s : to) {
      texts[s].push_back(*text);
      shared[s].push_back(text.get());
    }
    keep.push_back(text);
  }
  std::vector<SharedText> keep;  ///< keeps the shared buffers alive so their addresses stay unique
  void close(SessionId session, CloseReason reason) override { closes.emplace_back(session, reason); }
  void arm_timer(std::optional<Time> at) override { timer = at; }
  std::vector<std::pair<MediaEndpoint, std::vector<uint8_t>>> datagrams;  ///< sent from the UDP port, in order
  void send_datagram(const MediaEndpoint& to, std::span<const uint8_t> bytes) override {
    datagrams.emplace_back(to, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  std::vector<std::pair<SessionId, std::vector<uint8_t>>> tunnel_frames;  ///< tunnel frames sent, in order
  void send_frame(SessionId to, std::span<const uint8_t> bytes) override {
    tunnel_frames.emplace_back(to, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  void play(const SpeakerFrame& frame) override {
    mixes.emplace_back(frame.mix.begin(), frame.mix.end());
    std::vector<SessionId> who;
    std::vector<PlayoutKind> how;
    for (const auto& t : frame.talkers) {
      who.push_back(t.talker);
      how.push_back(t.kind);
    }
    talkers.push_back(who);
    kinds.push_back(how);
    played_at.push_back(frame.at);
  }
  /// A recorder that refuses: every start and append answers this (nothing: records).
  std::optional<RecordingStopReason> refuse_recordings;
  std::optional<RecordingStopReason> record_start(uint64_t id, const std::string&, const std::string& file) override {
    recording_files[id] = file;
    return refuse_recordings;
  }
  std::optional<RecordingStopReason> record_append(uint64_t id, std::span<const int16_t> pcm) override {
    recorded[id].insert(recorded[id].end(), pcm.begin(), pcm.end());
    return refuse_recordings;
  }
  void record_stop(uint64_t id) override { recordings_stopped.push_back(id); }
  void turn_ended(SessionId talker, const StreamStats& stats) override { turns.emplace_back(talker, stats); }

  /// The messages sent to `s`, decoded (replies as if to any request kind `kind`).
  std::vector<ServerMessage> messages(SessionId s, ReplyKind kind = ReplyKind::none) const {
    std::vector<ServerMessage> out;
    auto it = texts.find(s);
    if (it == texts.end()) return out;
    for (const auto& t : it->second) {
      auto r = decode_server_message(t, any_reply_is(kind));
      if (auto* m = std::get_if<ServerMessage>(&r)) out.push_back(*m);
    }
    return out;
  }
  /// Messages of type T sent to `s`.
  template <typename T>
  std::vector<T> sent(SessionId s, ReplyKind kind = ReplyKind::none) const {
    std::vector<T> out;
    for (const auto& m : messages(s, kind)) {
      if (const auto* t = std::get_if<T>(&m)) out.push_back(*t);
    }
    return out;
  }
};

}  // namespace hailer::test
