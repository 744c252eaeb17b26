#include "host/server_host.hpp"

#include <type_traits>

#include "base/assert.hpp"
#include "protocol/codec.hpp"
#include "protocol/media_probe.hpp"
#include "protocol/names.hpp"

namespace hailer {

namespace {
// The encoding buffer kept between messages: every event fits; a long list is given back.
constexpr std::size_t encoded_kept_bytes = std::size_t{16} * 1024;

// Marks the host busy for the length of one entry point, so a port that calls back into the
// host synchronously (a bug: it must queue) is caught at once.
class Busy {
 public:
  explicit Busy(bool& flag) : flag_(flag) {
    HAILER_ASSERT(!flag_);
    flag_ = true;
  }
  ~Busy() { flag_ = false; }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;

 private:
  bool& flag_;
};
}  // namespace

ServerHost::ServerHost(const Config& config, SecretSource& secrets, HostConfig host_config, HostPort& port,
                       MediaSink& media)
    : core_(config),
      secrets_(secrets),
      config_(host_config),
      port_(port),
      media_(media, failed_recordings_),
      speaker_(host_config.speaker_buffer),
      relay_(host_config.relay) {
  HAILER_ASSERT(config_.max_sessions_per_address > 0 && config_.max_frames_per_second > 0);
}

// ------------------------------------------------------------------ inputs

void ServerHost::opened(Time now, SessionId session, std::string peer_address, bool instructor_cookie,
                        const ChannelBinding& binding) {
  Busy busy(busy_);
  HAILER_ASSERT(!connections_.contains(session));
  Connection& c = connections_[session];
  auto& [address, count] = *per_address_.try_emplace(peer_address, 0).first;
  if (count >= config_.max_sessions_per_address) {
    // Refused at the door: told why, closed, and never a session (the core is not told).
    ++stats_.refused_per_address;
    ++stats_.messages_out;
    encoded_.clear();
    encode_to(encoded_, ServerMessage{ErrorReply{std::nullopt, ErrorCode::too_many_connections,
                                                 std::string(default_message(ErrorCode::too_many_connections))}});
    port_.send_text(session, encoded_);
    c.open = false;
    port_.close(session, CloseReason::server_full);
    return;
  }
  ++count;
  c.address = &*per_address_.find(address);
  feed(now, SessionOpened{session, std::move(peer_address), secrets_.session_secrets(), instructor_cookie, binding});
  settle(now);
  arm_timer();
}

void ServerHost::load_accounts(Time now, std::vector<Account> accounts) {
  Busy busy(busy_);
  feed(now, AccountsLoaded{std::move(accounts)});
  settle(now);
  arm_timer();
}

void ServerHost::text(Time now, SessionId session, std::string_view text) {
  Busy busy(busy_);
  if (!is_open(session)) return;  // we are closing it: its late words go nowhere
  ++stats_.texts_in;
  DecodeResult decoded = decode_request(text, core_.config().max_message_bytes);
  if (auto* r = std::get_if<Request>(&decoded)) {
    check_invite(now, session, *r);
    feed(now, RequestReceived{session, std::move(*r)});
  } else
    feed(now, BadRequest{session, std::get<DecodeError>(decoded)});
  settle(now);
  arm_timer();
}

// An invite travels no further than here: the core gets the store's verdict on it, for the name
// it claims, just before the register (and the journal keeps the verdict, never the code).
void ServerHost::check_invite(Time now, SessionId session, const Request& request) {
  const auto* reg = std::get_if<RegisterRequest>(&request.body);
  if (reg == nullptr || reg->invite.empty() || invites_ == nullptr || !valid_name(reg->name)) return;
  if (core_.config().accounts != AccountsMode::invite) return;
  const std::string key = name_key(reg->name);
  if (const auto expired = invites_->check(key, reg->invite)) feed(now, InviteChecked{session, key, *expired});
}

// The one judge of an audio frame, for every transport. Refused, with its sender closed: more
// than max_frames_per_second in a second (a flood), a frame before joining a room, a malformed
// one. Else it reaches the speaker when its route is open (the floor holder's), and the core
// tallies it: admitted for the holder, dropped and counted for anyone else.
void ServerHost::binary(Time now, SessionId session, std::span<const uint8_t> message) {
  Busy busy(busy_);
  const auto it = connections_.find(session);  // one lookup per frame: open, and its count
  if (it == connections_.end() || !it->second.open) return;
  ++stats_.binary_in;
  if (core_.face_of(session) == Face::calls) {
    // A calls session's binary messages are its tunnel (a browser's path c): the relay's own
    // limits apply, per leg, and a flood is dropped and told there, never closed.
    ++stats_.tunnel_frames_in;
    relay(now, RelayHop{true, MediaEndpoint{}, session}, message);
    settle(now);
    arm_timer();
    return;
  }
  const std::optional<AudioFormat> format = core_.audio_format(session);
  if (!it->second.frames.take(now, config_.max_frames_per_second)) {
    ++stats_.floods;
    refuse_frame(now, session,
                 "more than " + std::to_string(config_.max_frames_per_second) + " audio frames per second");
  } else if (!format) {
    refuse_frame(now, session, "audio before joining a room");
  } else if (const auto parsed = parse_ptt_frame(message, *format); std::holds_alternative<PttFrameError>(parsed)) {
    refuse_frame(now, session, to_string(std::get<PttFrameError>(parsed)));
  } else {
    if (speaker_.routed(session)) speaker_.insert(now, session, std::get<PttFrame>(parsed));
    feed(now, AudioFrame{session});
  }
  settle(now);
  arm_timer();
}

void ServerHost::datagram(Time now, const MediaEndpoint& from, std::span<const uint8_t> bytes) {
  Busy busy(busy_);
  ++stats_.datagrams_in;
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!bytes.empty() && bytes[0] == relay_marker) {
    relay(now, RelayHop{false, from, SessionId{}}, bytes);
  } else if (const auto probe = parse_media_probe(text)) {
    feed(now, MediaProbe{*probe, from});
  } else {
    ++stats_.datagrams_ignored;
  }
  settle(now);
  arm_timer();
}

