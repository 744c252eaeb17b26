// The server host: what turns the pure core into a server, with no socket, clock or device of
// its own. It owns the connections' view, decodes what arrives, runs the one feed loop (step ->
// observe -> apply effects -> arm the timer), keeps the media route table, plays PTT turns on
// the speaker and records them. hailer-server drives it from Asio/Beast; the simulator from its
// virtual network; both through the same HostPort, so the simulator runs what ships.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/core.hpp"
#include "host/account_store.hpp"
#include "host/host_port.hpp"
#include "host/media_sink.hpp"
#include "host/relay.hpp"
#include "host/speaker.hpp"
#include "host/transport_rules.hpp"

namespace hailer {

/// The host's own settings (the core's are in Config).
struct HostConfig {
  /// Assert the core's invariants after every event: on in tests and the simulator; costs
  /// O(state) per event, so hailer-server leaves it off unless asked.
  bool check_invariants = true;
  /// The speaker's jitter buffer per turn.
  JitterBufferConfig speaker_buffer{};
  /// Sessions (calls connections and classroom WebSockets together) one peer address may hold;
  /// one more is told too_many_connections and closed before the core hears of it, so one
  /// address cannot fill the server for everyone.
  uint32_t max_sessions_per_address = 64;
  /// Audio frames one connection may send per second (real time is 50); one more is a flood:
  /// the sender is told bad_frame and closed.
  uint32_t max_frames_per_second = 100;
  /// The call relay's limits (calls at once, packets per leg).
  RelayLimits relay{};
};

/// Counters of the host (the core keeps its own).
struct HostStats {
  uint64_t texts_in = 0;
  uint64_t binary_in = 0;
  uint64_t messages_out = 0;  ///< one per recipient
  uint64_t broadcasts = 0;    ///< each encoded once
  uint64_t bad_frames = 0;    ///< malformed binary frames, or binary before join (sender closed)
  uint64_t datagrams_in = 0;
  uint64_t datagrams_ignored = 0;    ///< not a media proof, and not a relayed packet sent on
  uint64_t refused_per_address = 0;  ///< connections refused: their address held max_sessions_per_address
  uint64_t floods = 0;               ///< senders closed for more than max_frames_per_second frames in a second
  uint64_t relay_refused = 0;        ///< connected calls the relay had no room for (RelayLimits::max_calls)
  uint64_t relay_told = 0;           ///< relay_dropped events sent
  uint64_t relay_forwarded = 0;      ///< relayed packets sent on to the other leg
  uint64_t relay_rebinds = 0;        ///< a leg's packets came from a new address
  uint64_t relay_malformed = 0;      ///< datagrams with the relay's first byte but not its header
  uint64_t relay_unknown_leg = 0;    ///< relay packets of no live call (an ended call, a guess)
  uint64_t relay_oversized = 0;      ///< relay packets over relay_max_datagram_bytes
  uint64_t relay_too_fast = 0;       ///< relay packets over a leg's rate
  uint64_t relay_answered = 0;       ///< binding packets answered (a client probing the UDP path)
  uint64_t tunnel_frames_in = 0;     ///< tunnel frames read from calls connections (path c)
  uint64_t tunnel_frames_out = 0;    ///< relayed packets sent as tunnel frames
  uint64_t tunnel_told_no_call = 0;  ///< tunnel frames of no live leg of the sender's, told not_in_call
};

/// One server: the core plus everything an adapter would otherwise have to decide.
/// Contract of every entry point below (asserted, a breach aborts): `now` never goes backwards
/// across calls; not re-entrant: a HostPort call made by the host must not call back into the
/// host synchronously (queue it and report it later, as NetServer and the simulator do); a
/// session is opened once, and text/binary/closed name only a session that was opened.
class ServerHost {
 public:
  /// A host around a fresh core; every session's secrets are drawn from `secrets` (the OS
  /// CSPRNG in hailer-server, seeded stand-ins in the simulator and tests).
  /// Messages and closes leave through `port`, played audio and recordings through `media`.
  ServerHost(const Config& config, SecretSource& secrets, HostConfig host_config, HostPort& port, MediaSink& media);

  /// A connection was accepted from `peer_address`; `instructor_cookie` when the web face saw
  /// the instructor's cookie on it.
  void opened(Time now, SessionId session, std::string peer_address, bool instructor_cookie = false,
              const ChannelBinding& binding = {});
  /// Gives the core the accounts kept from earlier runs (before the first connection).
  void load_accounts(Time now, std::vector<Account> accounts);
  /// One protocol message (a line, a text frame) arrived.
  void text(Time now, SessionId session, std::string_view text);
  /// A binary message (a PTT audio frame) arrived.
  void binary(Time now, SessionId session, std::span<const uint8_t> message);
  /// A datagram reached the server's UDP port from `from`.
  void datagram(Time now, const MediaEndpoint& from, std::span<const uint8_t> bytes);
  /// A tunnel frame (a relay datagram, path c) came on `session`'s calls connection (a line-framed
  /// frame on TCP, or a calls session's binary WebSocket message).
  void frame(Time now, SessionId session, std::span<const uint8_t> bytes);
  /// The connection is gone (reported by the port, also after the host asked to close it).
  void closed(Time now, SessionId session, CloseReason reason);
  /// The time asked for with HostPort::arm_timer has come.
  void timer(Time now);
  /// The server is stopping: every client is told and closed (the port reports the closes).
  void shutdown(Time now);

