// A simulated participant: a thin shell around the shipped ProtocolClient (which decides what
// to send and how to react) and the shipped Playout (which plays what arrives). The shell
// follows the scenario's steps, carries bytes over the simulated network, speaks its audio
// source (RTP peer to peer for calls, binary frames to the server for PTT) and measures.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/prng.hpp"
#include "client/client.hpp"
#include "client/consent.hpp"
#include "client/media_path.hpp"
#include "core/events.hpp"
#include "media/io/resampler.hpp"
#include "media/rtp.hpp"
#include "media/srtp.hpp"
#include "sim/scenario.hpp"
#include "sim/streams.hpp"

namespace hailer::sim {

class World;

/// The UDP port every simulated client declares for RTP.
inline constexpr uint16_t declared_media_port = 5004;

/// What became of a datagram a participant received.
enum class DatagramFate : uint8_t {
  played,         ///< the current peer's RTP, opened if protected, into the playout
  consent,        ///< a consent check or answer
  not_listening,  ///< sent to a port nobody listens on
  foreign,        ///< not from the current peer, or no call
  forged,         ///< SRTP: failed the integrity check
  replayed,       ///< SRTP: the replay window dropped it
  truncated,      ///< SRTP: too short or malformed
  not_rtp,        ///< not RTP at all
};

/// One participant.
class SimulatedClient {
 public:
  /// A participant; `nat_port` is the port its NAT maps its media port to (when it has a NAT).
  SimulatedClient(World& world, const Participant& participant, uint16_t nat_port);
  SimulatedClient(const SimulatedClient&) = delete;
  SimulatedClient& operator=(const SimulatedClient&) = delete;

  /// Who this is.
  const Participant& participant() const { return p_; }
  /// Connects and introduces itself (the participant's start time).
  void start();
  /// Performs one scripted step.
  void do_step(const Step& step);
  /// A fault broke the connection: the server notices after the link latency, we at once.
  void cut();

  /// A message from the server arrived on `conn`; `cause` is when what caused it happened.
  void on_text(uint64_t conn, const std::string& text, Time cause);
  /// The server closed `conn`.
  void on_closed(uint64_t conn);
  /// A datagram arrived at `port` from `from` (a participant, or "server"), sent from its port
  /// `from_port`; `stream` measures its audio (null: the relay's, found by the call). The NAT in
  /// front of us decides first. Says what became of it.
  DatagramFate on_datagram(const std::string& from, uint16_t from_port, uint16_t port,
                           const std::vector<uint8_t>& datagram, AudioStream* stream);
  /// A tunnel frame (a relay packet, path c) arrived on `conn`.
  void on_tunnel_frame(uint64_t conn, const std::vector<uint8_t>& frame);
  /// A firewall starts (or stops) dropping every datagram to and from our media socket.
  void block_udp(bool on) { udp_blocked_now_ = on; }
  /// The stream our audio to the current peer is measured on (null: none).
  AudioStream* out_stream() const { return out_stream_; }
  /// True while a call's media with `peer` runs.
  bool in_call_with(const std::string& peer) const { return in_call_ && peer_ == peer; }
  /// The server opened our speaker route: frames of the coming turn are measured on `stream`.
  void set_turn_stream(AudioStream* stream) { turn_stream_ = stream; }

  /// Datagrams SRTP refused, over the whole run: failed the integrity check, replayed, truncated.
  uint64_t srtp_forged() const { return srtp_forged_; }
  /// Datagrams the replay window dropped, over the whole run.
  uint64_t srtp_replayed() const { return srtp_replayed_; }
  /// Datagrams too short or malformed for SRTP, over the whole run.
  uint64_t srtp_truncated() const { return srtp_truncated_; }

 private:
  struct Frame {
    std::vector<int16_t> pcm;                      // 20 ms at 48 kHz
    const std::vector<uint8_t>* packet = nullptr;  // its Opus packet
  };

