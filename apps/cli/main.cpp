// hailer: the command-line client of the calls face. A shell around the protocol client
// (client/client.hpp) and call media (media/io/call_media.hpp): a TCP connection to the server, a
// UDP socket for the rendezvous proof and RTP to the peer, a 20 ms media clock, and a terminal
// (apps/cli/terminal.hpp: lines edited in raw mode) or a script on stdin. Nothing here decides what the protocol means.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>
#include <random>

#include "apps/cli/call_audio.hpp"
#include "apps/cli/console.hpp"
#include "apps/cli/server_link.hpp"
#include "apps/cli/terminal.hpp"
#include "apps/cli/tls_trust.hpp"
#include "audio/sound_device.hpp"
#include "base/assert.hpp"
#include "client/consent.hpp"
#include "client/media_path.hpp"
#include "media/io/call_media.hpp"
#include "media/io/wav_file.hpp"
#include "net/os_secrets.hpp"
#include "net/tls_context.hpp"
#include "protocol/codec.hpp"
#include "protocol/names.hpp"
#include "protocol/relay_packet.hpp"
#include "protocol/untrusted_text.hpp"

using namespace hailer;
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

// Exit statuses (docs/operations.md).
constexpr int exit_ok = 0;
constexpr int exit_refused = 1;  // the server refused the name
constexpr int exit_usage = 2;
constexpr int exit_audio = 3;     // an audio file or device could not be used
constexpr int exit_insecure = 4;  // the connection could not be secured (TLS failed, the server's key not trusted)

constexpr auto frame_period = std::chrono::milliseconds(20);
constexpr const char* prompt = "hailer> ";

struct Options {
  std::string server;
  std::string name;
  std::string audio_in = "default";
  std::string audio_out = "default";
  bool audio_in_once = false;  // --audio-in-once: the WAV once per call, then silence
  bool json = false;
  bool auto_accept = false;
  uint16_t media_port = 0;                 // --media-port: the UDP port calls' audio uses (0: any free one)
  bool consent = true;                     // --no-consent turns it off (plain RTP tools cannot answer checks)
  bool plaintext = false;                  // --plaintext: no TLS on the signaling connection (insecure)
  std::optional<std::string> trust_ahead;  // --trust FINGERPRINT, normalized
  std::string known_servers;               // the known_servers file (--known-servers, or the config folder's)
  std::string known_peers;                 // the known_peers file, beside known_servers
  std::optional<LoginKey> identity;        // the account key: logins and call keys are signed with it
  bool plaintext_media = false;            // --plaintext-media: plain RTP, no end-to-end keys (insecure)
  std::string invite;                      // --invite CODE: claims the name on a server with --accounts invite
};

class Shell {
 public:
  Shell(asio::io_context& io, Options options, std::string host, std::string port)
      : io_(io),
        options_(std::move(options)),
        start_(std::chrono::steady_clock::now()),
        udp_(io, udp::endpoint(udp::v4(), options_.media_port)),
        terminal_(
            io, ::isatty(STDIN_FILENO) != 0 && ::isatty(STDOUT_FILENO) != 0 && !options_.json, prompt,
            [this](std::string line) { on_line(line); }, [this] { on_end_of_input(); }),
        client_timer_(io),
        media_timer_(io),
        signals_(io, SIGINT, SIGTERM),
        client_(client_config()),
        media_(CallMediaConfig{}, std::random_device{}()),
        audio_(io, options_.audio_in, options_.audio_out, options_.audio_in_once),
        link_(io,
              cli::ServerLink::Settings{std::move(host), std::move(port), options_.plaintext, options_.json,
                                        options_.known_servers, options_.trust_ahead},
              link_handlers()) {
    tty_ = terminal_.interactive();
  }

