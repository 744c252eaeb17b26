#include "sim/simulated_client.hpp"

#include <type_traits>

#include "base/assert.hpp"
#include "media/io/frame_decoder.hpp"
#include "protocol/ptt_frame.hpp"
#include "protocol/relay_packet.hpp"
#include "sim/simulated_server.hpp"
#include "sim/world.hpp"

namespace hailer::sim {

namespace {
constexpr Duration frame_period = Duration::from_ms(20);

// Each participant's account key, from the scenario's seed (a simulated user's identity file).
LoginKey participant_identity(uint64_t seed, const std::string& name) {
  std::array<uint8_t, 32> s{};
  SeededSecrets(derive_seed(seed, "identity:" + name)).fill(s);
  return login_key_from_seed(s);
}

ClientConfig client_config(const Participant& p, uint64_t seed, SecretSource* call_secrets) {
  ClientConfig c;
  c.face = p.face;
  c.name = p.name;
  c.media_port = p.face == Face::calls ? declared_media_port : 0;
  c.room = p.room;
  c.role = p.role;
  c.format = p.format;
  c.token = p.token;
  c.auto_accept_ms = p.auto_accept_ms;
  c.auto_recall_ms = p.auto_recall_ms;
  c.ping_interval_ms = p.auto_ping ? p.ping_interval_ms : 0;
  if (p.face == Face::calls && !p.plaintext_media) {
    c.login = participant_identity(seed, p.name);
    c.e2e_media = true;
    c.call_secrets = call_secrets;
  }
  return c;
}
}  // namespace

SimulatedClient::SimulatedClient(World& w, const Participant& p, uint16_t nat_port)
    : w_(w),
      p_(p),
      nat_port_(nat_port),
      call_secrets_(derive_seed(w.scenario().seed, "call-keys:" + p.name)),
      client_(client_config(p, w.scenario().seed, &call_secrets_)),
      rng_(derive_seed(w.scenario().seed, "participant:" + p.name)) {
  if (p_.face == Face::ptt && p_.format.codec == AudioCodec::pcm16 && p_.format.sample_rate_hz != opus_rate_hz) {
    to_declared_rate_.emplace(opus_rate_hz, p_.format.sample_rate_hz);
  }
}

Time SimulatedClient::now() const { return w_.queue().now(); }

// ------------------------------------------------------------------ the shell around the protocol client

void SimulatedClient::apply(const std::vector<ClientEffect>& effects, const std::string* text, Time cause) {
  for (const ClientEffect& effect : effects) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, SendText>) {
            send_stream(e.text);
          } else if constexpr (std::is_same_v<T, SendProbe>) {
            send_probe(e.payload);
          } else if constexpr (std::is_same_v<T, StartCallMedia>) {
            start_media(e);
          } else if constexpr (std::is_same_v<T, StopCallMedia>) {
            stop_media();
          } else if constexpr (std::is_same_v<T, StartTalking>) {
            start_talking();
          } else if constexpr (std::is_same_v<T, StopTalking>) {
            stop_talking();
          } else if constexpr (std::is_same_v<T, PlayTone>) {
            // no speaker in the simulation
          } else if constexpr (std::is_same_v<T, CallKeyRefused>) {
            w_.record_notice(Notice{now().us,
                                    std::nullopt,
                                    p_.name,
                                    "call_key_refused",
                                    {{"call_id", e.call_id}, {"peer", e.peer}, {"reason", e.reason}}});
          } else if constexpr (std::is_same_v<T, Heard>) {
            HAILER_ASSERT(text != nullptr);
            w_.record_notice(Notice{now().us, cause.us, p_.name, std::string(message_type(e.message)),
                                    nlohmann::json::parse(*text)});
            if (e.reply_rtt) w_.record_rtt(e.reply_rtt->us);
          } else {
            static_assert(std::is_same_v<T, ServerGarbage>);
            throw InvariantBroken("the server sent " + p_.name + " a message that does not decode (" +
                                  std::string(to_string(e.error.code)) + " " + e.error.detail + "): " + e.text);
          }
        },
        effect);
  }
}

