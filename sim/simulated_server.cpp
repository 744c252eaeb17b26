#include "sim/simulated_server.hpp"

#include <set>

#include "base/assert.hpp"
#include "sim/simulated_client.hpp"
#include "sim/world.hpp"

namespace hailer::sim {

namespace {
HostConfig host_config(const Scenario& s) {
  HostConfig h;
  h.check_invariants = true;
  h.speaker_buffer = s.jitter_buffer;
  h.max_frames_per_second = s.transport.max_frames_per_second;
  h.max_sessions_per_address = s.transport.max_sessions_per_address;
  return h;
}
}  // namespace

SimulatedServer::SimulatedServer(World& w, const Config& config, uint64_t seed)
    : w_(w), secrets_(seed), host_(config, secrets_, host_config(w.scenario()), *this, *this) {
  host_.set_observer(this);
}

Time SimulatedServer::now() const { return w_.queue().now(); }

// ------------------------------------------------------------------ arrivals

void SimulatedServer::connect(uint64_t conn, const std::string& client, Time sent_at) {
  HAILER_ASSERT(!conns_.contains(conn));
  conns_[conn] = client;
  cause_ = sent_at;
  host_.opened(now(), SessionId{conn}, client);
  flush();
}

void SimulatedServer::text(uint64_t conn, const std::string& text, Time sent_at) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;  // we closed it; the peer's late bytes go nowhere
  w_.log_message(LoggedMessage{now().us, sent_at.us, it->second, "server", text});
  cause_ = sent_at;
  host_.text(now(), SessionId{conn}, text);
  flush();
}

void SimulatedServer::binary(uint64_t conn, const std::vector<uint8_t>& message, Time sent_at) {
  if (!conns_.contains(conn)) return;
  cause_ = sent_at;
  host_.binary(now(), SessionId{conn}, message);
  flush();
}

void SimulatedServer::datagram(const MediaEndpoint& from, const std::vector<uint8_t>& bytes, Time sent_at) {
  cause_ = sent_at;
  host_.datagram(now(), from, bytes);
  flush();
}

void SimulatedServer::tunnel_frame(uint64_t conn, const std::vector<uint8_t>& bytes, Time sent_at) {
  if (!conns_.contains(conn)) return;
  cause_ = sent_at;
  host_.frame(now(), SessionId{conn}, bytes);
  flush();
}

void SimulatedServer::peer_closed(uint64_t conn, CloseReason reason, Time sent_at) {
  if (conns_.erase(conn) == 0) return;  // already closed by us: the port reports one close
  budgets_.erase(conn);
  pending_.erase(conn);
  cause_ = sent_at;
  host_.closed(now(), SessionId{conn}, reason);
  flush();
}

void SimulatedServer::finish(Time end) {
  for (auto& [id, r] : recording_) {
    r.ended_us = end.us;
    finished_.push_back(std::move(r));
  }
  recording_.clear();
  for (auto& [talker, stream] : turns_) {
    if (auto stats = host_.turn_stats(talker)) stream->final_stats = *stats;
  }
}

// ------------------------------------------------------------------ HostPort

void SimulatedServer::send_text(SessionId to, std::string_view text) {
  auto shared = std::make_shared<const std::string>(text);  // held by the network until it arrives
  if (deferred_.holding()) return deferred_.text(to, std::move(shared));
  queue_out(to, shared);
}

void SimulatedServer::send_broadcast(std::span<const SessionId> to, const SharedText& text) {
  deferred_.broadcast(to, text);  // leaves in flush(), after what this event sent to single connections
}

// A message waits, as it would in a socket's queue, until the client reads it: bytes whose
// arrival is still ahead (a stalled or partitioned reader's) count against the slow-reader rule
// the real transports keep (host/transport_rules.hpp), with the line's newline, as on TCP. It
// goes onto the network when the connection is written (flush, or its close).
void SimulatedServer::queue_out(SessionId to, const SharedText& text) {
  auto it = conns_.find(to.value);
  if (it == conns_.end()) {
    HAILER_ASSERT(cut_.contains(to.value));  // the host sends only on what it opened and did not close
    return;                                  // cut by the port; the host hears of it in a moment
  }
  const uint64_t conn = to.value;
  if (!budgets_[conn].queue(text->size() + 1, w_.scenario().transport.max_outbound_bytes))
    return cut(conn, CloseReason::slow_reader);
  auto& queued = pending_[conn];
  queued.push_back(Pending{text, cause_});
  if (queued.size() == 1) dirty_.mark(conn);
}

