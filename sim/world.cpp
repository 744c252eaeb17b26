#include "world.hpp"

#include <cmath>
#include <set>

#include "adapters/wav_file.hpp"
#include "core/assert.hpp"
#include "core/audio_metrics.hpp"
#include "core/codec.hpp"

namespace hailer::sim {

namespace {
constexpr Duration frame_period = Duration::from_ms(20);
constexpr uint64_t max_events_per_run = 200'000'000;  // a bound on every run, whatever the scenario

std::vector<uint8_t> pcm_to_bytes(std::span<const int16_t> pcm) {
  std::vector<uint8_t> b(pcm.size() * 2);
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    const auto u = static_cast<uint16_t>(pcm[i]);
    b[2 * i] = static_cast<uint8_t>(u & 0xFF);  // little-endian, as a browser's Int16Array
    b[2 * i + 1] = static_cast<uint8_t>(u >> 8);
  }
  return b;
}

std::vector<int16_t> bytes_to_pcm(std::span<const uint8_t> b) {
  std::vector<int16_t> pcm(b.size() / 2);
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = static_cast<int16_t>(static_cast<uint16_t>(b[2 * i] | (b[2 * i + 1] << 8)));
  }
  return pcm;
}

}  // namespace

// ======================================================================= the server adapter

/// The server side: the real core, and what an adapter does with its effects.
class Server {
 public:
  Server(World& w, const Config& config) : w_(w), core_(config) {}

  const Core& core() const { return core_; }
  std::vector<Recording> finished;

  void on_open(uint64_t conn, const std::string& client) {
    conns_[conn] = client;
    feed(SessionOpened{SessionId{conn}, client});
  }

  void on_text(uint64_t conn, const std::string& text) {
    if (!conns_.contains(conn)) return;  // we closed it; the peer's late bytes go nowhere
    auto decoded = decode_request(text, core_.config().max_message_bytes);
    if (auto* r = std::get_if<Request>(&decoded)) feed(RequestReceived{SessionId{conn}, std::move(*r)});
    else feed(BadRequest{SessionId{conn}, std::get<DecodeError>(decoded)});
  }

  void on_peer_closed(uint64_t conn) {
    if (conns_.erase(conn) == 0) return;  // already closed by us
    feed(SessionClosed{SessionId{conn}});
  }

  // A PTT frame: admitted (decoded, recorded, played) only on an open speaker route.
  void on_audio(uint64_t conn, uint16_t seq, const std::vector<uint8_t>& payload, AudioCodec codec, Time capture,
                const std::vector<int16_t>& spoken) {
    if (!conns_.contains(conn)) return;
    auto t = talkers_.find(conn);
    if (!speaker_routes_.contains(conn) || t == talkers_.end()) {
      feed(AudioFrame{SessionId{conn}, -100});  // the core counts it; nothing is played
      return;
    }
    AudioStream& s = *t->second.stream;
    std::vector<int16_t> pcm;
    if (codec == AudioCodec::opus) {
      if (!s.decoder) s.decoder = std::make_unique<OpusFrameDecoder>();
      pcm = s.decoder->decode(payload);
    } else {
      pcm = bytes_to_pcm(payload);
    }
    s.sent.insert(s.sent.end(), spoken.begin(), spoken.end());
    if (auto r = recording_.find(conn); r != recording_.end()) r->second.pcm.insert(r->second.pcm.end(), pcm.begin(), pcm.end());
    RtpHeader h;
    h.sequence = seq;
    h.timestamp = static_cast<uint32_t>(seq) * static_cast<uint32_t>(opus_frame_samples);
    s.capture_time[h.timestamp] = capture;
    s.jitter.insert(w_.queue().now(), h, pcm_to_bytes(pcm));
    feed(AudioFrame{SessionId{conn}, level_dbfs(pcm)});
    start_speaker();
  }

  void finish(Time end) {
    for (auto& [conn, r] : recording_) {
      r.ended_us = end.us;
      finished.push_back(std::move(r));
    }
    recording_.clear();
  }

 private:
  void feed(const Event& e) {
    out_.clear();
    core_.handle(w_.queue().now(), e, out_);
    core_.check_invariants();
    std::vector<Effect> effects;
    effects.swap(out_);
    for (const Effect& effect : effects) apply(effect);
    check_routes();
    schedule_timer();
  }

