#include "client/client.hpp"

#include <utility>

#include "protocol/names.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace hailer {

namespace {
// The media key and id of a register reply, when both are well formed.
std::optional<std::pair<SecretKey, uint64_t>> media_credentials(const RegisteredData& reg) {
  SecretKey key;
  std::array<uint8_t, 8> id{};
  if (!from_hex(reg.media_token, key.bytes) || !from_hex(reg.media_id, id)) return std::nullopt;
  uint64_t media_id = 0;
  for (uint8_t b : id) media_id = (media_id << 8) | b;
  return std::pair{key, media_id};
}
}  // namespace

ProtocolClient::ProtocolClient(ClientConfig config) : config_(std::move(config)) {
  HAILER_ASSERT(config_.ping_interval_ms >= 0 && config_.probe_retry_ms > 0 && config_.probe_keepalive_ms > 0);
  HAILER_ASSERT(!config_.e2e_media || (config_.login.has_value() && config_.call_secrets != nullptr));
}

// ------------------------------------------------------------------ connection

// The register request; with an account key and a TLS connection, signed for this connection.
RegisterRequest ProtocolClient::register_request() const {
  RegisterRequest r{protocol_version, config_.name, config_.media_port, {}, {}, {}};
  if (config_.login && has_binding(binding_) && valid_name(config_.name)) {
    r.key = login_key_hex(*config_.login);
    r.signature = login_signature(*config_.login, binding_, name_key(config_.name));
    r.invite = config_.invite;
  }
  return r;
}

void ProtocolClient::connected(Time now, std::vector<ClientEffect>& out) {
  advance_to(now);
  HAILER_ASSERT(!connected_);
  connected_ = true;
  ping_interval_ms_ = config_.ping_interval_ms;
  if (config_.face == Face::calls) {
    send(now, register_request(), out);
  } else {
    send(now,
         JoinRequest{protocol_version, config_.name, config_.room, config_.role, config_.format.codec,
                     config_.format.sample_rate_hz, config_.token},
         out);
  }
}

void ProtocolClient::disconnected(Time, std::vector<ClientEffect>& out) {
  if (!connected_) return;
  if (call_.phase == CallPhase::connected && !e2e_waiting_) out.push_back(StopCallMedia{call_.call_id});
  if (floor_.phase == FloorPhase::talking) out.push_back(StopTalking{false});
  // A place in line dies with the session on the server: asked for again once registered.
  if (config_.face == Face::calls && wait_.phase != WaitPhase::none) wait_to_rejoin_ = wait_.callee;
  // (or kept from server_closing, when the shutdown ended the wait first)
  connected_ = false;
  reset_state();
}

void ProtocolClient::reset_state() {
  registered_ = false;
  pending_.clear();
  media_key_.reset();
  media_id_ = 0;
  probe_counter_ = 0;
  media_ready_.reset();
  probe_at_.reset();
  auto_accept_.reset();
  auto_recall_.reset();
  call_ = {};
  relay_port_.reset();
  agreement_.reset();
  crypto_.reset();
  e2e_waiting_ = false;
  wait_ = {};
  floor_ = {};
  room_ = {};
  waiting_count_ = 0;
}

// ------------------------------------------------------------------ sending

uint64_t ProtocolClient::send(Time now, RequestBody body, std::vector<ClientEffect>& out) {
  advance_to(now);
  HAILER_ASSERT(connected_);
  const uint64_t id = next_id_++;
  if (std::holds_alternative<PressRequest>(body) && floor_.phase != FloorPhase::talking) {
    floor_.phase = FloorPhase::requesting;
  }
  if (std::holds_alternative<ReleaseRequest>(body)) {
    if (floor_.phase == FloorPhase::talking) out.push_back(StopTalking{true});
    floor_.phase = FloorPhase::idle;
    floor_.position = 0;
  }
  Request request{id, std::move(body)};
  out.push_back(SendText{encode_request(request)});
  track(id, request.body, now);
  note_sent(now);
  return id;
}

void ProtocolClient::send_raw(Time now, std::string text, std::vector<ClientEffect>& out) {
  advance_to(now);
  HAILER_ASSERT(connected_);
  auto decoded = decode_request(text, 1u << 20);
  if (auto* r = std::get_if<Request>(&decoded)) track(r->id, r->body, now);
  out.push_back(SendText{std::move(text)});
  note_sent(now);
}

void ProtocolClient::track(uint64_t id, const RequestBody& body, Time now) {
  pending_[id] = Pending{request_type(body), reply_kind(body, config_.face), now, body};
}