  Time now() const;
  void apply(const std::vector<ClientEffect>& effects, const std::string* text = nullptr, Time cause = {});
  void schedule_timer();
  void connect();
  void disconnect(CloseReason reason);
  void lose_connection();
  void send_stream(std::string text);
  void send_binary(std::vector<uint8_t> message, Time leaves_at);
  void send_probe(const std::string& payload);
  Frame next_frame();
  const std::vector<uint8_t>& silence_packet();
  std::vector<uint8_t> frame_payload(const Frame& f);
  // calls media
  void start_media(const StartCallMedia& c);
  void stop_media();
  void media_tick(uint64_t generation);
  void send_rtp();
  void check_consent();
  void on_consent(const std::string& from, uint16_t from_port, const std::vector<uint8_t>& datagram);
  void send_datagram(const std::string& to, uint16_t port, const std::vector<uint8_t>& datagram, AudioStream* stream);
  void send_to_server(const std::vector<uint8_t>& datagram);
  void send_tunnel(const std::vector<uint8_t>& datagram);
  void send_binding();
  DatagramFate on_relayed(const std::vector<uint8_t>& datagram, bool udp);
  DatagramFate receive_media(const std::vector<uint8_t>& datagram, AudioStream* stream);
  void note_route(MediaPathKind route);
  // the NAT in front of the media socket
  bool udp_blocked() const { return p_.nat == NatKind::udp_blocked || udp_blocked_now_; }
  uint16_t source_port(const std::string& to, uint16_t port);
  bool admits(const std::string& from, uint16_t from_port, uint16_t port) const;
  void play(AudioStream& s);
  // PTT media
  void start_talking();
  void stop_talking() { ++talk_generation_; }
  void talk_tick(uint64_t generation);
  void send_raw_audio(uint32_t frames_left, Duration gap);

  World& w_;
  Participant p_;
  uint16_t nat_port_;
  SeededSecrets call_secrets_;  // each call's key pair seed (before client_: it points here)
  ProtocolClient client_;
  Prng rng_;
  uint64_t conn_ = 0;
  std::optional<Time> timer_at_;
  uint64_t timer_generation_ = 0;
  std::vector<ClientEffect> effects_;
  // audio source
  std::size_t source_frame_ = 0;
  std::vector<uint8_t> silence_;
  std::optional<Resampler> to_declared_rate_;  // PTT pcm16 below or above 48 kHz
  // calls
  bool in_call_ = false;
  std::string peer_;
  MediaEndpoint peer_media_;
  uint64_t media_generation_ = 0;
  AudioStream* out_stream_ = nullptr;
  AudioStream* in_stream_ = nullptr;
  std::optional<RtpSender> rtp_;
  bool first_packet_ = false;
  Consent consent_;                  // the peer's endpoint must answer before it gets audio, as in the CLI
  std::optional<MediaPath> path_;    // the call's choice of path, as in the CLI
  std::optional<RelayOffer> relay_;  // the relay's port and our leg, when the server relays the call
  bool udp_blocked_now_ = false;     // a udp_block fault holds
  // The NAT's state: the destinations we sent to (address, port) -> the port we were mapped to
  // for it (one port for every destination, but a symmetric NAT's).
  std::map<std::pair<std::string, uint16_t>, uint16_t> mappings_;
  std::optional<SrtpSender> srtp_out_;  // the call's end-to-end keys, as in the CLI
  std::optional<SrtpReceiver> srtp_in_;
  uint64_t srtp_forged_ = 0;
  uint64_t srtp_replayed_ = 0;
  uint64_t srtp_truncated_ = 0;
  // PTT
  uint64_t talk_generation_ = 0;
  uint16_t ptt_sequence_ = 0;
  uint32_t turn_frames_ = 0;  // frames sent in the current turn
  AudioStream* turn_stream_ = nullptr;
};

}  // namespace hailer::sim