void ServerHost::frame(Time now, SessionId session, std::span<const uint8_t> bytes) {
  Busy busy(busy_);
  HAILER_ASSERT(connections_.contains(session));
  ++stats_.tunnel_frames_in;
  relay(now, RelayHop{true, MediaEndpoint{}, session}, bytes);
  settle(now);
  arm_timer();
}

// A call packet for the relay, from the UDP port or a tunnel: forwarded to the other leg of its
// call (or a binding packet answered), or dropped and counted; a leg over its size or rate is told
// (relay_dropped), at most once a second. The core never sees these packets: the relay's legs are
// the core's effects, the data is not its business.
void ServerHost::relay(Time now, const RelayHop& from, std::span<const uint8_t> bytes) {
  // Copied to be rewritten in place; one byte over the limit is enough to tell it is oversized.
  const std::size_t n = std::min(bytes.size(), relayed_.size());
  std::copy_n(bytes.begin(), n, relayed_.begin());
  const RelayVerdict v = relay_.receive(now, from, std::span<uint8_t>(relayed_.data(), n));
  const RelayStats& r = relay_.stats();
  stats_.relay_forwarded = r.forwarded;
  stats_.relay_rebinds = r.rebinds;
  stats_.relay_malformed = r.dropped[static_cast<std::size_t>(RelayDrop::malformed)];
  stats_.relay_unknown_leg = r.dropped[static_cast<std::size_t>(RelayDrop::unknown_leg)];
  stats_.relay_oversized = r.dropped[static_cast<std::size_t>(RelayDrop::oversized)];
  stats_.relay_too_fast = r.dropped[static_cast<std::size_t>(RelayDrop::too_fast)];
  stats_.relay_answered = r.answered;
  const std::span<const uint8_t> out(relayed_.data(), n);
  if (!v.drop && v.to.tunnel) {
    ++stats_.tunnel_frames_out;
    return port_.send_frame(v.to.session, out);
  }
  if (!v.drop) return port_.send_datagram(v.to.udp, out);
  if (!from.tunnel) ++stats_.datagrams_ignored;  // went nowhere, as every datagram that is not a proof
  // Over a tunnel the sender is known even when its leg is not: audio before its call is
  // connected (or after it ended) is told, at most once a second, and dropped.
  if (from.tunnel && *v.drop == RelayDrop::unknown_leg) return tell_no_call(now, from.session);
  if (!v.sender || (*v.drop != RelayDrop::oversized && *v.drop != RelayDrop::too_fast)) return;
  const auto told = relay_told_at_.find(*v.sender);
  HAILER_ASSERT(told != relay_told_at_.end());  // a leg's session is in a live call
  if (told->second && now - *told->second < Duration::from_s(1)) return;
  told->second = now;
  ++stats_.relay_told;
  send(*v.sender, RelayDropped{v.call_id, *v.drop == RelayDrop::oversized ? RelayDropReason::oversized
                                                                          : RelayDropReason::too_fast});
}