void SimulatedClient::schedule_timer() {
  const std::optional<Time> deadline = client_.next_deadline();
  if (!deadline || (timer_at_ && *timer_at_ <= *deadline)) return;
  timer_at_ = deadline;
  const uint64_t generation = ++timer_generation_;
  w_.queue().at(std::max(*deadline, now()), [this, generation] {
    if (generation != timer_generation_) return;
    timer_at_.reset();
    effects_.clear();
    client_.timer(now(), effects_);
    const auto effects = effects_;
    apply(effects);
    schedule_timer();
  });
}

void SimulatedClient::start() { connect(); }

void SimulatedClient::do_step(const Step& s) {
  switch (s.action) {
    case Action::connect:
      return connect();
    case Action::disconnect:
      return disconnect(CloseReason::peer_closed);
    case Action::reconnect:
      disconnect(CloseReason::peer_closed);
      return connect();
    default:
      break;
  }
  if (conn_ == 0)
    return w_.record_notice(Notice{now().us, std::nullopt, p_.name, "skipped", {{"step", s.action_name}}});
  effects_.clear();
  switch (s.action) {
    case Action::hello:
      if (p_.face == Face::calls)
        client_.send(now(), RegisterRequest{protocol_version, p_.name, declared_media_port, {}, {}, {}}, effects_);
      else
        client_.send(now(),
                     JoinRequest{protocol_version, p_.name, p_.room, p_.role, p_.format.codec, p_.format.sample_rate_hz,
                                 p_.token},
                     effects_);
      break;
    case Action::who:
      client_.send(now(), WhoRequest{}, effects_);
      break;
    case Action::call:
      client_.send(now(), CallRequest{s.to, s.auto_connect}, effects_);
      break;
    case Action::accept:
      client_.send(now(), AcceptRequest{s.call_id}, effects_);
      break;
    case Action::reject:
      client_.send(now(), RejectRequest{s.call_id}, effects_);
      break;
    case Action::hangup:
      client_.send(now(), HangupRequest{}, effects_);
      break;
    case Action::cancel:
      client_.send(now(), CancelRequest{}, effects_);
      break;
    case Action::cancel_wait:
      client_.send(now(), CancelWaitRequest{}, effects_);
      break;
    case Action::missed:
      client_.send(now(), MissedRequest{}, effects_);
      break;
    case Action::ping:
      client_.send(now(), PingRequest{}, effects_);
      break;
    case Action::press:
      client_.send(now(), PressRequest{}, effects_);
      break;
    case Action::release:
      client_.send(now(), ReleaseRequest{}, effects_);
      break;
    case Action::revoke:
      client_.send(now(), RevokeRequest{}, effects_);
      break;
    case Action::set_policy:
      client_.send(now(), SetPolicyRequest{s.policy}, effects_);
      break;
    case Action::grant:
      client_.send(now(), GrantRequest{s.to}, effects_);
      break;
    case Action::skip:
      client_.send(now(), SkipRequest{s.to}, effects_);
      break;
    case Action::raw:
      client_.send_raw(now(), s.text, effects_);
      break;
    case Action::raw_audio:
      send_raw_audio(s.frames, Duration::from_ms(s.gap_ms));
      break;
    case Action::raw_binary:
      send_binary(s.bytes, now());
      break;
    case Action::connect:
    case Action::disconnect:
    case Action::reconnect:
      HAILER_ASSERT(false && "handled above");
  }
  const auto effects = effects_;
  apply(effects);
  schedule_timer();
}

// ------------------------------------------------------------------ the connection

void SimulatedClient::connect() {
  if (conn_ != 0) return;
  conn_ = w_.next_connection();
  const uint64_t conn = conn_;
  const Time sent = now();
  const Time arrival = w_.network().stream(sent, p_.name, "server", conn);
  w_.queue().at(arrival, [this, conn, sent] { w_.server().connect(conn, p_.name, sent); });
  effects_.clear();
  client_.connected(now(), effects_);
  const auto effects = effects_;
  apply(effects);
  schedule_timer();
}

void SimulatedClient::disconnect(CloseReason reason) {
  if (conn_ == 0) return;
  const uint64_t conn = conn_;
  const Time sent = now();
  const Time arrival = w_.network().stream(sent, p_.name, "server", conn);
  w_.queue().at(arrival, [this, conn, reason, sent] { w_.server().peer_closed(conn, reason, sent); });
  lose_connection();
}

void SimulatedClient::cut() { disconnect(CloseReason::reset); }

