// The protocol client, sans-IO: what a hailer client knows and does, without a socket, clock or
// device. Server text, user commands and the time go in; effects come out (text to send, a UDP
// proof, start or stop media, a tone, what was heard). The CLI, the load tools and the
// simulated clients are shells around it, so they all speak the protocol the same way.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/secret.hpp"
#include "base/time.hpp"
#include "client/call_crypto.hpp"
#include "protocol/codec.hpp"
#include "protocol/login.hpp"
#include "protocol/media_probe.hpp"
#include "protocol/messages.hpp"

namespace hailer {

/// How a client introduces itself and what it does on its own.
struct ClientConfig {
  Face face = Face::calls;
  std::string name;
  uint16_t media_port = 0;  ///< calls: the UDP port RTP arrives at; 0 = no media (no UDP proof)
  std::string room;         ///< PTT
  Role role = Role::student;
  AudioFormat format{AudioCodec::opus, 48'000};
  std::string token;                      ///< PTT instructors, when the server wants one
  std::optional<int64_t> auto_accept_ms;  ///< accept an incoming call this long after it rings
  std::optional<int64_t> auto_recall_ms;  ///< call a freed callee back this long after callee_available
  int64_t ping_interval_ms =
      10'000;                    ///< longest silence before a ping (capped by the server's heartbeat / 3); 0 = never
  int64_t probe_retry_ms = 250;  ///< UDP proof repeated this often until media_ready
  int64_t probe_keepalive_ms = 15'000;  ///< then this often, to keep a NAT binding open
  /// Calls, accounts: the key that logs in to `name` (the CLI's identity); the login is signed
  /// only on a connection with a channel binding (TLS).
  std::optional<LoginKey> login;
  /// Calls, `--accounts invite`: the one-time code that lets `login` claim `name`.
  std::string invite;
  /// Calls: protect every call's audio end to end (SRTP under keys agreed with the peer, signed
  /// with `login`); false = plain RTP (interop with tools that speak no SRTP; insecure).
  bool e2e_media = false;
  /// Where each call's key pair seed comes from (the OS CSPRNG; a seeded stand-in in the
  /// simulator); required with e2e_media, not owned.
  SecretSource* call_secrets = nullptr;
};

/// The client's view of its call.
enum class CallPhase : uint8_t { idle, calling, ringing, connected };
/// The call as the client sees it.
struct CallView {
  CallPhase phase = CallPhase::idle;
  uint64_t call_id = 0;
  std::string peer;
  MediaEndpoint peer_media;  ///< when connected
};

/// The client's view of its wait (call completion on busy).
enum class WaitPhase : uint8_t { none, queued, suspended, recall };
/// The wait as the client sees it.
struct WaitView {
  WaitPhase phase = WaitPhase::none;
  std::string callee;
  uint32_t position = 0;  ///< queued or suspended
  Time window_ends;       ///< recall: the exclusive window closes then
  bool auto_connect = false;
};

/// The client's view of the floor (PTT).
enum class FloorPhase : uint8_t { idle, requesting, talking, queued, denied };
/// The floor as the client sees it.
struct FloorView {
  FloorPhase phase = FloorPhase::idle;
  std::string talker;     ///< who talks, when someone else does (empty when idle or me)
  uint32_t position = 0;  ///< queued
  Time talk_ends;         ///< talking: the turn ends then at the latest
  DenyReason denied = DenyReason::floor_taken;
};

/// Send this text to the server (one message).
struct SendText {
  std::string text;
};
/// Send this datagram to the server's UDP port: it proves our media endpoint.
struct SendProbe {
  std::string payload;
};
/// The server relays a call (docs/protocol.md, "The relay"): its UDP port, and this client's own
/// leg id (derived from the session's media key: no message carries it).
struct RelayOffer {
  uint16_t port = 0;
  RelayLegId leg{};
};
/// A call is connected (and, with end-to-end media, both keys are agreed): start sending RTP to
/// `peer_media` (or through the relay) and playing what `peer` sends.
struct StartCallMedia {
  uint64_t call_id = 0;
  std::string peer;
  MediaEndpoint peer_media;
  std::optional<CallCrypto> crypto;  ///< SRTP keys and safety number; nothing = plain RTP
  std::optional<RelayOffer> relay;   ///< when the server relays the call (paths b and c)
};
/// The peer's call key was refused: no audio on this call (the client hangs it up).
struct CallKeyRefused {
  uint64_t call_id = 0;
  std::string peer;
  std::string reason;
};
/// The call ended: stop media.
struct StopCallMedia {
  uint64_t call_id = 0;
};
/// The floor was granted: capture and send audio frames now.
struct StartTalking {};
/// Stop sending audio: released by the user (send the tail) or taken away (stop at once).
struct StopTalking {
  bool released = false;
};
/// Which tone to play.
enum class Tone : uint8_t { incoming_call, callee_free };
/// Play a short tone (when there is an output device).
struct PlayTone {
  Tone tone = Tone::incoming_call;
};
/// A message from the server, decoded; replies carry their request's type and round trip.
struct Heard {
  ServerMessage message;
  std::string_view request_type;  ///< for replies: the type of the request answered
  std::optional<Duration> reply_rtt;
};
/// The server sent something this client cannot decode (a bug or a newer server).
struct ServerGarbage {
  std::string text;
  DecodeError error;
};

/// Any output of the protocol client.
using ClientEffect = std::variant<SendText, SendProbe, StartCallMedia, StopCallMedia, StartTalking, StopTalking,
                                  PlayTone, Heard, ServerGarbage, CallKeyRefused>;

/// One client session with the server.
/// Contract (asserted, a breach aborts): connected() once per connection, and nothing but
/// connected() until then; `now` never goes backwards across calls.
class ProtocolClient {
 public:
  /// A client that is not connected yet.
  explicit ProtocolClient(ClientConfig config);