void ServerHost::tell_no_call(Time now, SessionId session) {
  auto it = connections_.find(session);
  HAILER_ASSERT(it != connections_.end());
  auto& told = it->second.no_leg_told_at;
  if (told && now - *told < Duration::from_s(1)) return;
  told = now;
  ++stats_.tunnel_told_no_call;
  send(session, ErrorReply{std::nullopt, ErrorCode::not_in_call,
                           "audio on the tunnel for no call of yours (not connected yet, or ended)"});
}

void ServerHost::closed(Time now, SessionId session, CloseReason reason) {
  Busy busy(busy_);
  const auto it = connections_.find(session);
  HAILER_ASSERT(it != connections_.end());
  const bool refused = it->second.address == nullptr;
  const bool core_knows = it->second.core_knows || refused;
  release_address(it->second);
  connections_.erase(it);
  if (!core_knows) feed(now, SessionClosed{session, reason});
  settle(now);
  arm_timer();
}

void ServerHost::release_address(Connection& c) {
  if (c.address == nullptr) return;
  HAILER_ASSERT(c.address->second > 0);
  if (--c.address->second == 0)
    per_address_.erase(per_address_.find(c.address->first));  // by iterator: the key dies with it
  c.address = nullptr;
}

// Recordings the sink could not start or go on with: the talker's instructors are told and the
// turn goes on unrecorded. What the core does in turn may fail more; the list is bounded by the
// turns playing, each failing once.
void ServerHost::settle(Time now) {
  for (std::size_t round = 0; !failed_recordings_.empty(); ++round) {
    HAILER_ASSERT(round < 1000);
    const auto [recording, reason] = failed_recordings_.front();
    failed_recordings_.erase(failed_recordings_.begin());
    if (const auto talker = speaker_.talker_of(recording)) feed(now, RecordingFailed{*talker, reason});
  }
}

void ServerHost::shutdown(Time now) {
  Busy busy(busy_);
  feed(now, Shutdown{});
  settle(now);
}

void ServerHost::timer(Time now) {
  Busy busy(busy_);
  armed_.reset();
  if (const auto deadline = core_.next_deadline(); deadline && *deadline <= now) feed(now, TimerFired{});
  if (const auto tick = speaker_.next_tick(); tick && *tick <= now) {
    levels_.clear();
    speaker_.tick(now, media_, levels_);
    for (const PlayedLevel& l : levels_) feed(now, AudioPlayed{l.talker, l.level_dbfs});
  }
  settle(now);
  arm_timer();
}

// ------------------------------------------------------------------ the feed loop

void ServerHost::feed(Time now, const Event& event) {
  effects_.clear();
  step(core_, now, event, effects_, config_.check_invariants);
  for (const Effect& effect : effects_) apply(now, effect);
  if (observer_ != nullptr) observer_->fed(now, event, effects_);
}