void SimulatedClient::lose_connection() {
  w_.record_notice(Notice{now().us, std::nullopt, p_.name, "disconnected", nlohmann::json::object()});
  conn_ = 0;
  effects_.clear();
  client_.disconnected(now(), effects_);
  const auto effects = effects_;
  apply(effects);
  stop_media();
  stop_talking();
  ++timer_generation_;  // nothing pending fires for the connection that is gone
  timer_at_.reset();
}

void SimulatedClient::on_text(uint64_t conn, const std::string& text, Time cause) {
  if (conn != conn_) return;  // a message for a connection we already left
  effects_.clear();
  client_.received(now(), text, effects_);
  const auto effects = effects_;
  apply(effects, &text, cause);
  schedule_timer();
}

void SimulatedClient::on_closed(uint64_t conn) {
  if (conn != conn_) return;
  lose_connection();
}

void SimulatedClient::send_stream(std::string text) {
  if (conn_ == 0) return;
  const uint64_t conn = conn_;
  const Time sent = now();
  const Time arrival = w_.network().stream(sent, p_.name, "server", conn);
  w_.queue().at(arrival, [this, conn, text = std::move(text), sent] { w_.server().text(conn, text, sent); });
}

void SimulatedClient::send_binary(std::vector<uint8_t> message, Time leaves_at) {
  if (conn_ == 0) return;
  const uint64_t conn = conn_;
  const Time arrival = w_.network().stream(leaves_at, p_.name, "server", conn);
  w_.queue().at(
      arrival, [this, conn, message = std::move(message), leaves_at] { w_.server().binary(conn, message, leaves_at); });
}

// The UDP proof leaves from our media port; a NAT rewrites it to the port it maps.
void SimulatedClient::send_probe(const std::string& payload) {
  if (!p_.probe) return;
  send_to_server(std::vector<uint8_t>(payload.begin(), payload.end()));
}

// A datagram from our media socket to the server's UDP port (a proof, a relay packet).
void SimulatedClient::send_to_server(const std::vector<uint8_t>& bytes) {
  if (udp_blocked()) return;
  const MediaEndpoint from{p_.name, source_port("server", server_udp_port)};
  const Time sent = now();
  for (const Time t : w_.network().datagram(sent, p_.name, "server")) {
    w_.queue().at(t, [this, from, bytes, sent] { w_.server().datagram(from, bytes, sent); });
  }
}

// A relay packet as a tunnel frame on our signaling connection (path c).
void SimulatedClient::send_tunnel(const std::vector<uint8_t>& bytes) {
  if (conn_ == 0) return;
  const uint64_t conn = conn_;
  const Time sent = now();
  const Time arrival = w_.network().stream(sent, p_.name, "server", conn);
  w_.queue().at(arrival, [this, conn, bytes, sent] { w_.server().tunnel_frame(conn, bytes, sent); });
}

// ------------------------------------------------------------------ the NAT

// The port a datagram from our media socket to (to, port) leaves from, once through the NAT,
// which remembers the destination (what lets its answers in).
uint16_t SimulatedClient::source_port(const std::string& to, uint16_t port) {
  const auto key = std::make_pair(to, port);
  if (const auto it = mappings_.find(key); it != mappings_.end()) return it->second;
  uint16_t mapped = declared_media_port;
  if (p_.nat == NatKind::full_cone || p_.nat == NatKind::port_restricted) mapped = nat_port_;
  // A symmetric NAT maps each new destination to a new port (participant i: 50000 + 100 i + k).
  if (p_.nat == NatKind::symmetric)
    mapped = static_cast<uint16_t>(50'000 + 100 * (nat_port_ - 40'000) + mappings_.size() % 100);
  mappings_.emplace(key, mapped);
  return mapped;
}

// Whether a datagram from (from, from_port) to our `port` gets through the NAT.
bool SimulatedClient::admits(const std::string& from, uint16_t from_port, uint16_t port) const {
  const auto sent_to = mappings_.find(std::make_pair(from, from_port));
  switch (p_.nat) {
    case NatKind::none:
      return port == declared_media_port;
    case NatKind::full_cone:
      return port == nat_port_;
    case NatKind::port_restricted:
    case NatKind::symmetric:
      return sent_to != mappings_.end() && sent_to->second == port;
    case NatKind::udp_blocked:
      return false;
  }
  return false;
}

// ------------------------------------------------------------------ the audio source