  // The adapter's own invariant: the speaker plays exactly the floor holders, never two per room.
  void check_routes() const {
    std::set<uint64_t> holders;
    for (const auto& [room, holder] : core_.floor_holders()) {
      if (holder) holders.insert(holder->value);
    }
    if (holders != speaker_routes_) throw InvariantBroken("speaker routes differ from the floor holders");
  }

  void schedule_timer() {
    const auto deadline = core_.next_deadline();
    if (!deadline || (timer_at_ && *timer_at_ <= *deadline)) return;
    const Time at = std::max(*deadline, w_.queue().now());
    timer_at_ = at;
    w_.queue().at(at, [this, at] {
      if (timer_at_ == at) timer_at_.reset();
      feed(TimerFired{});
    });
  }

  void apply(const Effect& effect) {
    if (const auto* m = std::get_if<SendMessage>(&effect)) return deliver(m->to.value, encode(m->message));
    if (const auto* c = std::get_if<CloseSession>(&effect)) return close(c->session.value);
    if (const auto* r = std::get_if<RouteMedia>(&effect)) return route(*r);
    if (const auto* s = std::get_if<StartRecording>(&effect)) {
      recording_[s->session.value] = Recording{s->file_name, s->room, w_.queue().now().us, -1, {}};
      return;
    }
    if (const auto* s = std::get_if<StopRecording>(&effect)) {
      auto it = recording_.find(s->session.value);
      HAILER_ASSERT(it != recording_.end());
      it->second.ended_us = w_.queue().now().us;
      finished.push_back(std::move(it->second));
      recording_.erase(it);
    }
  }

  void deliver(uint64_t conn, std::string text);
  void close(uint64_t conn);

  void route(const RouteMedia& r) {
    if (r.to_peer) return;  // calls media is peer-to-peer; clients admit only their peer
    if (r.open) {
      speaker_routes_.insert(r.from.value);
      AudioStream& s = w_.new_stream(conns_.at(r.from.value), "speaker");
      talkers_[r.from.value] = Talker{&s};
    } else {
      speaker_routes_.erase(r.from.value);
      // The turn is over: what is buffered still plays, then silence, not concealment.
      if (auto t = talkers_.find(r.from.value); t != talkers_.end()) t->second.stream->jitter.end_of_stream();
    }
  }

  void start_speaker() {
    if (speaker_running_) return;
    speaker_running_ = true;
    w_.queue().after(frame_period, [this] { speaker_tick(); });
  }

  // The instructor's speaker: one playout clock pulling every talker's buffer.
  void speaker_tick() {
    const Time now = w_.queue().now();
    for (auto it = talkers_.begin(); it != talkers_.end();) {
      AudioStream& s = *it->second.stream;
      const Playout p = s.jitter.pull(now);
      if (p.kind == PlayoutKind::normal) {
        const auto pcm = bytes_to_pcm(p.payload);
        s.received.insert(s.received.end(), pcm.begin(), pcm.end());
        if (auto c = s.capture_time.find(p.timestamp); c != s.capture_time.end()) {
          s.m2e_us.push_back((now - c->second).us);
          s.capture_time.erase(c);
        }
        s.loss_trace.push_back(false);
      } else if (p.kind == PlayoutKind::concealed) {
        s.received.insert(s.received.end(), opus_frame_samples, 0);
        s.loss_trace.push_back(true);
        s.concealed_at_ms.push_back(now.ms());
      }
      const bool done = !speaker_routes_.contains(it->first) && !s.jitter.playing() && s.jitter.buffered_ms() == 0;
      it = done ? talkers_.erase(it) : std::next(it);
    }
    if (talkers_.empty()) {
      speaker_running_ = false;
      return;
    }
    w_.queue().after(frame_period, [this] { speaker_tick(); });
  }

  struct Talker {
    AudioStream* stream = nullptr;
  };

  World& w_;
  Core core_;
  std::vector<Effect> out_;
  std::map<uint64_t, std::string> conns_;  // open connections -> client name
  std::set<uint64_t> speaker_routes_;
  std::map<uint64_t, Talker> talkers_;
  std::map<uint64_t, Recording> recording_;
  std::optional<Time> timer_at_;
  bool speaker_running_ = false;
};

// ======================================================================= a simulated client