// What an event sent leaves once the host has returned, as hailer-server writes it
// (host/write_order.hpp): connections newest first, then the broadcasts the event held, then
// the connections those reached.
void SimulatedServer::flush() {
  dirty_.flush([this](uint64_t conn) { write(conn); });
  if (!deferred_.holding()) return;
  deferred_.flush([this](SessionId to, const SharedText& text) { queue_out(to, text); });
  dirty_.flush([this](uint64_t conn) { write(conn); });
  HAILER_ASSERT(dirty_.empty() && !deferred_.holding());
}

// Puts every message waiting for `conn` onto its stream, in order.
void SimulatedServer::write(uint64_t conn) {
  auto p = pending_.find(conn);
  if (p == pending_.end()) return;  // written at its close, or cut
  auto queued = std::move(p->second);
  pending_.erase(p);
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  SimulatedClient* c = &w_.client(it->second);
  for (const Pending& m : queued) {
    const Time arrival = w_.network().stream(now(), "server", it->second, conn);
    w_.log_message(LoggedMessage{now().us, arrival.us, "server", it->second, *m.text});
    const std::size_t bytes = m.text->size() + 1;
    // The bytes the client reads: an attacker with swap_keys stands between (the log keeps what the server sent).
    auto text = m.text;
    if (w_.attacker() != nullptr) {
      if (std::string seen = w_.server_text_to(it->second, *m.text); seen != *m.text)
        text = std::make_shared<const std::string>(std::move(seen));
    }
    w_.queue().at(arrival, [this, c, conn, text, bytes, cause = m.cause] {
      if (auto b = budgets_.find(conn); b != budgets_.end()) b->second.drained(bytes);
      c->on_text(conn, *text, cause);
    });
  }
}

// The port closes a connection on its own (a slow reader), as NetServer's finish() does: the
// client sees the close, the host hears of it in a later event, never inside its own call.
void SimulatedServer::cut(uint64_t conn, CloseReason reason) {
  auto it = conns_.find(conn);
  HAILER_ASSERT(it != conns_.end());
  SimulatedClient* c = &w_.client(it->second);
  const Time arrival = w_.network().stream(now(), "server", it->second, conn);  // the reset, held as the data is
  w_.queue().at(arrival, [c, conn] { c->on_closed(conn); });
  conns_.erase(it);
  budgets_.erase(conn);
  pending_.erase(conn);  // what waited is lost with the connection, as on a reset
  cut_.insert(conn);
  w_.queue().at(now(), [this, conn, reason] {
    cause_ = now();
    host_.closed(now(), SessionId{conn}, reason);
    flush();
  });
}

// The port closes after what is queued (the stream keeps order), then reports the close to
// the host, as a socket layer would, in a later event: never from inside the host's call.
void SimulatedServer::close(SessionId session, CloseReason reason) {
  // What was sent before the close goes first, as hailer-server does: the held broadcasts are
  // released, and this connection's messages written ahead of its close.
  if (deferred_.holding()) deferred_.flush([this](SessionId to, const SharedText& text) { queue_out(to, text); });
  auto it = conns_.find(session.value);
  if (it == conns_.end()) {
    HAILER_ASSERT(cut_.contains(session.value));  // cut already: its close is on its way to the host
    return;
  }
  SimulatedClient* c = &w_.client(it->second);
  const uint64_t conn = session.value;
  write(conn);
  const Time arrival = w_.network().stream(now(), "server", it->second, conn);
  w_.queue().at(arrival, [c, conn] { c->on_closed(conn); });
  conns_.erase(it);
  budgets_.erase(session.value);
  pending_.erase(session.value);
  w_.queue().at(now(), [this, session, reason] {
    cause_ = now();
    host_.closed(now(), session, reason);
    flush();
  });
}

// A relayed packet leaves the UDP port for a client's address (its name) and port, across the
// simulated network; the client's NAT decides whether it gets in.
void SimulatedServer::send_datagram(const MediaEndpoint& to, std::span<const uint8_t> bytes) {
  SimulatedClient* c = w_.find_client(to.address);
  if (c == nullptr) return;
  std::vector<uint8_t> datagram(bytes.begin(), bytes.end());
  for (const Time t : w_.network().datagram(now(), "server", to.address)) {
    w_.queue().at(
        t, [c, port = to.port, datagram] { c->on_datagram("server", server_udp_port, port, datagram, nullptr); });
  }
}