// The next 20 ms of the looping source: its samples and its Opus packet (or silence). A call
// participant's source was encoded when the run began (World::prepare_sources), a student's
// is loaded and encoded when it first talks.
SimulatedClient::Frame SimulatedClient::next_frame() {
  Frame f;
  if (p_.audio.empty()) {
    f.pcm.assign(opus_frame_samples, 0);
    f.packet = &silence_packet();
    return f;
  }
  const std::vector<int16_t>& source = w_.sources().pcm(p_.audio);
  const std::size_t frames = source.size() / opus_frame_samples;
  const std::size_t k = source_frame_++ % frames;
  f.pcm.assign(source.begin() + static_cast<std::ptrdiff_t>(k * opus_frame_samples),
               source.begin() + static_cast<std::ptrdiff_t>((k + 1) * opus_frame_samples));
  if (p_.face == Face::calls || p_.format.codec == AudioCodec::opus) {
    f.packet = &w_.sources().packets(p_.audio, w_.scenario().opus)[k];
  }
  return f;
}

// A participant without audio sends encoded silence (a real encoder's output for zeros).
const std::vector<uint8_t>& SimulatedClient::silence_packet() {
  if (silence_.empty()) {
    OpusFrameEncoder encoder(w_.scenario().opus);
    const std::vector<int16_t> zeros(opus_frame_samples, 0);
    silence_ = encoder.encode(zeros);
  }
  return silence_;
}

std::vector<uint8_t> SimulatedClient::frame_payload(const Frame& f) {
  if (p_.format.codec == AudioCodec::opus) return *f.packet;
  if (!to_declared_rate_) return pcm16_to_bytes(f.pcm);
  return pcm16_to_bytes(to_declared_rate_->process(f.pcm));
}

// ------------------------------------------------------------------ calls media (RTP over UDP)

void SimulatedClient::start_media(const StartCallMedia& c) {
  stop_media();
  in_call_ = true;
  peer_ = c.peer;
  peer_media_ = c.peer_media;
  if (c.crypto) {
    srtp_out_.emplace(c.crypto->keys.send);
    srtp_in_.emplace(c.crypto->keys.receive);
    w_.record_notice(Notice{now().us,
                            std::nullopt,
                            p_.name,
                            "call_secured",
                            {{"call_id", c.call_id}, {"peer", c.peer}, {"safety_number", c.crypto->safety_number}}});
  }
  if (!p_.audio.empty()) {
    out_stream_ = &w_.new_stream(p_.name, c.peer);
    rtp_.emplace(static_cast<uint32_t>(rng_.next()), static_cast<uint16_t>(rng_.next()),
                 static_cast<uint32_t>(rng_.next()), static_cast<uint32_t>(opus_frame_samples));
    first_packet_ = true;
  }
  consent_.start(now());
  path_.emplace(c.relay.has_value());
  relay_ = c.relay;
  const uint64_t generation = ++media_generation_;
  w_.queue().after(frame_period, [this, generation] { media_tick(generation); });
}

void SimulatedClient::stop_media() {
  ++media_generation_;
  if (in_stream_ != nullptr) in_stream_->playout->close();
  in_call_ = false;
  in_stream_ = nullptr;
  out_stream_ = nullptr;
  rtp_.reset();
  srtp_out_.reset();
  srtp_in_.reset();
  consent_.stop();
  path_.reset();
  relay_.reset();
}

void SimulatedClient::media_tick(uint64_t generation) {
  if (generation != media_generation_) return;
  check_consent();
  send_binding();
  if (out_stream_ != nullptr) send_rtp();
  if (in_stream_ != nullptr) play(*in_stream_);
  w_.queue().after(frame_period, [this, generation] { media_tick(generation); });
}