/// A participant: speaks the protocol, follows its steps, sends and plays audio.
class Client {
 public:
  Client(World& w, const Participant& p) : w_(w), p_(p), rng_(derive_seed(w.scenario().seed, "participant:" + p.name)) {
    if (!p_.audio.empty()) {
      source_ = &w_.audio_source(p_.audio);
      if (p_.face == Face::calls || p_.codec == AudioCodec::opus) packets_ = &w_.encoded_source(p_.audio);
    }
  }

  const Participant& participant() const { return p_; }

  void start() {
    connect();
    hello();
  }

  void do_step(const Step& s) {
    const std::string& a = s.action;
    if (a == "connect") return connect();
    if (a == "disconnect") return disconnect();
    if (a == "reconnect") {
      disconnect();
      connect();
      return hello();
    }
    if (conn_ == 0) return w_.record_notice(Notice{now().us, p_.name, "skipped", {{"step", a}}});
    if (a == "register" || a == "join") return hello();
    if (a == "call") {
      CallRequest q{s.args.at("to").get<std::string>(), std::nullopt};
      if (s.args.contains("auto_connect")) q.auto_connect = s.args.at("auto_connect").get<bool>();
      return send(q);
    }
    std::optional<uint64_t> call_id;
    if (s.args.contains("call_id")) call_id = s.args.at("call_id").get<uint64_t>();
    if (a == "accept") return send(AcceptRequest{call_id});
    if (a == "reject") return send(RejectRequest{call_id});
    if (a == "hangup") return send(HangupRequest{});
    if (a == "cancel") return send(CancelRequest{});
    if (a == "cancel_wait") return send(CancelWaitRequest{});
    if (a == "missed") return send(MissedRequest{});
    if (a == "who") return send(WhoRequest{});
    if (a == "ping") return send(PingRequest{});
    if (a == "press") return send(PressRequest{});
    if (a == "release") {
      stop_talking();  // the last frame goes out before the release, on the same stream
      return send(ReleaseRequest{});
    }
    if (a == "revoke") return send(RevokeRequest{});
    if (a == "set_policy") {
      return send(SetPolicyRequest{s.args.at("policy").get<std::string>() == "queue" ? FloorPolicy::queue : FloorPolicy::deny});
    }
    if (a == "raw") return send_text(s.args.at("text").get<std::string>());
    HAILER_ASSERT(false && "the scenario parser admits only known actions");
  }

  // A fault cut the connection: the server notices after the link latency, we at once.
  void cut() {
    if (conn_ == 0) return;
    const uint64_t conn = conn_;
    const Time arrival = w_.network().stream(now(), p_.name, "server", conn);
    w_.queue().at(arrival, [this, conn] { w_.server().on_peer_closed(conn); });
    lose_connection();
  }

  void on_text(uint64_t conn, const std::string& text) {
    if (conn != conn_) return;  // a message for a connection we already left
    auto message = decode_server_message(text);
    if (!message) throw InvariantBroken("the server sent a message that does not decode: " + text);
    w_.record_notice(Notice{now().us, p_.name, std::string(message_type(*message)), nlohmann::json::parse(text)});
    react(*message);
  }

  void on_closed(uint64_t conn) {
    if (conn != conn_) return;
    lose_connection();
  }

  void on_rtp(const std::string& from, const std::vector<uint8_t>& datagram, Time capture, AudioStream* stream) {
    if (!in_call_ || from != peer_) {  // only the current peer's media is played
      ++stream->dropped_foreign;
      return;
    }
    const auto packet = rtp_parse(datagram);
    if (!packet) return;
    in_stream_ = stream;
    stream->capture_time[packet->header.timestamp] = capture;
    stream->jitter.insert(now(), packet->header, packet->payload);
  }

 private:
  Time now() const { return w_.queue().now(); }

  void connect() {
    if (conn_ != 0) return;
    conn_ = w_.next_connection();
    const uint64_t conn = conn_;
    const Time arrival = w_.network().stream(now(), p_.name, "server", conn);
    w_.queue().at(arrival, [this, conn] { w_.server().on_open(conn, p_.name); });
    if (p_.auto_ping) schedule_ping(conn);
  }

  void disconnect() {
    if (conn_ == 0) return;
    const uint64_t conn = conn_;
    const Time arrival = w_.network().stream(now(), p_.name, "server", conn);
    w_.queue().at(arrival, [this, conn] { w_.server().on_peer_closed(conn); });
    lose_connection();
  }