// A relayed packet as a tunnel frame: on the connection's stream, in order with its messages
// (the stream's head-of-line blocking is the tunnel's cost).
void SimulatedServer::send_frame(SessionId to, std::span<const uint8_t> bytes) {
  auto it = conns_.find(to.value);
  if (it == conns_.end()) return;
  SimulatedClient* c = &w_.client(it->second);
  const uint64_t conn = to.value;
  const Time arrival = w_.network().stream(now(), "server", it->second, conn);
  w_.queue().at(arrival, [c, conn, frame = std::vector<uint8_t>(bytes.begin(), bytes.end())] {
    c->on_tunnel_frame(conn, frame);
  });
}

void SimulatedServer::arm_timer(std::optional<Time> at) {
  const uint64_t generation = ++timer_generation_;
  if (!at) return;
  w_.queue().at(std::max(*at, now()), [this, generation] {
    if (generation != timer_generation_) return;
    cause_ = now();  // a deadline causes what it fires
    host_.timer(now());
    flush();
  });
}

void SimulatedServer::play(const SpeakerFrame& frame) {
  for (const TalkerFrame& t : frame.talkers) {
    auto it = turns_.find(t.talker);
    if (it == turns_.end()) continue;
    it->second->played(frame.at, t.kind, t.timestamp, std::vector<int16_t>(t.pcm.begin(), t.pcm.end()));
  }
}

// Recordings are kept in memory: they never fail.
std::optional<RecordingStopReason> SimulatedServer::record_start(uint64_t recording, const std::string& room,
                                                                 const std::string& file_name) {
  recording_[recording] = Recording{file_name, room, now().us, -1, {}};
  return std::nullopt;
}

std::optional<RecordingStopReason> SimulatedServer::record_append(uint64_t recording, std::span<const int16_t> pcm) {
  auto& r = recording_.at(recording).pcm;
  r.insert(r.end(), pcm.begin(), pcm.end());
  return std::nullopt;
}

void SimulatedServer::record_stop(uint64_t recording) {
  auto it = recording_.find(recording);
  HAILER_ASSERT(it != recording_.end());
  it->second.ended_us = now().us;
  finished_.push_back(std::move(it->second));
  recording_.erase(it);
}

void SimulatedServer::turn_ended(SessionId talker, const StreamStats& stats) {
  auto it = turns_.find(talker);
  if (it == turns_.end()) return;
  it->second->final_stats = stats;
  turns_.erase(it);
}

// ------------------------------------------------------------------ HostObserver

void SimulatedServer::fed(Time, const Event&, std::span<const Effect> effects) {
  for (const Effect& e : effects) {
    const auto* route = std::get_if<RouteSpeaker>(&e);
    if (route == nullptr || !route->open) continue;
    // A new turn: measure it from the talker's first frame to the speaker.
    const std::string& who = conns_.at(route->talker.value);
    AudioStream& stream = w_.new_stream(who, "speaker");
    turns_[route->talker] = &stream;
    w_.client(who).set_turn_stream(&stream);
  }
  check_routes();
}

// The adapter's own invariants, from the core's views: the speaker admits exactly the floor
// holders (never two per room), and calls route media exactly between connected peers.
void SimulatedServer::check_routes() const {
  std::set<SessionId> holders;
  for (const auto& [room, holder] : host_.core().floor_holders()) {
    if (holder) holders.insert(*holder);
  }
  if (holders != host_.speaker_routes()) throw InvariantBroken("speaker routes differ from the floor holders");
  const Core& core = host_.core();
  for (const auto& [from, to] : host_.call_routes()) {
    if (core.presence(from) != PresenceState::in_call || core.call_peer(from) != to) {
      throw InvariantBroken("a media route outlived its call");
    }
  }
  for (const auto& [conn, name] : conns_) {
    const SessionId s{conn};
    if (core.presence(s) == PresenceState::in_call && !host_.call_routes().contains({s, *core.call_peer(s)})) {
      throw InvariantBroken("a connected call has no media route");
    }
  }
}

}  // namespace hailer::sim