// A frame is spoken every 20 ms; it goes out on the best path that works (as the CLI chooses:
// direct while the peer's endpoint consents, the relay's UDP port while it answers, else the
// tunnel), and is held when there is none (what was spoken meanwhile is lost, as with the CLI).
void SimulatedClient::send_rtp() {
  const Frame frame = next_frame();
  out_stream_->sent.insert(out_stream_->sent.end(), frame.pcm.begin(), frame.pcm.end());
  const bool direct = consent_.granted(now()) && MediaPath::direct_fresh(now(), consent_.answered_at());
  const MediaPathKind route = path_->route(now(), direct);
  if (route == MediaPathKind::none) {
    ++out_stream_->frames_held;
    return;
  }
  const RtpHeader header = rtp_->next(first_packet_);
  first_packet_ = false;
  out_stream_->capture_time[header.timestamp] = now() - frame_period;  // its first sample was spoken 20 ms ago
  auto datagram = rtp_encode(header, *frame.packet);
  if (srtp_out_) srtp_out_->protect(datagram);
  note_route(route);
  if (route == MediaPathKind::direct)
    return send_datagram(peer_media_.address, peer_media_.port, datagram, out_stream_);
  const std::vector<uint8_t> wrapped = relay_wrap(relay_->leg, datagram);
  if (route == MediaPathKind::relay) return send_to_server(wrapped);
  send_tunnel(wrapped);
}

void SimulatedClient::note_route(MediaPathKind route) {
  switch (route) {
    case MediaPathKind::direct:
      ++out_stream_->packets_direct;
      break;
    case MediaPathKind::relay:
      ++out_stream_->packets_relay;
      break;
    case MediaPathKind::tunnel:
      ++out_stream_->packets_tunnel;
      break;
    case MediaPathKind::none:
      HAILER_ASSERT(false && "a held frame is not sent");
  }
  out_stream_->path = to_string(route);
  out_stream_->path_switches = path_->switches();
}

// A binding packet to the relay's UDP port when one is due: its answer proves that path.
void SimulatedClient::send_binding() {
  if (!path_ || !path_->binding_due(now())) return;
  send_to_server(relay_binding(relay_->leg));
  path_->binding_sent(now());
}

// The consent check that is due goes to the peer's endpoint, its nonce from our seeded stream.
void SimulatedClient::check_consent() {
  const auto due = consent_.next_deadline();
  if (!due || *due > now()) return;
  ConsentNonce nonce{};
  for (std::size_t i = 0; i < nonce.size(); i += 8) {
    const uint64_t word = rng_.next();
    for (std::size_t k = 0; k < 8; ++k) nonce[i + k] = static_cast<uint8_t>(word >> (8 * k));
  }
  if (const auto check = consent_.poll(now(), nonce)) {
    send_datagram(peer_media_.address, peer_media_.port, std::vector<uint8_t>(check->begin(), check->end()), nullptr);
  }
}

// A check from the current peer is answered to where it came from; an answer counts only from
// the endpoint our checks go to.
void SimulatedClient::on_consent(const std::string& from, uint16_t from_port, const std::vector<uint8_t>& datagram) {
  const std::string_view text(reinterpret_cast<const char*>(datagram.data()), datagram.size());
  if (const auto answer = consent_answer(text)) {
    if (in_call_ && from == peer_)
      send_datagram(from, from_port, std::vector<uint8_t>(answer->begin(), answer->end()), nullptr);
  } else if (in_call_ && from == peer_media_.address && from_port == peer_media_.port) {
    consent_.on_answer(now(), text);
  }
}

void SimulatedClient::send_datagram(const std::string& to, uint16_t port, const std::vector<uint8_t>& datagram,
                                    AudioStream* stream) {
  SimulatedClient* peer = w_.find_client(to);
  if (peer == nullptr || udp_blocked()) return;  // the endpoint leads nowhere, or our firewall drops it
  const uint16_t from_port = source_port(to, port);
  for (const Time t : w_.network().datagram(now(), p_.name, to)) {
    w_.queue().at(t, [this, peer, from_port, to, port, datagram, stream] {
      w_.tap(p_.name, from_port, to, port, datagram, stream);  // an attacker on the path sees it arrive
      peer->on_datagram(p_.name, from_port, port, datagram, stream);
    });
  }
}

void SimulatedClient::on_tunnel_frame(uint64_t conn, const std::vector<uint8_t>& frame) {
  if (conn != conn_) return;  // a frame for a connection we already left
  on_relayed(frame, false);
}

// A relay packet from the relay's UDP port or our tunnel: the peer's audio, or the answer to a
// binding packet; anything not for our leg is dropped.
DatagramFate SimulatedClient::on_relayed(const std::vector<uint8_t>& datagram, bool udp) {
  if (!in_call_ || !relay_) return DatagramFate::foreign;
  const auto inner = relay_unwrap(relay_->leg, datagram);
  if (!inner) return DatagramFate::foreign;
  if (inner->empty()) {
    if (udp) path_->relay_answered(now());
    return DatagramFate::consent;
  }
  SimulatedClient* peer = w_.find_client(peer_);
  AudioStream* stream = peer != nullptr ? peer->out_stream() : nullptr;
  if (stream == nullptr) return DatagramFate::foreign;
  return receive_media(std::vector<uint8_t>(inner->begin(), inner->end()), stream);
}