void ServerHost::apply(Time now, const Effect& effect) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, SendMessage>) {
          send(e.to, e.message);
        } else if constexpr (std::is_same_v<T, Broadcast>) {
          ++stats_.broadcasts;
          const SharedText text = std::make_shared<const std::string>(encode(e.message));
          // A lookup per recipient: checked where invariants are (simulator, fuzzing, tests),
          // not in the server, where a room of 1,000 would pay 1,000 cold lookups per event.
          if (config_.check_invariants) {
            for (SessionId to : e.to) HAILER_ASSERT(is_open(to));
          }
          stats_.messages_out += e.to.size();
          port_.send_broadcast(e.to, text);
        } else if constexpr (std::is_same_v<T, CloseSession>) {
          close(e.session, e.reason);
        } else if constexpr (std::is_same_v<T, RouteMedia>) {
          // Calls media flows peer to peer, never through the server: the table only lets the
          // checks compare the routes with the core's calls, so it is kept where they run
          // (hailer-server without them paid two tree nodes per call for nothing).
          if (config_.check_invariants) {
            if (e.open)
              call_routes_.insert({e.from, e.to});
            else
              call_routes_.erase({e.from, e.to});
          }
        } else if constexpr (std::is_same_v<T, RouteSpeaker>) {
          if (e.open)
            speaker_.open(now, e);
          else
            speaker_.close(e.talker);
        } else if constexpr (std::is_same_v<T, StartRecording>) {
          const uint64_t id = next_recording_++;
          media_.record_start(id, e.room, e.file_name);
          speaker_.record(e.session, id);
        } else if constexpr (std::is_same_v<T, AccountClaimed>) {
          if (accounts_ != nullptr) accounts_->claimed(e.account);
        } else if constexpr (std::is_same_v<T, InviteUsed>) {
          if (invites_ != nullptr) invites_->used(e.name_key);
        } else if constexpr (std::is_same_v<T, RelayCall>) {
          apply_relay(e);
        } else {
          static_assert(std::is_same_v<T, StopRecording>);
          // The recording ends with its turn's playout (the buffered tail is still recorded),
          // unless a budget ran out: then not a frame more.
          if (e.at_once) speaker_.stop_recording(e.session, media_);
        }
      },
      effect);
}

void ServerHost::apply_relay(const RelayCall& e) {
  if (!e.open) {
    relay_.close(e.call_id);
    relay_told_at_.erase(e.a);
    relay_told_at_.erase(e.b);
    return;
  }
  if (!relay_.open(e.call_id, e.leg_a, e.a, e.leg_b, e.b)) {
    ++stats_.relay_refused;  // the call keeps its direct path
    return;
  }
  relay_told_at_[e.a] = std::nullopt;
  relay_told_at_[e.b] = std::nullopt;
}

void ServerHost::send(SessionId to, const ServerMessage& message) {
  HAILER_ASSERT(is_open(to));  // the core never sends to a session it closed or that is gone
  ++stats_.messages_out;
  encoded_.clear();  // the capacity stays: one buffer for every message this host sends alone
  encode_to(encoded_, message);
  port_.send_text(to, encoded_);
  if (encoded_.capacity() > encoded_kept_bytes) std::string().swap(encoded_);  // a long `who` is not kept
}

void ServerHost::close(SessionId session, CloseReason reason) {
  auto it = connections_.find(session);
  HAILER_ASSERT(it != connections_.end() && it->second.open);
  it->second.open = false;
  port_.close(session, reason);
}

// A frame the protocol cannot accept: the sender is told why and closed; nobody else notices.
void ServerHost::refuse_frame(Time now, SessionId session, std::string_view detail) {
  ++stats_.bad_frames;
  std::string message(default_message(ErrorCode::bad_frame));
  message += ": ";
  message += detail;
  send(session, ErrorReply{std::nullopt, ErrorCode::bad_frame, message});
  close(session, CloseReason::protocol_error);
  // The core hears the close now: the session's floor, queue place and room are released at once.
  connections_.at(session).core_knows = true;
  feed(now, SessionClosed{session, CloseReason::protocol_error});
}

void ServerHost::arm_timer() {
  std::optional<Time> next = core_.next_deadline();
  if (const auto tick = speaker_.next_tick(); tick && (!next || *tick < *next)) next = tick;
  if (next == armed_) return;
  armed_ = next;
  port_.arm_timer(next);
}

bool ServerHost::is_open(SessionId session) const {
  auto it = connections_.find(session);
  return it != connections_.end() && it->second.open;
}

}  // namespace hailer