void ProtocolClient::note_sent(Time now) { last_sent_ = now; }

void ProtocolClient::advance_to(Time now) {
  HAILER_ASSERT(now >= last_now_);  // time never goes backwards (the class contract)
  last_now_ = now;
}

// ------------------------------------------------------------------ receiving

void ProtocolClient::received(Time now, std::string_view text, std::vector<ClientEffect>& out) {
  advance_to(now);
  if (!connected_) return;  // a late message of a connection already gone
  const ReplyKinds kinds = [this](uint64_t id) -> std::optional<ReplyKind> {
    auto it = pending_.find(id);
    return it == pending_.end() ? std::nullopt : std::optional<ReplyKind>(it->second.kind);
  };
  ServerDecodeResult decoded = decode_server_message(text, kinds);
  if (auto* e = std::get_if<DecodeError>(&decoded)) {
    out.push_back(ServerGarbage{std::string(text), *e});
    return;
  }
  const ServerMessage& m = std::get<ServerMessage>(decoded);
  std::optional<uint64_t> id;
  if (const auto* ok = std::get_if<OkReply>(&m)) id = ok->id;
  if (const auto* err = std::get_if<ErrorReply>(&m)) id = err->id;
  auto it = id ? pending_.find(*id) : pending_.end();
  if (it == pending_.end()) {
    out.push_back(Heard{m, {}, std::nullopt});
    react(now, m, out);
    return;
  }
  const Pending p = std::move(it->second);
  pending_.erase(it);
  out.push_back(Heard{m, p.type, now - p.sent_at});
  if (const auto* ok = std::get_if<OkReply>(&m)) on_reply(now, *ok, p, out);
  if (std::holds_alternative<ErrorReply>(m) && std::holds_alternative<PressRequest>(p.body) &&
      floor_.phase == FloorPhase::requesting) {
    floor_.phase = FloorPhase::idle;
  }
}

void ProtocolClient::on_reply(Time now, const OkReply& ok, const Pending& p, std::vector<ClientEffect>& out) {
  if (const auto* reg = std::get_if<RegisteredData>(&ok.data)) {
    registered_ = true;
    // Ping well inside the server's heartbeat, whatever the config says.
    if (ping_interval_ms_ > 0)
      ping_interval_ms_ = std::min(ping_interval_ms_, std::max<int64_t>(1, reg->heartbeat_ms / 3));
    if (const auto credentials = media_credentials(*reg)) {
      media_key_ = credentials->first;
      media_id_ = credentials->second;
      if (config_.media_port != 0) probe(now, out);
    }
    // Back after a drop that cost a place in line: join the line again (the end of it, or a
    // ringing call if the callee is free by now), and the user is told the new place.
    rejoined_wait_ = std::exchange(wait_to_rejoin_, std::string());
    if (!rejoined_wait_.empty()) send(now, CallRequest{rejoined_wait_, std::nullopt}, out);
    return;
  }
  if (const auto* room = std::get_if<RoomData>(&ok.data)) {
    if (std::holds_alternative<JoinRequest>(p.body)) registered_ = true;
    room_ = *room;
    if (floor_.phase != FloorPhase::talking) floor_.talker = room->talker;
    return;
  }
  if (const auto* call = std::get_if<CallData>(&ok.data)) {
    if (call->queued && wait_.phase == WaitPhase::none) {
      wait_.phase = WaitPhase::queued;
      wait_.callee = std::get<CallRequest>(p.body).to;
    }
  }
}

void ProtocolClient::react(Time now, const ServerMessage& m, std::vector<ClientEffect>& out) {
  if (const auto* ready = std::get_if<MediaReady>(&m)) {
    media_ready_ = MediaEndpoint{ready->address, ready->port};
    probe_at_ = now + Duration::from_ms(config_.probe_keepalive_ms);
    return;
  }
  // A server closing ends everyone's waits as it closes the callees' sessions (callee_offline):
  // the place as it stood at this notice is the one to ask for again.
  if (std::holds_alternative<ServerClosing>(m) && config_.face == Face::calls && wait_.phase != WaitPhase::none)
    wait_to_rejoin_ = wait_.callee;
  on_call_event(now, m, out);
  on_wait_event(now, m, out);
  on_floor_event(now, m, out);
  on_room_event(m);
}