DatagramFate SimulatedClient::on_datagram(const std::string& from, uint16_t from_port, uint16_t port,
                                          const std::vector<uint8_t>& datagram, AudioStream* stream) {
  if (udp_blocked() || !admits(from, from_port, port)) return DatagramFate::not_listening;  // the NAT drops it
  if (from == "server" && from_port == server_udp_port) return on_relayed(datagram, true);
  if (is_consent_datagram(std::string_view(reinterpret_cast<const char*>(datagram.data()), datagram.size()))) {
    on_consent(from, from_port, datagram);
    return DatagramFate::consent;
  }
  if (!in_call_ || from != peer_) {  // only the current peer's media is played
    if (stream != nullptr) ++stream->dropped_foreign;
    return DatagramFate::foreign;
  }
  return receive_media(datagram, stream);
}

// The peer's packet, by whichever path it came: opened (when protected) and played.
DatagramFate SimulatedClient::receive_media(const std::vector<uint8_t>& datagram, AudioStream* stream) {
  HAILER_ASSERT(stream != nullptr);
  std::vector<uint8_t> opened;
  if (srtp_in_) {  // end-to-end: only what the peer's key protected, once, is played
    opened = datagram;
    switch (srtp_in_->unprotect(opened)) {
      case SrtpRefusal::none:
        break;
      case SrtpRefusal::forged:
        ++srtp_forged_;
        return DatagramFate::forged;
      case SrtpRefusal::replayed:
        ++srtp_replayed_;
        return DatagramFate::replayed;
      case SrtpRefusal::truncated:
        ++srtp_truncated_;
        return DatagramFate::truncated;
    }
  }
  const auto packet = rtp_parse(srtp_in_ ? opened : datagram);
  if (!packet) return DatagramFate::not_rtp;
  in_stream_ = stream;
  stream->playout->insert(now(), packet->header, packet->payload);
  return DatagramFate::played;
}

void SimulatedClient::play(AudioStream& s) {
  const PlayedFrame f = s.playout->pull(now());
  if (f.kind == PlayoutKind::silence) {
    // Keep the played track aligned with real time once playout has begun: a gap is heard.
    if (!s.received.empty()) s.received.insert(s.received.end(), opus_frame_samples, 0);
    return;
  }
  s.played(now(), f.kind, f.timestamp, f.pcm);
}

// ------------------------------------------------------------------ PTT media (frames on the stream)

void SimulatedClient::start_talking() {
  stop_talking();
  turn_frames_ = 0;
  const uint64_t generation = ++talk_generation_;
  talk_tick(generation);
}

void SimulatedClient::talk_tick(uint64_t generation) {
  if (generation != talk_generation_ || conn_ == 0) return;
  const Frame f = next_frame();
  const uint16_t sequence = ptt_sequence_++;
  if (turn_stream_ != nullptr) {
    // The speaker numbers a turn's frames from its first one, as this does.
    turn_stream_->sent.insert(turn_stream_->sent.end(), f.pcm.begin(), f.pcm.end());
    turn_stream_->capture_time[turn_frames_ * static_cast<uint32_t>(opus_frame_samples)] = now();
  }
  ++turn_frames_;
  // The frame leaves when it is complete, 20 ms after its first sample.
  send_binary(encode_ptt_frame(sequence, false, frame_payload(f)), now() + frame_period);
  w_.queue().after(frame_period, [this, generation] { talk_tick(generation); });
}

// Frames sent whether or not we hold the floor: the server must drop them (and count them).
void SimulatedClient::send_raw_audio(uint32_t frames_left, Duration gap) {
  if (frames_left == 0 || conn_ == 0) return;
  const Frame f = next_frame();
  send_binary(encode_ptt_frame(ptt_sequence_++, false, frame_payload(f)), now() + frame_period);
  w_.queue().after(gap, [this, frames_left, gap] { send_raw_audio(frames_left - 1, gap); });
}

}  // namespace hailer::sim