  void lose_connection() {
    w_.record_notice(Notice{now().us, p_.name, "disconnected", nlohmann::json::object()});
    conn_ = 0;
    stop_media();
    stop_talking();
    pending_.clear();
  }

  void hello() {
    if (p_.face == Face::calls) return send(RegisterRequest{protocol_version, p_.name, 5004});
    send(JoinRequest{protocol_version, p_.name, p_.room, p_.role, p_.codec, 48'000, p_.token});
  }

  void send(RequestBody body) {
    const Request r{next_id_++, std::move(body)};
    pending_[r.id] = now();
    send_text(encode_request(r));
  }

  void send_text(std::string text) {
    if (conn_ == 0) return;
    const uint64_t conn = conn_;
    const Time arrival = w_.network().stream(now(), p_.name, "server", conn);
    w_.queue().at(arrival, [this, conn, text = std::move(text)] { w_.server().on_text(conn, text); });
  }

  void schedule_ping(uint64_t conn) {
    w_.queue().after(Duration::from_ms(p_.ping_interval_ms), [this, conn] {
      if (conn != conn_) return;
      send(PingRequest{});
      schedule_ping(conn);
    });
  }

  void react(const ServerMessage& m) {
    if (const auto* ok = std::get_if<OkReply>(&m)) return settle(ok->id);
    if (const auto* err = std::get_if<ErrorReply>(&m)) {
      if (err->id) settle(*err->id);
      return;
    }
    if (const auto* r = std::get_if<CallRinging>(&m)) {
      call_id_ = r->call_id;
      peer_ = r->peer;
      if (r->role == CallRole::callee && p_.auto_accept_ms) {
        const uint64_t id = r->call_id;
        w_.queue().after(Duration::from_ms(*p_.auto_accept_ms), [this, id] {
          if (call_id_ == id && !in_call_) send(AcceptRequest{id});
        });
      }
      return;
    }
    if (const auto* c = std::get_if<CallConnected>(&m)) return start_media(*c);
    if (std::holds_alternative<CallEnded>(m)) {
      call_id_.reset();
      return stop_media();
    }
    if (const auto* a = std::get_if<CalleeAvailable>(&m)) {
      if (!a->auto_connect && p_.auto_recall_ms) {
        const std::string callee = a->callee;
        w_.queue().after(Duration::from_ms(*p_.auto_recall_ms), [this, callee] {
          if (conn_ != 0 && !call_id_) send(CallRequest{callee, std::nullopt});
        });
      }
      return;
    }
    if (std::holds_alternative<FloorGranted>(m)) return start_talking();
    if (std::holds_alternative<FloorRevoked>(m)) return stop_talking();
  }

  void settle(uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    w_.record_rtt((now() - it->second).us);
    pending_.erase(it);
  }

  // The next 20 ms of the looping source: its samples and its Opus packet (or silence).
  struct Frame {
    std::vector<int16_t> pcm;
    const std::vector<uint8_t>* packet = nullptr;
  };
  Frame next_frame() {
    Frame f;
    if (source_ == nullptr || source_->empty()) {
      f.pcm.assign(opus_frame_samples, 0);
      f.packet = &silence_packet();
      return f;
    }
    const std::size_t frames = source_->size() / opus_frame_samples;
    const std::size_t k = source_frame_++ % frames;
    f.pcm.assign(source_->begin() + static_cast<std::ptrdiff_t>(k * opus_frame_samples),
                 source_->begin() + static_cast<std::ptrdiff_t>((k + 1) * opus_frame_samples));
    if (packets_ != nullptr) f.packet = &(*packets_)[k];
    return f;
  }

  // A participant without audio sends encoded silence (a real encoder's output for zeros).
  const std::vector<uint8_t>& silence_packet() {
    if (silence_.empty()) {
      OpusFrameEncoder encoder(w_.scenario().opus);
      const std::vector<int16_t> zeros(opus_frame_samples, 0);
      silence_ = encoder.encode(zeros);
    }
    return silence_;
  }

  // ---------------------------------------------------------------- calls media (RTP over UDP)

  void start_media(const CallConnected& c) {
    stop_media();
    in_call_ = true;
    peer_ = c.peer;
    peer_address_ = c.peer_media.address;
    if (source_ != nullptr) {
      out_stream_ = &w_.new_stream(p_.name, c.peer);
      rtp_.emplace(static_cast<uint32_t>(rng_.next()), static_cast<uint16_t>(rng_.next()),
                   static_cast<uint32_t>(rng_.next()), static_cast<uint32_t>(opus_frame_samples));
      first_packet_ = true;
    }
    const uint64_t gen = ++media_gen_;
    w_.queue().after(frame_period, [this, gen] { media_tick(gen); });
  }

  void stop_media() {
    ++media_gen_;
    in_call_ = false;
    in_stream_ = nullptr;
    out_stream_ = nullptr;
    rtp_.reset();
  }

  void media_tick(uint64_t gen) {
    if (gen != media_gen_) return;
    if (out_stream_ != nullptr) send_frame();
    if (in_stream_ != nullptr) play_frame(*in_stream_);
    w_.queue().after(frame_period, [this, gen] { media_tick(gen); });
  }

  void send_frame() {
    const Frame frame = next_frame();
    out_stream_->sent.insert(out_stream_->sent.end(), frame.pcm.begin(), frame.pcm.end());
    const auto datagram = rtp_encode(rtp_->next(first_packet_), *frame.packet);
    first_packet_ = false;
    const Time capture = now() - frame_period;  // the frame's first sample was spoken 20 ms ago
    Client* peer = w_.find_client(peer_address_);
    if (peer == nullptr) return;  // the endpoint the server gave us leads nowhere
    AudioStream* stream = out_stream_;
    for (const Time t : w_.network().datagram(now(), p_.name, peer_address_)) {
      w_.queue().at(t, [peer, from = p_.name, datagram, capture, stream] { peer->on_rtp(from, datagram, capture, stream); });
    }
  }

  void play_frame(AudioStream& s) {
    const Playout p = s.jitter.pull(now());
    if (p.kind == PlayoutKind::silence) {
      // Keep the played track aligned with real time once playout has begun: a gap is heard.
      if (!s.received.empty()) s.received.insert(s.received.end(), opus_frame_samples, 0);
      return;
    }
    if (!s.decoder) s.decoder = std::make_unique<OpusFrameDecoder>();
    std::vector<int16_t> pcm;
    if (p.kind == PlayoutKind::normal) pcm = s.decoder->decode(p.payload);
    else if (p.kind == PlayoutKind::fec) pcm = s.decoder->decode_fec(p.payload);
    else pcm = s.decoder->conceal();
    s.received.insert(s.received.end(), pcm.begin(), pcm.end());
    s.loss_trace.push_back(p.kind == PlayoutKind::concealed);
    if (p.kind == PlayoutKind::concealed) s.concealed_at_ms.push_back(now().ms());
    if (p.kind == PlayoutKind::normal) {
      if (auto c = s.capture_time.find(p.timestamp); c != s.capture_time.end()) {
        s.m2e_us.push_back((now() - c->second).us);
        s.capture_time.erase(c);
      }
    }
  }

  // ---------------------------------------------------------------- PTT media (frames on the stream)

  void start_talking() {
    stop_talking();
    const uint64_t gen = ++talk_gen_;
    talk_tick(gen);
  }

  void stop_talking() { ++talk_gen_; }  // pending talk ticks see a newer generation and stop

  void talk_tick(uint64_t gen) {
    if (gen != talk_gen_ || conn_ == 0) return;
    const Frame f = next_frame();
    const std::vector<int16_t>& frame = f.pcm;
    const auto payload = p_.codec == AudioCodec::opus ? *f.packet : pcm_to_bytes(frame);
    const uint16_t seq = ptt_seq_++;
    const uint64_t conn = conn_;
    const Time capture = now();
    const Time arrival = w_.network().stream(now() + frame_period, p_.name, "server", conn);
    const AudioCodec codec = p_.codec;
    // The frame leaves when it is complete (20 ms after its first sample).
    w_.queue().at(arrival, [this, conn, seq, payload, codec, capture, frame] {
      w_.server().on_audio(conn, seq, payload, codec, capture, frame);
    });
    w_.queue().after(frame_period, [this, gen] { talk_tick(gen); });
  }

  World& w_;
  Participant p_;
  Prng rng_;
  const std::vector<int16_t>* source_ = nullptr;
  const std::vector<std::vector<uint8_t>>* packets_ = nullptr;
  std::size_t source_frame_ = 0;
  std::vector<uint8_t> silence_;
  uint64_t conn_ = 0;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Time> pending_;
  // calls
  std::optional<uint64_t> call_id_;
  std::string peer_;
  std::string peer_address_;
  bool in_call_ = false;
  uint64_t media_gen_ = 0;
  AudioStream* out_stream_ = nullptr;
  AudioStream* in_stream_ = nullptr;
  std::optional<RtpSender> rtp_;
  bool first_packet_ = false;
  // PTT
  uint64_t talk_gen_ = 0;
  uint16_t ptt_seq_ = 0;
};

void Server::deliver(uint64_t conn, std::string text) {
  auto it = conns_.find(conn);
  HAILER_ASSERT(it != conns_.end());  // the core never sends to a closed session
  Client* c = &w_.client(it->second);
  const Time arrival = w_.network().stream(w_.queue().now(), "server", it->second, conn);
  w_.queue().at(arrival, [c, conn, text = std::move(text)] { c->on_text(conn, text); });
}

void Server::close(uint64_t conn) {
  auto it = conns_.find(conn);
  HAILER_ASSERT(it != conns_.end());
  Client* c = &w_.client(it->second);
  const Time arrival = w_.network().stream(w_.queue().now(), "server", it->second, conn);
  w_.queue().at(arrival, [c, conn] { c->on_closed(conn); });
  conns_.erase(it);
  // The adapter reports its own close right after, as a socket layer would.
  w_.queue().at(w_.queue().now(), [this, conn] { feed(SessionClosed{SessionId{conn}}); });
}

// ======================================================================= the world

World::World(const Scenario& scenario, const std::string& fixtures_dir, MediaCache* cache)
    : scenario_(scenario),
      fixtures_dir_(fixtures_dir),
      network_(scenario.seed, scenario.default_link),
      cache_(cache != nullptr ? cache : &own_cache_) {
  for (const auto& [pair, profile] : scenario_.links) network_.set_link(pair.first, pair.second, profile);
  server_ = std::make_unique<Server>(*this, scenario_.server);
  for (const auto& p : scenario_.participants) clients_[p.name] = std::make_unique<Client>(*this, p);
  schedule_scenario();
}

World::~World() = default;

Client& World::client(const std::string& name) { return *clients_.at(name); }

Client* World::find_client(const std::string& name) {
  auto it = clients_.find(name);
  return it == clients_.end() ? nullptr : it->second.get();
}

const std::vector<Recording>& World::recordings() const { return server_->finished; }
const CoreStats& World::core_stats() const { return server_->core().stats(); }

AudioStream& World::new_stream(const std::string& from, const std::string& to) {
  JitterBufferConfig c = scenario_.jitter_buffer;
  if (to == "speaker") c.fec = false;  // PTT frames are decoded on arrival; the buffer holds PCM
  streams_.emplace_back(c);
  AudioStream& s = streams_.back();
  s.from = from;
  s.to = to;
  s.started_us = queue_.now().us;
  return s;
}

const std::vector<int16_t>& World::audio_source(const std::string& spec) {
  const std::string key = fixtures_dir_ + "|" + spec;
  auto it = cache_->sources.find(key);
  if (it != cache_->sources.end()) return it->second;
  std::vector<int16_t> pcm;
  if (spec.rfind("tone:", 0) == 0) {
    const double hz = std::stod(spec.substr(5));
    pcm.resize(48'000 * 5);
    for (std::size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>(9000 * std::sin(2 * M_PI * hz * static_cast<double>(i) / 48'000));
  } else if (spec.rfind("speechlike:", 0) == 0) {
    // Syllable-like bursts of a gliding tone with pauses: speech's on/off envelope without a voice.
    Prng rng(std::stoull(spec.substr(11)));
    pcm.resize(48'000 * 6);
    std::size_t at = 0;
    while (at < pcm.size()) {
      const auto on = static_cast<std::size_t>(rng.between(80, 300)) * 48;
      const auto off = static_cast<std::size_t>(rng.between(40, 200)) * 48;
      const double amp = 3000.0 + static_cast<double>(rng.below(9000));
      const double f0 = 120.0 + static_cast<double>(rng.below(120));
      for (std::size_t i = 0; i < on && at < pcm.size(); ++i, ++at) {
        const double t = static_cast<double>(i) / 48'000;
        pcm[at] = static_cast<int16_t>(amp * std::sin(2 * M_PI * f0 * t * (1 + 0.3 * t)) * std::sin(M_PI * static_cast<double>(i) / static_cast<double>(on)));
      }
      at += off;
    }
  } else {
    const std::string path = spec.front() == '/' ? spec : fixtures_dir_ + "/" + spec;
    pcm = read_wav_48k_mono(path).samples;
  }
  pcm.resize((pcm.size() + opus_frame_samples - 1) / opus_frame_samples * opus_frame_samples, 0);  // whole frames
  return cache_->sources.emplace(key, std::move(pcm)).first->second;
}

const std::vector<std::vector<uint8_t>>& World::encoded_source(const std::string& spec) {
  const OpusSettings& o = scenario_.opus;
  const std::string key = fixtures_dir_ + "|" + spec + "|" + std::to_string(o.bitrate_bps) + "/" +
                          std::to_string(o.complexity) + "/" + std::to_string(o.fec) + "/" +
                          std::to_string(o.expected_loss_percent);
  auto it = cache_->encoded.find(key);
  if (it != cache_->encoded.end()) return it->second;
  // Opus is deterministic, so one pass of a real encoder over the looping source gives the
  // packets a live encoder would send; only the first frames after each wrap differ slightly
  // (a live encoder carries the end of the loop in its state). Encoding is the simulator's
  // largest cost by far; this keeps a minute of two-way audio to a fraction of a second.
  const std::vector<int16_t>& pcm = audio_source(spec);
  OpusFrameEncoder encoder(scenario_.opus);
  std::vector<std::vector<uint8_t>> packets;
  for (std::size_t at = 0; at < pcm.size(); at += opus_frame_samples) {
    packets.push_back(encoder.encode(std::span(pcm).subspan(at, opus_frame_samples)));
  }
  return cache_->encoded.emplace(key, std::move(packets)).first->second;
}

void World::schedule_scenario() {
  for (const auto& p : scenario_.participants) {
    Client* c = clients_.at(p.name).get();
    queue_.at(Time::from_ms(p.start_ms), [c] { c->start(); });
  }
  for (std::size_t i = 0; i < scenario_.steps.size(); ++i) {
    const Step& s = scenario_.steps[i];
    Client* c = clients_.at(s.who).get();
    if (!s.label.empty()) label_times_[s.label] = Time::from_ms(s.at_ms).us;
    const std::string name = "steps[" + std::to_string(i) + "] " + s.who + " " + s.action + " at " + std::to_string(s.at_ms) + " ms";
    queue_.at(Time::from_ms(s.at_ms), [this, c, &s, name] {
      last_step_ = name;
      c->do_step(s);
    });
  }
  for (std::size_t i = 0; i < scenario_.faults.size(); ++i) {
    const Fault& f = scenario_.faults[i];
    if (!f.label.empty()) label_times_[f.label] = Time::from_ms(f.at_ms).us;
    const std::string name = "faults[" + std::to_string(i) + "] " + f.kind + " at " + std::to_string(f.at_ms) + " ms";
    queue_.at(Time::from_ms(f.at_ms), [this, &f, name] {
      last_step_ = name;
      const Time now = queue_.now();
      if (f.kind == "partition") network_.partition(f.groups, now, now + Duration::from_ms(f.duration_ms));
      else if (f.kind == "stall") network_.stall(f.who, now, now + Duration::from_ms(f.duration_ms));
      else if (f.kind == "link") network_.set_link(f.a, f.b, f.profile);
      else if (f.kind == "disconnect") clients_.at(f.who)->cut();
    });
  }
}

void World::run(const std::function<void(double)>& progress) {
  const Time end = Time::from_ms(scenario_.duration_ms);
  int64_t next_report_us = end.us / 10;
  while (auto t = queue_.next_time()) {
    if (*t > end) break;
    if (queue_.executed() >= max_events_per_run) throw InvariantBroken("event limit reached: a runaway scenario");
    queue_.step();
    if (progress && queue_.now().us >= next_report_us) {
      progress(static_cast<double>(queue_.now().us) / static_cast<double>(end.us));
      next_report_us += end.us / 10;
    }
  }
  server_->finish(end);
}

}  // namespace hailer::sim