  /// Registers an observer of every feed (nullptr to remove).
  void set_observer(HostObserver* observer) { observer_ = observer; }
  /// Where claimed accounts are kept (nullptr: nowhere beyond the run).
  void set_account_store(AccountStore* store) { accounts_ = store; }
  /// Where invites are checked and used up (`--accounts invite`); none by default: every invite
  /// is then wrong.
  void set_invite_store(InviteStore* store) { invites_ = store; }
  /// The core (read-only).
  const Core& core() const { return core_; }
  /// The host's counters.
  const HostStats& stats() const { return stats_; }
  /// The call relay's own counts.
  const RelayStats& relay_stats() const { return relay_.stats(); }
  /// The speaker's counters.
  const SpeakerStats& speaker_stats() const { return speaker_.stats(); }
  /// The receive statistics of a talker's turn still playing (reports at the end of a run).
  std::optional<StreamStats> turn_stats(SessionId talker) { return speaker_.turn_stats(talker); }
  /// Open call media routes as (from, to) pairs, for checks (kept only with check_invariants).
  const std::set<std::pair<SessionId, SessionId>>& call_routes() const { return call_routes_; }
  /// Sessions whose frames the speaker admits, for checks.
  std::set<SessionId> speaker_routes() const { return speaker_.routed_talkers(); }

 private:
  // Open sessions per peer address; a connection points at its address's entry (references to
  // an unordered_map's elements survive rehashing), so it costs 8 bytes, not a copy of the text.
  using AddressCount = std::pair<const std::string, uint32_t>;

  struct Connection {
    bool open = true;                    // false once the host or core asked the port to close it
    bool core_knows = false;             // the host already told the core it is closed (a refused frame)
    AddressCount* address = nullptr;     // null: refused at the door, the core never heard of it
    FrameRateLimit frames;               // audio frames this second (every transport's flood rule)
    std::optional<Time> no_leg_told_at;  // a tunnel frame of no call of its own: when last told
  };

  // The sink as the speaker and the feed loop see it: every call goes through to the real one,
  // and a recording that cannot start or go on is noted, to be told to the core once the host's
  // own call is done (settle): feeding the core from inside apply() would nest the feed loop.
  class NotingSink final : public MediaSink {
   public:
    NotingSink(MediaSink& sink, std::vector<std::pair<uint64_t, RecordingStopReason>>& failed)
        : sink_(sink), failed_(failed) {}
    void play(const SpeakerFrame& frame) override { sink_.play(frame); }
    std::optional<RecordingStopReason> record_start(uint64_t recording, const std::string& room,
                                                    const std::string& file_name) override {
      return note(recording, sink_.record_start(recording, room, file_name));
    }
    std::optional<RecordingStopReason> record_append(uint64_t recording, std::span<const int16_t> pcm) override {
      return note(recording, sink_.record_append(recording, pcm));
    }
    void record_stop(uint64_t recording) override { sink_.record_stop(recording); }
    void turn_ended(SessionId talker, const StreamStats& stats) override { sink_.turn_ended(talker, stats); }

   private:
    std::optional<RecordingStopReason> note(uint64_t recording, std::optional<RecordingStopReason> reason) {
      if (reason) failed_.emplace_back(recording, *reason);
      return reason;
    }
    MediaSink& sink_;
    std::vector<std::pair<uint64_t, RecordingStopReason>>& failed_;
  };

  void settle(Time now);
  void feed(Time now, const Event& event);
  void check_invite(Time now, SessionId session, const Request& request);
  void apply(Time now, const Effect& effect);
  void send(SessionId to, const ServerMessage& message);
  void relay(Time now, const RelayHop& from, std::span<const uint8_t> bytes);
  void apply_relay(const RelayCall& e);
  void tell_no_call(Time now, SessionId session);
  void close(SessionId session, CloseReason reason);
  void refuse_frame(Time now, SessionId session, std::string_view detail);
  void release_address(Connection& c);
  void arm_timer();
  bool is_open(SessionId session) const;

  Core core_;
  SecretSource& secrets_;
  HostConfig config_;
  HostPort& port_;
  std::vector<std::pair<uint64_t, RecordingStopReason>> failed_recordings_;  // noted by media_, told by settle()
  NotingSink media_;
  HostObserver* observer_ = nullptr;
  AccountStore* accounts_ = nullptr;
  InviteStore* invites_ = nullptr;
  Speaker speaker_;
  Relay relay_;
  std::array<uint8_t, relay_max_datagram_bytes + 1> relayed_{};  // one datagram, its header rewritten in place
  std::map<SessionId, std::optional<Time>> relay_told_at_;       // each relayed leg: when last told of a drop
  // Hashed, never walked: looked up on every message sent (a tree of 10,000 sessions cost 1% of
  // the server's instructions per call cycle in cold lookups).
  std::unordered_map<SessionId, Connection, SessionIdHash> connections_;
  std::unordered_map<std::string, uint32_t> per_address_;  // never walked: its order reaches nothing
  std::set<std::pair<SessionId, SessionId>> call_routes_;  // with check_invariants only
  std::vector<Effect> effects_;
  std::string encoded_;  // every unicast message is encoded here, then copied by the port: no allocation per message
  std::vector<PlayedLevel> levels_;
  std::optional<Time> armed_;
  uint64_t next_recording_ = 1;
  bool busy_ = false;  // inside a host entry point: ports must not call back in
  HostStats stats_;
};

}  // namespace hailer