  /// The connection is up: introduces itself (register or join).
  void connected(Time now, std::vector<ClientEffect>& out);
  /// The channel binding of the connection about to be reported connected (its TLS exporter);
  /// the login signs it. All zero (the default) on a plaintext connection: no login is sent.
  void set_channel_binding(const ChannelBinding& binding) { binding_ = binding; }
  /// The connection is gone, and with it everything the server knew of us.
  void disconnected(Time now, std::vector<ClientEffect>& out);
  /// One message (line or text frame) from the server.
  void received(Time now, std::string_view text, std::vector<ClientEffect>& out);
  /// A deadline from next_deadline() passed (spurious calls are harmless).
  void timer(Time now, std::vector<ClientEffect>& out);
  /// The earliest time timer() is needed.
  std::optional<Time> next_deadline() const;

  /// Sends a request; returns its id. Press and release also move the floor view.
  uint64_t send(Time now, RequestBody body, std::vector<ClientEffect>& out);
  /// Sends text as is (bad-input tests); a decodable request in it is tracked like any other.
  void send_raw(Time now, std::string text, std::vector<ClientEffect>& out);

  /// True once register/join succeeded on this connection.
  bool registered() const { return registered_; }
  /// True while connected.
  bool is_connected() const { return connected_; }
  /// The call view.
  const CallView& call() const { return call_; }
  /// The wait view.
  const WaitView& wait() const { return wait_; }
  /// The floor view.
  const FloorView& floor() const { return floor_; }
  /// How many callers wait for us.
  uint32_t waiting_count() const { return waiting_count_; }
  /// Missed calls heard on this connection.
  uint32_t missed_calls() const { return missed_; }
  /// The room state (PTT), kept current from events.
  const RoomData& room() const { return room_; }
  /// The endpoint the server saw our UDP proof from, once it did.
  const std::optional<MediaEndpoint>& media_ready() const { return media_ready_; }
  /// Requests sent and not answered yet.
  std::size_t pending() const { return pending_.size(); }
  /// The config.
  const ClientConfig& config() const { return config_; }
  /// The callee whose line this client asked to rejoin at its last registration: it waited for
  /// them when the connection dropped, and the server forgot it (empty when it did not wait).
  const std::string& rejoined_wait() const { return rejoined_wait_; }
  /// True while a connected call waits for the peer's key before its audio may start.
  bool awaiting_peer_key() const { return call_.phase == CallPhase::connected && e2e_waiting_; }

 private:
  struct Pending {
    std::string_view type;
    ReplyKind kind = ReplyKind::none;
    Time sent_at;
    RequestBody body;
  };

  void track(uint64_t id, const RequestBody& body, Time now);
  void note_sent(Time now);
  void advance_to(Time now);  // asserts the contract that time never goes backwards
  void on_reply(Time now, const OkReply& ok, const Pending& p, std::vector<ClientEffect>& out);
  void react(Time now, const ServerMessage& m, std::vector<ClientEffect>& out);
  void on_call_event(Time now, const ServerMessage& m, std::vector<ClientEffect>& out);
  void on_wait_event(Time now, const ServerMessage& m, std::vector<ClientEffect>& out);
  void on_floor_event(Time now, const ServerMessage& m, std::vector<ClientEffect>& out);
  void on_room_event(const ServerMessage& m);
  void start_key_agreement(Time now, uint64_t call_id, CallRole role, std::vector<ClientEffect>& out);
  void on_peer_key(Time now, const PeerMediaKey& m, std::vector<ClientEffect>& out);
  void probe(Time now, std::vector<ClientEffect>& out);
  StartCallMedia start_media() const;
  void reset_state();

  ClientConfig config_;
  ChannelBinding binding_{};
  RegisterRequest register_request() const;
  bool connected_ = false;
  Time last_now_{0};  // the latest time given to any entry point
  bool registered_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;
  int64_t ping_interval_ms_ = 0;
  Time last_sent_;
  std::optional<SecretKey> media_key_;  // from the register reply: what our proofs are MACs under
  uint64_t media_id_ = 0;
  uint64_t probe_counter_ = 0;  // grows with every proof sent on this connection
  std::optional<MediaEndpoint> media_ready_;
  std::optional<Time> probe_at_;
  std::optional<std::pair<Time, uint64_t>> auto_accept_;     // when, which call
  std::optional<std::pair<Time, std::string>> auto_recall_;  // when, which callee
  std::string wait_to_rejoin_;                               // the callee waited for when the connection dropped
  std::string rejoined_wait_;                                // the line asked again at the last registration
  CallView call_;
  std::optional<uint16_t> relay_port_;  // the connected call's, when the server relays it
  WaitView wait_;
  FloorView floor_;
  RoomData room_;
  uint32_t waiting_count_ = 0;
  uint32_t missed_ = 0;
  std::optional<CallKeyAgreement> agreement_;  // the current call's, with end-to-end media
  std::optional<CallCrypto> crypto_;           // agreed for the current call
  bool e2e_waiting_ = false;                   // connected, the peer's key not yet in
};

}  // namespace hailer