  int run() {
    if (!audio_.open()) return exit_audio;
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) quit(exit_ok);
    });
    terminal_.start();
    receive_datagram();
    link_.connect();
    io_.run();
    terminal_.stop();
    audio_.save();
    return exit_code_;
  }

  void quit(int code) {
    if (quitting_) return;
    quitting_ = true;
    exit_code_ = code;
    std::vector<ClientEffect> out;
    client_.disconnected(now(), out);
    apply(out);
    link_.finish();  // what is queued is written first (a hangup before quit), then everything closes
  }

 private:
  ClientConfig client_config() const {
    ClientConfig c;
    c.face = Face::calls;
    c.name = options_.name;
    c.media_port = udp_.local_endpoint().port();
    c.login = options_.identity;
    c.e2e_media = !options_.plaintext_media;
    c.invite = options_.invite;
    c.call_secrets = &os_secrets_;
    if (options_.auto_accept) c.auto_accept_ms = 0;
    return c;
  }

  Time now() const {
    return Time{
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_).count()};
  }

  // ------------------------------------------------------------------ output

  // Every line out passes here. Server text was escaped where it was put in a sentence
  // (console.cpp); this makes sure nothing a terminal would obey is left in any line, our own
  // line breaks excepted (a JSON line has none, and keeps valid: only raw characters become \u
  // escapes).
  void say(const std::string& text) {
    std::string line;
    for (std::size_t start = 0; start <= text.size();) {
      const auto end = std::min(text.find('\n', start), text.size());
      if (start > 0) line += '\n';
      line += escape_untrusted(std::string_view(text).substr(start, end - start));
      start = end + 1;
    }
    terminal_.print(line);
  }

  // A local happening: a sentence for people, a JSON object for scripts.
  void note(const std::string& text, nlohmann::ordered_json j) {
    if (options_.json)
      say(j.dump());
    else
      say(text);
  }

  // ------------------------------------------------------------------ signaling connection

  cli::ServerLink::Handlers link_handlers() {
    cli::ServerLink::Handlers h;
    h.up = [this] { on_link_up(); };
    h.line = [this](const std::string& line) {
      std::vector<ClientEffect> out;
      client_.received(now(), line, out);
      apply(out, &line);
    };
    h.frame = [this](std::span<const uint8_t> datagram) { on_relayed(datagram, false); };
    h.down = [this] { on_link_down(); };
    h.note = [this](const std::string& text, nlohmann::ordered_json j) { note(text, std::move(j)); };
    h.json_only = [this](const nlohmann::ordered_json& j) {
      if (options_.json) say(j.dump());
    };
    h.insecure = [this] { quit(exit_insecure); };
    h.drained = [this] { close_all(); };
    return h;
  }

  // The signaling connection is up (and secured unless --plaintext): the protocol starts. Over
  // TLS the login signs this connection's channel binding.
  void on_link_up() {
    client_.set_channel_binding(link_.channel_binding());
    std::vector<ClientEffect> out;
    client_.connected(now(), out);
    apply(out);
  }

  // The connection is gone: the client hears it (a call does not survive its signaling
  // connection: the server ends it for the peer too). The link retries.
  void on_link_down() {
    const CallView call = client_.call();
    std::vector<ClientEffect> out;
    client_.disconnected(now(), out);
    apply(out);
    if (call.phase != CallPhase::idle) call_lost(call.peer, server_closing_);
    server_closing_ = false;
  }

  // A call cut by the server going (it said server_closing) or by the connection breaking.
  void call_lost(const std::string& peer, bool closing) {
    note("call with " + escape_untrusted(peer) +
             " ended: " + (closing ? std::string("the server is restarting") : "the connection to the server was lost"),
         {{"type", "call_lost"}, {"peer", peer}, {"reason", closing ? "server_closing" : "connection_lost"}});
  }

  void close_all() {
    boost::system::error_code ignored;
    link_.stop();
    udp_.close(ignored);
    terminal_.stop();
    client_timer_.cancel();
    media_timer_.cancel();
    audio_.stop();
    signals_.cancel();
  }

  // ------------------------------------------------------------------ protocol client effects

  void apply(const std::vector<ClientEffect>& effects, const std::string* text = nullptr) {
    bool registered_now = false;
    for (const ClientEffect& e : effects) {
      if (const auto* h = std::get_if<Heard>(&e); h != nullptr && std::holds_alternative<OkReply>(h->message)) {
        const auto& data = std::get<OkReply>(h->message).data;
        if (const auto* r = std::get_if<RegisteredData>(&data)) {
          rendezvous_port_ = r->rendezvous_port.value_or(0);
          registered_once_ = true;
          registered_now = true;
          link_.reset_backoff();
        }
      }
    }
    for (const ClientEffect& e : effects) apply_one(e, text);
    arm_client_timer();
    if (registered_now && !client_.rejoined_wait().empty()) {
      const std::string& callee = client_.rejoined_wait();
      note("the server lost your place in line for " + escape_untrusted(callee) +
               " when the connection dropped: asking for a place again",
           {{"type", "wait_rejoined"}, {"callee", callee}});
    }
    if (!held_lines_.empty() && client_.registered()) send_held_lines();
  }

  void apply_one(const ClientEffect& effect, const std::string* text) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, SendText>) {
            link_.send(e.text);
          } else if constexpr (std::is_same_v<T, SendProbe>) {
            if (rendezvous_port_ == 0) return;
            boost::system::error_code ignored;
            udp_.send_to(asio::buffer(e.payload), udp::endpoint(link_.server_address(), rendezvous_port_), 0, ignored);
          } else if constexpr (std::is_same_v<T, StartCallMedia>) {
            start_media(e);
          } else if constexpr (std::is_same_v<T, StopCallMedia>) {
            stop_media();
          } else if constexpr (std::is_same_v<T, PlayTone>) {
            audio_.play_tone(e.tone);
          } else if constexpr (std::is_same_v<T, Heard>) {
            on_heard(e, text);
            if (const auto* c = std::get_if<CallConnected>(&e.message); c != nullptr && client_.awaiting_peer_key())
              note("waiting for " + escape_untrusted(c->peer) +
                       "'s call key: the audio starts when it arrives (a peer started with --plaintext-media never "
                       "sends one)",
                   {{"type", "awaiting_key"}, {"peer", c->peer}});
          } else if constexpr (std::is_same_v<T, CallKeyRefused>) {
            note("refused " + escape_untrusted(e.peer) + "'s call key: " + e.reason +
                     "; no audio can be private on this call: hanging up",
                 {{"type", "call_key_refused"}, {"peer", e.peer}, {"reason", e.reason}});
          } else if constexpr (std::is_same_v<T, ServerGarbage>) {
            note("the server sent something this client cannot read: " + e.error.detail,
                 {{"type", "server_garbage"}, {"detail", e.error.detail}, {"text", e.text}});
          } else {
            // StartTalking / StopTalking: push-to-talk is the web pages' face.
          }
        },
        effect);
  }

  void on_heard(const Heard& h, const std::string* text) {
    if (const auto* err = std::get_if<ErrorReply>(&h.message); err != nullptr && err->code == ErrorCode::tls_required) {
      // A plaintext client on a port that speaks TLS: nothing will change by retrying.
      const nlohmann::ordered_json as_sent = nlohmann::ordered_json::parse(text != nullptr ? *text : encode(h.message));
      note("hailer: " + link_.server() + " speaks TLS (the server said tls_required): connect without --plaintext",
           as_sent);
      quit(exit_insecure);
      return;
    }
    if (const auto* err = std::get_if<ErrorReply>(&h.message); err != nullptr && h.request_type == "register") {
      const nlohmann::ordered_json as_sent = nlohmann::ordered_json::parse(text != nullptr ? *text : encode(h.message));
      // Refused at the first registration, or by a script: nothing will change by waiting.
      if (!registered_once_ || !tty_) {
        note("the server refused the name " + options_.name + ": " + escape_untrusted(err->message), as_sent);
        quit(exit_refused);
        return;
      }
      // Back after a drop, someone has taken the name meanwhile: a person at a terminal is told,
      // and the client tries again with backoff (the other session may be a ghost of its own).
      if (options_.json) say(as_sent.dump());
      link_.lost("the server refused the name " + options_.name + " (" + escape_untrusted(err->message) + ")");
      return;
    }
    if (std::holds_alternative<ServerClosing>(h.message)) server_closing_ = true;
    // A closing server ends calls as it closes the peers' sessions (peer_disconnected): said as
    // what it is, the server going, not the peer.
    if (const auto* ended = std::get_if<CallEnded>(&h.message);
        server_closing_ && ended != nullptr && ended->reason == EndReason::peer_disconnected) {
      if (options_.json) say(text != nullptr ? *text : encode(h.message));
      call_lost(ended->peer, true);
      return;
    }
    if (options_.json) {
      // The client's own heartbeat is no news: its oks are not printed.
      if (std::holds_alternative<OkReply>(h.message) && h.request_type == "ping") return;
      say(text != nullptr ? *text : encode(h.message));
      return;
    }
    if (const auto* ringing = std::get_if<CallRinging>(&h.message)) callee_ = ringing->role == CallRole::callee;
    cli::DescribeContext context;
    context.callee = callee_;
    context.wall_now_s = static_cast<int64_t>(std::time(nullptr));
    // A closing server ends waits as it closes the callees' sessions: not the callee's doing.
    if (const auto* ended = std::get_if<WaitEnded>(&h.message);
        server_closing_ && ended != nullptr && ended->reason == WaitEndReason::callee_offline)
      return;
    if (auto line = cli::describe(h, context)) say(*line);
  }

  void arm_client_timer() {
    const auto deadline = client_.next_deadline();
    if (!deadline || quitting_) {
      client_timer_.cancel();
      return;
    }
    client_timer_.expires_at(start_ + std::chrono::microseconds(deadline->us));
    client_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || quitting_) return;
      std::vector<ClientEffect> out;
      client_.timer(now(), out);
      apply(out);
    });
  }

  // ------------------------------------------------------------------ media

  void start_media(const StartCallMedia& c) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(c.peer_media.address, ec);
    direct_ok_ = !ec && c.peer_media.port != 0;
    if (!direct_ok_ && !c.relay) {
      note("no usable media endpoint for " + c.peer + ": no audio in this call",
           {{"type", "media_error"}, {"peer", c.peer}});
      return;
    }
    if (direct_ok_) peer_ = udp::endpoint(address, c.peer_media.port);
    path_.emplace(c.relay.has_value());
    relay_ = c.relay;
    if (relay_) relay_endpoint_ = udp::endpoint(link_.server_address(), relay_->port);
    announced_path_ = MediaPathKind::none;
    path_since_ = now();
    media_started_at_ = now();
    first_heard_at_.reset();
    media_source_.reset();
    foreign_datagrams_ = 0;
    frames_held_ = 0;
    if (options_.consent && direct_ok_) consent_.start(now());
    media_.start(c.crypto ? std::optional<SrtpKeys>(c.crypto->keys) : std::nullopt);
    audio_.start_call();
    media_peer_ = c.peer;
    const std::string peer = escape_untrusted(c.peer);
    if (c.crypto) {
      const cli::PeerKeyCheck k =
          cli::check_peer_key(link_.server() + "/" + name_key(c.peer), c.crypto->peer_account, options_.known_peers);
      note("the call with " + peer + " is end-to-end encrypted; safety number " + c.crypto->safety_number +
               " (compare it with " + peer + ": a different number means someone is in between)",
           {{"type", "call_secured"},
            {"peer", c.peer},
            {"safety_number", c.crypto->safety_number},
            {"peer_key", std::string(to_string(k.verdict))},
            {"peer_key_fingerprint", k.seen}});
      report_peer_key(peer, k);
    } else {
      note("the call with " + peer + " is plain RTP (--plaintext-media): anyone on the path can hear it",
           {{"type", "call_unprotected"}, {"peer", c.peer}});
    }
    next_tick_ = std::chrono::steady_clock::now() + frame_period;
    tick();
  }

  // What the pin of the peer's account key says: its first end-to-end call (pinned now), the key
  // known from before (nothing to say), or another key than last time, loudly: a server in the
  // middle shows one, and so does the peer's other device.
  void report_peer_key(const std::string& peer, const cli::PeerKeyCheck& k) {
    if (!k.write_error.empty())
      note("could not pin " + peer + "'s key: " + k.write_error,
           {{"type", "peer_key_error"}, {"error", k.write_error}});
    if (k.verdict == TrustVerdict::first_use) {
      note("first end-to-end call with " + peer + ": their key " + k.seen + " is pinned in " + options_.known_peers +
               "; compare the safety number once to be sure it is theirs",
           {{"type", "peer_key"}, {"peer", peer}, {"state", "first_use"}, {"fingerprint", k.seen}});
    } else if (k.verdict == TrustVerdict::changed) {
      note("WARNING: " + peer + "'s account key is not the one pinned in " + options_.known_peers + " (" + k.pinned +
               ", now " + k.seen + "). If " + peer +
               " did not move to another device or reset their key, someone may be in the middle: compare the "
               "safety number before you say anything. To accept the new key, delete " +
               peer + "'s line in that file.",
           {{"type", "peer_key"},
            {"peer", peer},
            {"state", "changed"},
            {"fingerprint", k.seen},
            {"pinned", k.pinned},
            {"file", options_.known_peers}});
    }
  }

  void stop_media() {
    media_timer_.cancel();
    const uint64_t consent_checks = consent_.checks_sent();
    consent_.stop();
    const auto summary = media_.stop();
    const std::optional<MediaPath> ended_path = std::exchange(path_, std::nullopt);
    relay_.reset();
    if (!summary) return;
    HAILER_ASSERT(ended_path.has_value());  // a call's media started with its path
    const MediaPath& path = *ended_path;
    audio_.save();  // a killed client still leaves what it heard so far
    const int64_t first_audio_ms =
        first_heard_at_ ? (*first_heard_at_ - media_started_at_).us / 1000 : -1;  // -1: nothing was heard
    note("call statistics: " + summary->describe() + ", path " + to_string(path.current()) +
             (path.switches() > 0 ? " (" + std::to_string(path.switches()) + " switches)" : ""),
         {{"type", "call_stats"},
          {"peer", media_peer_},
          {"packets_sent", summary->packets_sent},
          {"bytes_sent", summary->bytes_sent},
          {"duration_s", summary->duration_s},
          {"received", summary->stats.received},
          {"lost", summary->stats.lost},
          {"late", summary->stats.late},
          {"concealed", summary->stats.concealed},
          {"jitter_ms", summary->stats.jitter_ms},
          {"buffer_delay_ms", summary->buffer_delay_ms},
          {"mos", summary->mos},
          {"foreign_datagrams", foreign_datagrams_ + media_.other_streams()},
          {"consent_checks", consent_checks},
          {"frames_held", frames_held_},
          {"protected", summary->protected_media},
          {"srtp_forged", summary->srtp_forged},
          {"srtp_replayed", summary->srtp_replayed},
          {"srtp_truncated", summary->srtp_truncated},
          {"path", to_string(path.current())},
          {"packets_direct", path.packets_on(MediaPathKind::direct)},
          {"packets_relay", path.packets_on(MediaPathKind::relay)},
          {"packets_tunnel", path.packets_on(MediaPathKind::tunnel)},
          {"path_switches", path.switches()},
          {"first_audio_ms", first_audio_ms},
          {"tunnel_frames_dropped", link_.frames_dropped()}});
  }

  // One 20 ms media period, on an absolute schedule (no drift).
  void tick() {
    media_timer_.expires_at(next_tick_);
    media_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || !media_.active()) return;
      next_tick_ += frame_period;
      if (direct_ok_) check_consent();
      send_binding();
      if (audio_.sends()) send_frame(audio_.next_frame());
      report_path();
      audio_.heard(media_.play(now()).pcm);
      tick();
    });
  }

  // One frame to the peer, on the best path that works now (client/media_path.hpp): direct while
  // the peer's endpoint grants consent, else the relay's UDP port while it answers, else the
  // tunnel on the signaling connection.
  void send_frame(const std::vector<int16_t>& pcm) {
    const bool direct =
        direct_ok_ &&
        (!options_.consent || (consent_.granted(now()) && MediaPath::direct_fresh(now(), consent_.answered_at())));
    const MediaPathKind route = path_->route(now(), direct);
    if (route == MediaPathKind::none) {
      ++frames_held_;  // the peer's endpoint has not answered (yet, or any more), and no relay
      return;
    }
    const auto datagram = media_.send_frame(pcm);
    boost::system::error_code ignored;
    if (route == MediaPathKind::direct) {
      udp_.send_to(asio::buffer(datagram), peer_, 0, ignored);
      return;
    }
    const std::vector<uint8_t> wrapped = relay_wrap(relay_->leg, datagram);
    if (route == MediaPathKind::relay)
      udp_.send_to(asio::buffer(wrapped), relay_endpoint_, 0, ignored);
    else
      link_.send_frame(wrapped);
  }

  // A binding packet to the relay's UDP port when one is due: its answer proves that path.
  void send_binding() {
    if (!path_->binding_due(now())) return;
    const std::vector<uint8_t> binding = relay_binding(relay_->leg);
    boost::system::error_code ignored;
    udp_.send_to(asio::buffer(binding), relay_endpoint_, 0, ignored);
    path_->binding_sent(now());
  }

  // A change of path is told once it has held for a second: a call climbs from the tunnel to the
  // relay to direct in its first hundred milliseconds, and one line says where it settled.
  void report_path() {
    if (const auto change = path_->take_change()) path_since_ = now();
    const MediaPathKind current = path_->current();
    if (current == announced_path_ || now() - path_since_ < Duration::from_ms(path_settled_ms)) return;
    const MediaPathKind was = std::exchange(announced_path_, current);
    static const char* const says[] = {"nowhere (no path to the peer)", "directly to the peer",
                                       "through the server's relay (UDP)",
                                       "through the signaling connection (tunnel: UDP is blocked)"};
    std::string text = "audio goes " + std::string(says[static_cast<int>(current)]);
    if (was != MediaPathKind::none) text += std::string(" now (was: ") + to_string(was) + ")";
    note(text, {{"type", "call_path"}, {"peer", media_peer_}, {"path", to_string(current)}, {"was", to_string(was)}});
  }

  // A relayed datagram (from the relay's UDP port, or a tunnel frame): the peer's packet, or the
  // answer to our binding; anything not for our leg is counted and dropped.
  void on_relayed(std::span<const uint8_t> datagram, bool udp) {
    if (!media_.active() || !relay_) return;
    const auto inner = relay_unwrap(relay_->leg, datagram);
    if (!inner) {
      ++foreign_datagrams_;
      return;
    }
    if (inner->empty()) {
      if (udp) path_->relay_answered(now());
      return;
    }
    heard_packet();
    media_.receive(now(), *inner);
  }

  void heard_packet() {
    if (!first_heard_at_) first_heard_at_ = now();
  }

  // Sends the consent check that is due (docs/protocol.md, "Consent"), with a fresh nonce from
  // the OS: audio goes to the peer's endpoint only while it answers them.
  void check_consent() {
    const Time t = now();
    const auto due = consent_.next_deadline();
    if (!due || *due > t) return;  // nothing to send: no randomness drawn either
    ConsentNonce nonce{};
    net::OsSecrets().fill(nonce);
    if (const auto check = consent_.poll(t, nonce)) {
      boost::system::error_code ignored;
      udp_.send_to(asio::buffer(*check), peer_, 0, ignored);
    }
  }

  // A consent datagram on the media socket: a check from the peer's host is answered to where it
  // came from (the same size back: nothing to amplify); an answer counts only from the endpoint
  // our checks went to.
  void on_consent_datagram(std::string_view datagram, const udp::endpoint& from) {
    if (const auto answer = consent_answer(datagram)) {
      if (from.address() != peer_.address()) return;
      boost::system::error_code ignored;
      udp_.send_to(asio::buffer(*answer), from, 0, ignored);
    } else if (from == peer_) {
      consent_.on_answer(now(), datagram);
    }
  }

  // Whose datagrams are this call's audio: the announced endpoint always; before it is heard,
  // the first source on the peer's host (a tool or a NAT that sends from another port), latched.
  // Anything else (a third party on another port or host) is dropped and counted.
  bool from_peer(const udp::endpoint& from) {
    if (from == peer_) {
      if (media_source_ && *media_source_ != from) media_.restart_playout();  // drop what the other source left
      media_source_ = from;
      return true;
    }
    if (from.address() != peer_.address()) return false;
    if (!media_source_) media_source_ = from;
    return from == *media_source_;
  }

  void receive_datagram() {
    udp_.async_receive_from(asio::buffer(datagram_), datagram_from_,
                            [this](const boost::system::error_code& ec, std::size_t n) {
                              if (ec == asio::error::operation_aborted || quitting_) return;
                              if (!ec && media_.active()) {
                                const std::string_view text(reinterpret_cast<const char*>(datagram_.data()), n);
                                const std::span<const uint8_t> bytes(datagram_.data(), n);
                                if (relay_ && datagram_from_ == relay_endpoint_ && n > 0 && bytes[0] == relay_marker) {
                                  on_relayed(bytes, true);
                                } else if (!direct_ok_) {
                                  ++foreign_datagrams_;
                                } else if (is_consent_datagram(text)) {
                                  on_consent_datagram(text, datagram_from_);
                                } else if (from_peer(datagram_from_)) {
                                  heard_packet();
                                  media_.receive(now(), bytes);
                                } else {
                                  ++foreign_datagrams_;
                                }
                              }
                              receive_datagram();
                            });
  }

  // ------------------------------------------------------------------ input

  // Ctrl-D on an empty line, or the end of a script: the same as `quit`, once the commands
  // waiting for the connection have gone.
  void on_end_of_input() {
    if (held_lines_.empty())
      quit(exit_ok);
    else
      end_after_held_ = true;
  }

  void on_line(const std::string& line) {
    const cli::Command c = cli::parse_command(line, client_);
    if (const auto* body = std::get_if<RequestBody>(&c)) {
      if (!client_.registered()) return hold_until_registered(line);
      std::vector<ClientEffect> out;
      client_.send(now(), *body, out);
      apply(out);
    } else if (const auto* local = std::get_if<cli::LocalCommand>(&c)) {
      switch (*local) {
        case cli::LocalCommand::help:
          note(cli::help_text(), help_json());
          break;
        case cli::LocalCommand::wait:
          note(cli::describe_wait(client_, now()), wait_json());
          break;
        case cli::LocalCommand::quit:
          quit(exit_ok);
          break;
      }
    } else if (const auto* error = std::get_if<cli::CommandError>(&c)) {
      note(error->message, {{"type", "command_error"}, {"message", error->message}});
    }
  }

  // A command typed (or piped) before the connection is up waits for it, in order, so a script
  // needs no sleep. Bounded: past max_held_lines the line is refused, and said so.
  void hold_until_registered(const std::string& line) {
    if (held_lines_.size() >= max_held_lines) {
      const std::string message = "not connected yet, and " + std::to_string(max_held_lines) +
                                  " commands already wait for the connection: '" + line + "' was dropped";
      note(message, {{"type", "command_error"}, {"message", message}});
      return;
    }
    held_lines_.push_back(line);
    note("not connected yet: '" + line + "' will be sent once registered",
         {{"type", "command_held"}, {"command", line}});
  }

  // Registered: the held commands go, in the order they were typed; an end of input that came
  // meanwhile ends the run after them.
  void send_held_lines() {
    while (!held_lines_.empty() && client_.registered() && !quitting_) {
      const std::string line = std::move(held_lines_.front());
      held_lines_.pop_front();
      on_line(line);
    }
    if (held_lines_.empty() && end_after_held_) quit(exit_ok);
  }

  nlohmann::ordered_json help_json() const {
    nlohmann::ordered_json commands = nlohmann::ordered_json::array();
    for (const auto& [command, does] : cli::help_entries()) commands.push_back({{"command", command}, {"does", does}});
    return {{"type", "help"}, {"commands", commands}};
  }

  nlohmann::ordered_json wait_json() const {
    static const char* phases[] = {"none", "queued", "suspended", "recall"};
    const WaitView& w = client_.wait();
    return {
        {"type", "wait"}, {"phase", phases[static_cast<int>(w.phase)]}, {"callee", w.callee}, {"position", w.position}};
  }

  asio::io_context& io_;
  Options options_;
  std::chrono::steady_clock::time_point start_;
  udp::socket udp_;
  cli::Terminal terminal_;
  asio::steady_timer client_timer_, media_timer_;
  asio::signal_set signals_;
  mutable net::OsSecrets os_secrets_;  // each call's key pair seed (before client_: it points here); stateless
  ProtocolClient client_;
  CallMedia media_;
  bool registered_once_ = false;
  bool quitting_ = false;
  bool callee_ = false;          // this client was the callee of the latest call (how its end is told)
  bool server_closing_ = false;  // the server said server_closing on this connection
  static constexpr std::size_t max_held_lines = 64;
  std::deque<std::string> held_lines_;  // commands typed before registration, sent once registered
  bool end_after_held_ = false;         // the input ended while commands were held
  bool tty_ = false;
  int exit_code_ = exit_ok;
  uint16_t rendezvous_port_ = 0;
  udp::endpoint peer_;
  bool direct_ok_ = false;                              // the peer's endpoint is usable (path a can be tried)
  std::optional<MediaPath> path_;                       // this call's choice of path
  std::optional<RelayOffer> relay_;                     // the relay's port and our leg, when the server relays the call
  udp::endpoint relay_endpoint_;                        // the relay's UDP port on the server
  MediaPathKind announced_path_ = MediaPathKind::none;  // the path the user was last told
  Time path_since_{0};                                  // when the path last changed
  static constexpr int64_t path_settled_ms = 1'000;
  Time media_started_at_{0};                   // the call's audio started (for first_audio_ms)
  std::optional<Time> first_heard_at_;         // the first packet of the peer's audio arrived
  std::optional<udp::endpoint> media_source_;  // the source latched for this call (from_peer)
  uint64_t foreign_datagrams_ = 0;             // datagrams from anyone else, this call
  Consent consent_;                            // the peer's endpoint must keep answering to get audio
  uint64_t frames_held_ = 0;                   // frames not sent for want of consent, this call
  std::string media_peer_;
  std::chrono::steady_clock::time_point next_tick_;
  std::array<uint8_t, 2048> datagram_{};
  udp::endpoint datagram_from_;
  cli::CallAudio audio_;
  cli::ServerLink link_;  // last: its handlers use the members above
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hailer: call people by name through a hailer-server and talk peer to peer.\n"
      "Type commands (help lists them); events are printed as they happen. When the callee is busy you\n"
      "are queued and told the instant they are free. Commands are read from stdin when it is not a terminal.",
      "hailer"};
  Options o;
  app.add_option("--server", o.server, "the server's signaling address, HOST:PORT");
  app.add_option("--name", o.name, "your user name (letters, digits, _ . -)");
  app.add_option("--audio-in", o.audio_in,
                 "what you say: default (the default microphone; audio off with a warning when there is none), "
                 "a device (index or part of its name), FILE.wav (from its start at every call, over and over) or "
                 "none")
      ->capture_default_str();
  app.add_flag("--audio-in-once", o.audio_in_once, "send the --audio-in FILE.wav once per call, then silence");
  app.add_option("--audio-out", o.audio_out,
                 "what you hear: default, a device, FILE.wav (written at hangup and exit) or none")
      ->capture_default_str();
  bool list_devices = false;
  app.add_option("--media-port", o.media_port,
                 "the UDP port calls' audio comes and goes on (default: any free one); a firewall that lets it "
                 "through carries audio peer to peer, else it goes through the server")
      ->check(CLI::Range(1, 65535));
  app.add_flag("--list-devices", list_devices, "list the sound devices and exit");
  app.add_flag("--json", o.json, "print one JSON object per line: the server's messages as sent, and local events");
  app.add_flag("--auto-accept", o.auto_accept, "answer incoming calls at once");
  bool no_consent = false;
  app.add_flag("--no-consent", no_consent,
               "send audio to the peer's endpoint without asking it first (INSECURE: for plain RTP tools such as "
               "ffmpeg, which cannot answer consent checks; whoever can move that endpoint can aim your audio at a "
               "third party)");
  app.add_flag("--plaintext", o.plaintext,
               "no TLS on the signaling connection: INSECURE, anyone on the path reads and changes your calls' "
               "signaling (for a server started with --plaintext: tests and tools)");
  app.add_flag("--plaintext-media", o.plaintext_media,
               "plain RTP instead of end-to-end encrypted SRTP: INSECURE, anyone on the path hears your calls (for "
               "tools such as ffmpeg that speak no SRTP; both peers must use it)");
  app.add_option("--invite", o.invite,
                 "the invite code the server's operator gave you for this name (a server with --accounts invite)");
  bool show_key = false;
  app.add_flag("--show-key", show_key,
               "print your account key's public half and exit (to add this device to your name on another: "
               "add-key)");
  std::string trust;
  app.add_option("--trust", trust,
                 "trust the server whose key has this fingerprint (SHA256:... as hailer-server prints it) and pin it");
  std::string identity_file;
  app.add_option("--identity", identity_file,
                 "your account key (made on first use, 0600; default: $XDG_CONFIG_HOME/hailer/identity, else "
                 "~/.config/hailer/identity): on a server with accounts, your name belongs to it");
  app.add_option("--known-servers", o.known_servers,
                 "the file of pinned server keys (default: $XDG_CONFIG_HOME/hailer/known_servers, else "
                 "~/.config/hailer/known_servers)");
  app.footer(
      "Exit status: 0 after quit or end of input, 1 when the server refuses the name, 2 on a usage error,\n"
      "3 when an audio file cannot be used, 4 when the connection cannot be secured (TLS failed, the server's\n"
      "key changed or is not the --trust one, or the server wants TLS and --plaintext was given).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }
  o.consent = !no_consent;
  if (!trust.empty()) {
    o.trust_ahead = normalize_fingerprint(trust);
    if (!o.trust_ahead) {
      std::fprintf(stderr, "hailer: --trust takes a key fingerprint, SHA256: and 64 hex digits (got %s)\n",
                   escape_untrusted(trust).c_str());
      return exit_usage;
    }
    if (o.plaintext) {
      std::fprintf(stderr, "hailer: --trust and --plaintext do not go together (there is no key without TLS)\n");
      return exit_usage;
    }
  }
  if (o.known_servers.empty()) o.known_servers = cli::config_dir() + "/known_servers";
  {
    const auto slash = o.known_servers.rfind('/');
    o.known_peers = (slash == std::string::npos ? std::string(".") : o.known_servers.substr(0, slash)) + "/known_peers";
  }
  // The identity signs logins (TLS only) and every call's key (end-to-end media, TLS or not).
  if (!o.plaintext || !o.plaintext_media) {
    if (identity_file.empty()) identity_file = cli::config_dir() + "/identity";
    try {
      bool made = false;
      o.identity = cli::load_or_make_identity(identity_file, made);
      if (made)
        std::fprintf(stderr,
                     "hailer: made your account key in %s (0600): keep it, and back it up; on a server with "
                     "accounts your names belong to it\n",
                     identity_file.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hailer: %s\n", e.what());
      return exit_usage;
    }
  }
  if (show_key) {
    if (!o.identity) {
      std::fprintf(stderr, "hailer: --show-key needs your identity (not with --plaintext --plaintext-media)\n");
      return exit_usage;
    }
    std::printf("%s\n", login_key_hex(*o.identity).c_str());
    return exit_ok;
  }
  if (list_devices) {
    try {
      audio::SoundSystem system;
      const auto devices = system.devices();
      if (devices.empty()) std::printf("no sound devices\n");
      for (const auto& d : devices) {
        std::printf("%2d  %-40s %-28s in %d  out %d  %.0f Hz\n", d.index, d.name.c_str(), d.host_api.c_str(),
                    d.max_input_channels, d.max_output_channels, d.default_rate_hz);
      }
      return exit_ok;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hailer: %s\n", e.what());
      return exit_audio;
    }
  }
  if (o.server.empty() || o.name.empty()) {
    std::fprintf(stderr, "hailer: --server and --name are required (hailer --help)\n");
    return exit_usage;
  }
  const auto colon = o.server.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == o.server.size()) {
    std::fprintf(stderr, "hailer: --server must be HOST:PORT (got %s)\n", o.server.c_str());
    return exit_usage;
  }
  std::string host = o.server.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = o.server.substr(colon + 1);
  std::signal(SIGPIPE, SIG_IGN);
  if (o.plaintext)
    std::fprintf(stderr,
                 "hailer: --plaintext: this connection is not encrypted; anyone on the path can read and "
                 "change your calls' signaling\n");
  asio::io_context io(1);
  try {
    Shell shell(io, o, host, port);
    return shell.run();
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::address_in_use && e.code() != asio::error::access_denied) throw;
    std::fprintf(stderr, "hailer: cannot use UDP port %u for audio (--media-port): %s\n", o.media_port,
                 e.code().message().c_str());
    return exit_usage;
  }
}