void ProtocolClient::on_call_event(Time now, const ServerMessage& m, std::vector<ClientEffect>& out) {
  if (const auto* r = std::get_if<CallRinging>(&m)) {
    call_ = CallView{r->role == CallRole::caller ? CallPhase::calling : CallPhase::ringing, r->call_id, r->peer, {}};
    crypto_.reset();
    if (config_.e2e_media) start_key_agreement(now, r->call_id, r->role, out);
    if (r->role == CallRole::callee) {
      out.push_back(PlayTone{Tone::incoming_call});
      if (config_.auto_accept_ms) auto_accept_ = {now + Duration::from_ms(*config_.auto_accept_ms), r->call_id};
    }
  } else if (const auto* c = std::get_if<CallConnected>(&m)) {
    const CallRole role = call_.phase == CallPhase::calling ? CallRole::caller : CallRole::callee;
    if (call_.call_id != c->call_id) crypto_.reset();
    call_ = CallView{CallPhase::connected, c->call_id, c->peer, c->peer_media};
    relay_port_ = c->relay_port;
    if (!config_.e2e_media || crypto_) {
      out.push_back(start_media());
    } else {
      // Audio waits for the peer's key: never plain RTP on an end-to-end call.
      e2e_waiting_ = true;
      if (!agreement_ || agreement_->call_id() != c->call_id) start_key_agreement(now, c->call_id, role, out);
    }
  } else if (const auto* k = std::get_if<PeerMediaKey>(&m)) {
    on_peer_key(now, *k, out);
  } else if (const auto* e = std::get_if<CallEnded>(&m)) {
    if (call_.phase == CallPhase::connected && call_.call_id == e->call_id && !e2e_waiting_)
      out.push_back(StopCallMedia{e->call_id});
    if (call_.call_id == e->call_id) {
      call_ = {};
      relay_port_.reset();
      agreement_.reset();
      crypto_.reset();
      e2e_waiting_ = false;
    }
  } else if (std::holds_alternative<MissedCall>(m)) {
    ++missed_;
  } else if (const auto* w = std::get_if<WaitingCount>(&m)) {
    waiting_count_ = w->count;
  }
}

// The connected call's media: its keys when agreed (plain RTP without end-to-end media), and the
// relay when the server offers one and this session has a media key to derive its leg from.
StartCallMedia ProtocolClient::start_media() const {
  HAILER_ASSERT(call_.phase == CallPhase::connected);
  HAILER_ASSERT(!config_.e2e_media || crypto_.has_value());
  StartCallMedia m{call_.call_id, call_.peer, call_.peer_media, config_.e2e_media ? crypto_ : std::nullopt, {}};
  if (relay_port_ && *relay_port_ != 0 && media_key_)
    m.relay = RelayOffer{*relay_port_, relay_leg_id(*media_key_, call_.call_id)};
  return m;
}

// A fresh key pair for the call, its public half signed and sent to the peer through the server.
void ProtocolClient::start_key_agreement(Time now, uint64_t call_id, CallRole role, std::vector<ClientEffect>& out) {
  HAILER_ASSERT(config_.e2e_media && config_.login && config_.call_secrets != nullptr);
  std::array<uint8_t, 32> seed{};
  config_.call_secrets->fill(seed);
  agreement_.reset();
  agreement_.emplace(call_id, role, *config_.login, seed);
  seed.fill(0);
  send(now, agreement_->request(name_key(config_.name)), out);
}

// The peer's key: checked here, whatever the server says; a refused key ends the call, because
// this call can have no audio that only its two parties hear.
void ProtocolClient::on_peer_key(Time now, const PeerMediaKey& m, std::vector<ClientEffect>& out) {
  if (!config_.e2e_media || !agreement_ || agreement_->call_id() != m.call_id || call_.call_id != m.call_id) return;
  if (crypto_) return;  // one key per call: a second one changes nothing
  std::string why;
  if (m.peer != call_.peer) {
    why = "the key is from " + m.peer + ", not from the peer";
  } else {
    auto result = agreement_->accept(m, name_key(m.peer));
    if (auto* c = std::get_if<CallCrypto>(&result)) {
      crypto_ = std::move(*c);
      if (e2e_waiting_) {
        e2e_waiting_ = false;
        out.push_back(start_media());
      }
      return;
    }
    why = std::get<CallKeyError>(result).reason;
  }
  out.push_back(CallKeyRefused{m.call_id, call_.peer, why});
  send(now, HangupRequest{}, out);
}

void ProtocolClient::on_wait_event(Time now, const ServerMessage& m, std::vector<ClientEffect>& out) {
  if (const auto* u = std::get_if<WaitUpdate>(&m)) {
    wait_.phase = u->status == WaitStatus::suspended ? WaitPhase::suspended : WaitPhase::queued;
    wait_.callee = u->callee;
    wait_.position = u->position;
  } else if (const auto* a = std::get_if<CalleeAvailable>(&m)) {
    wait_.phase = WaitPhase::recall;
    wait_.callee = a->callee;
    wait_.position = 0;
    wait_.window_ends = now + Duration::from_ms(a->window_ms);
    wait_.auto_connect = a->auto_connect;
    out.push_back(PlayTone{Tone::callee_free});
    if (!a->auto_connect && config_.auto_recall_ms) {
      auto_recall_ = {now + Duration::from_ms(*config_.auto_recall_ms), a->callee};
    }
  } else if (std::holds_alternative<WaitEnded>(m)) {
    wait_ = {};
    auto_recall_.reset();
  }
}

void ProtocolClient::on_floor_event(Time now, const ServerMessage& m, std::vector<ClientEffect>& out) {
  if (const auto* g = std::get_if<FloorGranted>(&m)) {
    const bool was_talking = floor_.phase == FloorPhase::talking;
    floor_ = FloorView{FloorPhase::talking, "", 0, now + Duration::from_ms(g->remaining_ms), {}};
    room_.talker = config_.name;
    if (!was_talking) out.push_back(StartTalking{});
  } else if (const auto* d = std::get_if<FloorDenied>(&m)) {
    floor_.phase = FloorPhase::denied;
    floor_.denied = d->reason;
    floor_.talker = d->talker;
  } else if (const auto* q = std::get_if<FloorQueued>(&m)) {
    floor_.phase = FloorPhase::queued;
    floor_.position = q->position;
  } else if (const auto* t = std::get_if<FloorTaken>(&m)) {
    floor_.talker = t->talker;
    room_.talker = t->talker;
  } else if (std::holds_alternative<FloorIdle>(m)) {
    floor_.talker.clear();
    room_.talker.clear();
    if (floor_.phase == FloorPhase::denied) floor_.phase = FloorPhase::idle;
  } else if (std::holds_alternative<FloorRevoked>(m)) {
    if (floor_.phase == FloorPhase::talking) out.push_back(StopTalking{false});
    floor_.phase = FloorPhase::idle;
    room_.talker.clear();
  } else if (std::holds_alternative<FloorDequeued>(m)) {
    floor_.phase = FloorPhase::idle;
    floor_.position = 0;
  }
}

void ProtocolClient::on_room_event(const ServerMessage& m) {
  if (const auto* j = std::get_if<MemberJoined>(&m)) {
    room_.members.push_back(MemberInfo{j->name, j->role});
  } else if (const auto* l = std::get_if<MemberLeft>(&m)) {
    std::erase_if(room_.members, [&](const MemberInfo& x) { return x.name == l->name; });
  } else if (const auto* p = std::get_if<PolicyChanged>(&m)) {
    room_.policy = p->policy;
  }
}

// ------------------------------------------------------------------ timers

void ProtocolClient::probe(Time now, std::vector<ClientEffect>& out) {
  HAILER_ASSERT(media_key_.has_value());
  out.push_back(SendProbe{encode_media_probe(*media_key_, media_id_, ++probe_counter_)});
  probe_at_ = now + Duration::from_ms(media_ready_ ? config_.probe_keepalive_ms : config_.probe_retry_ms);
}

std::optional<Time> ProtocolClient::next_deadline() const {
  if (!connected_) return std::nullopt;
  std::optional<Time> next;
  auto consider = [&](std::optional<Time> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (ping_interval_ms_ > 0) consider(last_sent_ + Duration::from_ms(ping_interval_ms_));
  consider(probe_at_);
  if (auto_accept_) consider(auto_accept_->first);
  if (auto_recall_) consider(auto_recall_->first);
  return next;
}

void ProtocolClient::timer(Time now, std::vector<ClientEffect>& out) {
  advance_to(now);
  if (!connected_) return;
  if (auto_accept_ && auto_accept_->first <= now) {
    const uint64_t call_id = auto_accept_->second;
    auto_accept_.reset();
    if (call_.phase == CallPhase::ringing && call_.call_id == call_id) send(now, AcceptRequest{call_id}, out);
  }
  if (auto_recall_ && auto_recall_->first <= now) {
    const std::string callee = auto_recall_->second;
    auto_recall_.reset();
    if (wait_.phase == WaitPhase::recall && wait_.callee == callee && call_.phase == CallPhase::idle) {
      send(now, CallRequest{callee, std::nullopt}, out);
    }
  }
  if (probe_at_ && *probe_at_ <= now) probe(now, out);
  if (ping_interval_ms_ > 0 && last_sent_ + Duration::from_ms(ping_interval_ms_) <= now) send(now, PingRequest{}, out);
}

}  // namespace hailer
