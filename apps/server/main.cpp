// hailer-server: the server host on real sockets. One io_context thread owns the host and the
// core; this file only turns flags into configs, wires the logs, the journal and the signals.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <type_traits>
#include <variant>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <ext/stdio_filebuf.h>

#include "audio/sound_device.hpp"
#include "base/secret.hpp"
#include "host/counters.hpp"
#include "host/heap_trim.hpp"
#include "host/journal.hpp"
#include "media/io/private_files.hpp"
#include "media/io/recorder.hpp"
#include "net/accounts_db.hpp"
#include "net/invites.hpp"
#include "net/net_server.hpp"
#include "net/os_secrets.hpp"
#include "net/secret_file.hpp"
#include "net/tls_context.hpp"
#include "net/web_server.hpp"
#include "protocol/codec.hpp"
#include "protocol/names.hpp"
#include "protocol/untrusted_text.hpp"

using namespace hailer;

namespace {

// A configured instructor token shorter than this is refused: it could be guessed.
constexpr std::size_t min_token_chars = 16;

// One log line per session open and close (with the reason), per call and wait step, per error.
class LogObserver final : public HostObserver {
 public:
  void fed(Time, const Event& event, std::span<const Effect> effects) override {
    if (!spdlog::should_log(spdlog::level::info)) return;  // every line below is info or debug
    if (const auto* o = std::get_if<SessionOpened>(&event))
      spdlog::info("session {} opened from {}", o->session.value, o->peer_address);
    if (const auto* c = std::get_if<SessionClosed>(&event))
      spdlog::info("session {} closed: {}", c->session.value, to_string(c->reason));
    for (const Effect& e : effects) log_effect(e);
  }

 private:
  static void log_effect(const Effect& e) {
    if (const auto* c = std::get_if<CloseSession>(&e)) {
      spdlog::info("session {} closed by the server: {}", c->session.value, to_string(c->reason));
      return;
    }
    const auto* m = std::get_if<SendMessage>(&e);
    if (m == nullptr) return;
    const ServerMessage& msg = m->message;
    const bool noteworthy = std::holds_alternative<ErrorReply>(msg) || std::holds_alternative<CallRinging>(msg) ||
                            std::holds_alternative<CallConnected>(msg) || std::holds_alternative<CallEnded>(msg) ||
                            std::holds_alternative<WaitUpdate>(msg) || std::holds_alternative<CalleeAvailable>(msg) ||
                            std::holds_alternative<WaitEnded>(msg) || std::holds_alternative<MediaReady>(msg);
    const bool registered =
        std::holds_alternative<OkReply>(msg) && std::holds_alternative<RegisteredData>(std::get<OkReply>(msg).data);
    // Asked first: spdlog's arguments are built even when the line is then dropped, and every
    // message sent was encoded a second time for a log line nobody asked for.
    if (registered && !spdlog::should_log(spdlog::level::debug)) {
      // The registration's reply carries the session's media token: a secret, for debug only.
      spdlog::info("session {} registered as {}", m->to.value,
                   escape_untrusted(std::get<RegisteredData>(std::get<OkReply>(msg).data).name));
      return;
    }
    const auto level = noteworthy || registered ? spdlog::level::info : spdlog::level::debug;
    // What a client sent can be echoed in a message (an unknown type, a name): made visible.
    if (spdlog::should_log(level)) spdlog::log(level, "session {} <- {}", m->to.value, escape_untrusted(encode(msg)));
  }
};

// Fans one feed out to several observers (logs and the journal).
class Observers final : public HostObserver {
 public:
  std::vector<HostObserver*> list;
  void fed(Time now, const Event& event, std::span<const Effect> effects) override {
    for (HostObserver* o : list) o->fed(now, event, effects);
  }
};

// The speaker path's output: the instructor's sound device (or a WAV, or nothing) and the
// recordings folder.
class ClassroomOutput final : public MediaSink {
 public:
  std::unique_ptr<audio::SoundSystem> system;
  std::unique_ptr<audio::SoundDevice> device;
  std::unique_ptr<Recorder> speaker_file;  // --audio-out FILE.wav: everything played, as one file
  std::unique_ptr<Recorder> recordings;
  uint64_t dropped_frames = 0;

  void play(const SpeakerFrame& frame) override {
    if (device) {
      if (device->queued_ms() > 200)
        ++dropped_frames;  // the device fell behind: do not build up delay
      else
        device->write(frame.mix);
    }
    if (speaker_file) speaker_file->append(0, frame.mix);
  }
  std::optional<RecordingStopReason> record_start(uint64_t id, const std::string& room,
                                                  const std::string& file) override {
    if (!recordings) return std::nullopt;
    const auto refused = recordings->start(id, file);
    if (refused)
      log_refusal(*refused, file);
    else
      spdlog::info("recording room {} to {}/{}", room, recordings->dir(), file);
    return refused;
  }
  std::optional<RecordingStopReason> record_append(uint64_t id, std::span<const int16_t> pcm) override {
    if (!recordings) return std::nullopt;
    const auto stopped = recordings->append(id, pcm);
    if (stopped) log_refusal(*stopped, "recording " + std::to_string(id));
    return stopped;
  }
  void record_stop(uint64_t id) override {
    if (recordings) recordings->stop(id);
  }
  void turn_ended(SessionId, const StreamStats&) override {}  // the server logs no per-turn figures

 private:
  void log_refusal(RecordingStopReason reason, const std::string& what) {
    switch (reason) {
      case RecordingStopReason::quota:
        spdlog::warn("not recording {}: {} holds --recordings-max-bytes ({} bytes)", what, recordings->dir(),
                     recordings->bytes_used());
        break;
      case RecordingStopReason::disk_full:
        spdlog::warn("not recording {}: the disk of {} is below --recordings-min-free-bytes", what, recordings->dir());
        break;
      default:
        spdlog::error("cannot record {} in {}", what, recordings->dir());
        break;
    }
  }
};

// Opens the speaker output named by --audio-out; false on an unusable explicit choice.
bool open_output(ClassroomOutput& out, const std::string& spec) {
  if (spec == "none") return true;
  if (spec.size() > 4 && spec.ends_with(".wav")) {
    const std::filesystem::path p(spec);
    try {
      out.speaker_file = std::make_unique<Recorder>(p.has_parent_path() ? p.parent_path().string() : ".",
                                                    RecorderLimits{UINT64_MAX, 0}, RecorderFolder::operator_file);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hailer-server: %s\n", e.what());
      return false;
    }
    if (out.speaker_file->start(0, p.filename().string())) {
      std::fprintf(stderr, "hailer-server: cannot write %s\n", spec.c_str());
      return false;
    }
    return true;
  }
  try {
    out.system = std::make_unique<audio::SoundSystem>();
    const auto device = out.system->find(spec, false);
    out.device = std::make_unique<audio::SoundDevice>(*out.system, std::nullopt, device);
    out.device->start();
    spdlog::info("playing the class on {} ({})", device.name, device.host_api);
    return true;
  } catch (const std::exception& e) {
    if (spec != "default") {
      std::fprintf(stderr, "hailer-server: %s\n", e.what());
      return false;
    }
    spdlog::warn("{}: the class is not played aloud (recordings still work)", e.what());
    return true;
  }
}

// The addresses students can open: every IPv4 interface when listening on all of them.
std::vector<std::string> local_addresses(const std::string& host) {
  if (host != "0.0.0.0") return {host};
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {"127.0.0.1"};
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) out.emplace_back(text);
  }
  freeifaddrs(list);
  return out;
}

void log_counters(const net::NetServer& server) {
  std::string line;
  for (const auto& [name, value] : core_counters(server.host().core().stats()))
    line += " core." + name + "=" + std::to_string(value);
  for (const auto& [name, value] : host_counters(server.host().stats(), server.host().speaker_stats())) {
    line += " host." + name + "=" + std::to_string(value);
  }
  const net::NetStats& n = server.stats();
  line += " net.accepted=" + std::to_string(n.accepted) + " net.bytes_in=" + std::to_string(n.bytes_in) +
          " net.bytes_out=" + std::to_string(n.bytes_out) + " net.writes=" + std::to_string(n.writes) +
          " net.slow_readers=" + std::to_string(n.slow_readers) + " net.long_lines=" + std::to_string(n.long_lines) +
          " net.connections=" + std::to_string(server.connection_count()) +
          " net.tls_handshakes=" + std::to_string(n.tls_handshakes) +
          " net.tls_failures=" + std::to_string(n.tls_failures) +
          " net.tls_timeouts=" + std::to_string(n.tls_timeouts) + " net.tls_refused=" + std::to_string(n.tls_refused) +
          " net.plaintext_refused=" + std::to_string(n.plaintext_refused) +
          " net.tls_on_plaintext=" + std::to_string(n.tls_on_plaintext) +
          " net.tls_buffers_kept=" + std::to_string(n.tls_buffers_kept) +
          " net.tls_buffers_released=" + std::to_string(n.tls_buffers_released) +
          " net.datagrams_out=" + std::to_string(n.datagrams_out) +
          " net.datagrams_unsent=" + std::to_string(n.datagrams_unsent) +
          " net.tunnel_frames_out=" + std::to_string(n.tunnel_frames_out) +
          " net.tunnel_frames_dropped=" + std::to_string(n.tunnel_frames_dropped) +
          " net.bad_frames=" + std::to_string(n.bad_frames);
#ifdef __GLIBC__
  // What the sessions hold against what the allocator keeps: RSS per session is their sum.
  const struct mallinfo2 heap = mallinfo2();
  line += " heap.in_use_bytes=" + std::to_string(heap.uordblks + heap.hblkhd) +
          " heap.free_held_bytes=" + std::to_string(heap.fordblks);
#endif
  spdlog::info("counters:{}", line);
}

// Descriptors held besides the connections: sockets we listen on, epoll sets, timers, signals,
// the journal, recordings being written, the sound device, the TLS files.
constexpr rlim_t reserved_descriptors = 64;

// Raises the descriptor limit to what the system allows, then makes the connection limits fit
// in it: sessions (calls and WebSockets) and HTTP connections together never need more
// descriptors than there are, so a flood of one kind can fill its own cap but never starve the
// other (300 idle HTTPS connections once stopped the calls port from accepting anything).
void fit_limits_to_descriptors(Config& config, net::WebConfig& web, bool no_web) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  const rlim_t usable = limit.rlim_cur - std::min(reserved_descriptors, limit.rlim_cur / 2);
  const rlim_t http = no_web ? 0 : web.max_http_connections;
  if (config.max_sessions + http <= usable) return;
  // Shared in proportion to what was asked, each kept at 1 at least.
  const double scale = static_cast<double>(usable) / static_cast<double>(config.max_sessions + http);
  config.max_sessions = std::max<uint32_t>(1, static_cast<uint32_t>(static_cast<double>(config.max_sessions) * scale));
  if (!no_web)
    web.max_http_connections = std::max<uint32_t>(1, static_cast<uint32_t>(static_cast<double>(http) * scale));
  spdlog::warn(
      "only {} file descriptors: max-sessions lowered to {}{} (raise the limit, e.g. LimitNOFILE= or ulimit -n)",
      limit.rlim_cur, config.max_sessions,
      no_web ? std::string() : ", max-http-connections to " + std::to_string(web.max_http_connections));
}

// One flag per settable row of the config table (core/config.hpp): the name, the help line with
// its range, and the default, all from the table; validate() checks the ranges after parsing.
void add_config_flags(CLI::App& app, Config& c) {
  auto* g = "Limits and timers (also settable in the --config file)";
  for (const ConfigField& f : config_fields()) {
    if (!f.settable) continue;
    const std::string help = std::string(f.doc) + " (" + config_range_text(f) + ")";
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(c.*member)>;
          if constexpr (ConfigChoice<T>) {
            std::vector<std::string> names;
            for (const auto& [n, v] : ConfigChoices<T>::values) names.emplace_back(n);
            app.add_option_function<std::string>(
                   config_flag(f), [&c, member](const std::string& v) { c.*member = *choice_from<T>(v); }, help)
                ->check(CLI::IsMember(names))
                ->default_str(config_value_text(c, f))
                ->group(g);
          } else {
            auto* option = app.add_option(config_flag(f), c.*member, help)->group(g);
            if (!f.secret) option->default_str(config_value_text(c, f));
          }
        },
        f.member);
  }
}

// Everything the command line and the config file set.
struct Options {
  net::NetConfig net;
  Config config;
  HostConfig host;
  net::WebConfig web;
  RecorderLimits recorder_limits;
  std::string journal_path;
  std::string log_level = "info";
  std::string audio_out = "default";
  std::string tls_cert, tls_key, tls_dir;
  std::string state_dir = "hailer-state";
  int64_t speaker_delay_ms = 40;
  bool check_invariants = false;
  bool no_web = false;
  bool no_tls = false;
  bool plaintext = false;             // the calls port without TLS (--plaintext)
  net::TlsFiles tls_files;            // the certificate both ports use (unless neither speaks TLS)
  std::string calls_key_fingerprint;  // what a CLI pins: SHA256 of the public key
};

void add_network_flags(CLI::App& app, Options& o) {
  app.add_option("--host", o.net.host, "address to listen on (both sockets); 0.0.0.0 for every interface")
      ->capture_default_str();
  app.add_option("--port", o.net.tcp_port, "TCP signaling port; 0 picks a free one")->capture_default_str();
  app.add_option("--udp-port", o.net.udp_port, "UDP media rendezvous port; 0 picks a free one")->capture_default_str();
  app.add_option("--max-sessions-per-address", o.host.max_sessions_per_address,
                 "sessions (calls connections and classroom WebSockets) one address may hold; one more is told "
                 "too_many_connections")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option("--max-outbound-bytes", o.net.max_outbound_bytes,
                 "bytes queued for one client beyond which it is closed as a slow reader")
      ->capture_default_str();
  app.add_flag("--plaintext", o.plaintext,
               "the calls port without TLS: INSECURE, anyone on the path reads and changes every call's signaling "
               "(for tests and tools; clients need --plaintext too)");
  app.add_option("--max-tls-handshakes", o.net.max_handshakes,
                 "TLS handshakes in progress on the calls port, from everyone; more are closed at once")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--max-tls-handshakes-per-address", o.net.max_handshakes_per_address,
                 "TLS handshakes in progress on the calls port from one address; more are closed at once")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--tls-handshake-timeout-ms", o.net.tls_handshake_timeout_ms,
                 "how long a calls client may take from connect to the end of its TLS handshake")
      ->check(CLI::Range(100, 600'000))
      ->capture_default_str();
  app.add_option("--journal", o.journal_path, "append every core event to FILE (replay with hailer-sim --replay FILE)");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_flag("--check-invariants", o.check_invariants, "assert the core's invariants after every event (slower)");
}

void add_classroom_flags(CLI::App& app, Options& o) {
  auto* c = "Classroom (push-to-talk over WebSocket)";
  auto& web = o.web;
  app.add_option("--http-port", web.port, "HTTP(S) and WebSocket port of the classroom pages; 0 picks a free one")
      ->capture_default_str()
      ->group(c);
  app.add_flag("--no-web", o.no_web, "no classroom: calls only")->group(c);
  app.add_option("--web-root", web.web_root, "folder of the pages")->capture_default_str()->group(c);
  app.add_option("--recordings", web.recordings_dir,
                 "folder for one WAV per turn, <name>_<serial>.wav; none = no recordings")
      ->capture_default_str()
      ->group(c);
  app.add_option("--recordings-max-bytes", o.recorder_limits.max_bytes,
                 "the recordings folder holds at most this much; recording stops there (the floor and playback go on)")
      ->capture_default_str()
      ->group(c);
  app.add_option("--recordings-min-free-bytes", o.recorder_limits.min_free_bytes,
                 "recording stops when the disk of the recordings folder has less free space than this")
      ->capture_default_str()
      ->group(c);
  app.add_option("--audio-out", o.audio_out,
                 "where the class is played: default, a device (index or part of its name), FILE.wav or none")
      ->capture_default_str()
      ->group(c);
  app.add_option("--tls-cert", o.tls_cert, "PEM certificate for the calls port and HTTPS/WSS (with --tls-key)")
      ->group(c);
  app.add_option("--tls-key", o.tls_key, "PEM private key for the calls port and HTTPS/WSS")->group(c);
  app.add_option("--tls-dir", o.tls_dir,
                 "where the self-signed certificate is made on first start and kept (default: STATE/tls)")
      ->group(c);
  app.add_option("--state-dir", o.state_dir,
                 "the server's own folder (0700): the self-signed certificate, the instructor token")
      ->capture_default_str()
      ->group(c);
  app.add_option(
         "--allowed-origin", web.allowed_origins,
         "another origin whose pages may open the classroom's WebSocket, e.g. https://class.example.org (repeatable)")
      ->group(c);
  app.add_flag("--no-tls", o.no_tls, "plain HTTP/WS only (browsers then give the microphone to localhost only)")
      ->group(c);
  app.add_option("--speaker-delay-ms", o.speaker_delay_ms,
                 "the speaker's starting jitter-buffer delay (it adapts from there)")
      ->check(CLI::Range(20, 200))
      ->capture_default_str()
      ->group(c);
  app.add_option("--max-frames-per-second", o.host.max_frames_per_second,
                 "audio frames one client may send per second (one more: bad_frame, closed)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str()
      ->group(c);
  app.add_option("--max-connections-per-address", web.max_connections_per_address, "WebSockets open from one address")
      ->capture_default_str()
      ->group(c);
  app.add_option("--max-joins-per-second", web.max_upgrades_per_second, "new WebSockets per second, all together")
      ->capture_default_str()
      ->group(c);
  app.add_option("--max-joins-per-address-per-second", web.max_upgrades_per_address_per_second,
                 "new WebSockets per second from one address (two seconds' worth at once)")
      ->check(CLI::Range(1, 50'000))
      ->capture_default_str()
      ->group(c);
  app.add_option("--max-http-connections", web.max_http_connections,
                 "HTTP(S) connections open at once (page loads, handshakes, keep-alive); more are closed at once")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str()
      ->group(c);
  app.add_option("--max-http-connections-per-address", web.max_http_connections_per_address,
                 "HTTP(S) connections open from one address")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str()
      ->group(c);
}

// What the flags cannot check one at a time: the token's length, the origins, the state folder
// (and the instructor token kept there), the first recording serial, the core's ranges. An exit
// status when the server must not start.
std::optional<int> settle_options(const CLI::App& app, Options& o) {
  Config& config = o.config;
  if (app.count("--instructor-token") > 0 && config.instructor_token.size() < min_token_chars) {
    std::fprintf(stderr,
                 "hailer-server: --instructor-token must be at least %zu characters (a short one can be guessed)\n",
                 min_token_chars);
    return 2;
  }
  for (std::string& origin : o.web.allowed_origins) {
    while (origin.size() > 1 && origin.back() == '/') origin.pop_back();  // "https://host/" names the same origin
    if (!(origin.starts_with("http://") || origin.starts_with("https://")) ||
        origin.find('/', origin.find("//") + 2) != std::string::npos) {
      std::fprintf(stderr, "hailer-server: --allowed-origin %s is not an origin (scheme://host[:port])\n",
                   origin.c_str());
      return 2;
    }
  }
  if (!o.no_web || !o.plaintext) {
    // The server's own folder: the self-signed certificate is kept there (its key is what the
    // calls clients pin), and the instructor token, so an instructor page stays signed in
    // across a restart.
    try {
      ensure_folder(o.state_dir, 0700);
      if (!o.no_web && config.instructor_token.empty())
        config.instructor_token = net::load_or_make_secret(o.state_dir + "/instructor-token", 16);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hailer-server: %s\n", e.what());
      return 1;
    }
    if (o.tls_dir.empty()) o.tls_dir = o.state_dir + "/tls";
  }
  if (o.web.recordings_dir == "none") o.web.recordings_dir.clear();
  if (!o.web.recordings_dir.empty() && app.count("--first-recording-serial") == 0) {
    config.first_recording_serial = next_recording_serial(o.web.recordings_dir);  // never reuse a file name
  }
  if (auto err = validate(config)) {
    std::fprintf(stderr, "hailer-server: %s\n", err->c_str());
    return 2;
  }
  return std::nullopt;
}

// The certificate of both TLS ports: the operator's pair, or one made (and kept) for this
// machine's addresses. None when neither port speaks TLS. An exit status when there is none.
std::optional<int> choose_certificate(Options& o) {
  const bool web_tls = !o.no_web && !o.no_tls;
  if (!web_tls && o.plaintext) return std::nullopt;
  try {
    if (!o.tls_cert.empty() || !o.tls_key.empty()) {
      if (o.tls_cert.empty() || o.tls_key.empty()) {
        std::fprintf(stderr, "hailer-server: --tls-cert and --tls-key go together\n");
        return 2;
      }
      o.tls_files = net::TlsFiles{o.tls_cert, o.tls_key, net::certificate_fingerprint(o.tls_cert), ""};
    } else {
      auto names = local_addresses(o.net.host);
      names.push_back("localhost");
      o.tls_files = net::ensure_self_signed(o.tls_dir, names);
    }
    o.calls_key_fingerprint = net::public_key_fingerprint_of_file(o.tls_files.cert_path);
    if (!o.plaintext) o.net.tls = net::make_server_tls_context(o.tls_files);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer-server: the certificate: %s\n", e.what());
    return 1;
  }
  if (web_tls) o.web.tls = o.tls_files;
  return std::nullopt;
}

// The classroom's settings that come from the core's and the calls port's.
void derive_web_config(Options& o) {
  auto& web = o.web;
  web.host = o.net.host;
  web.served_hosts = local_addresses(o.net.host);
  web.served_hosts.push_back("localhost");
  web.instructor_token = o.config.instructor_token;
  web.max_token_failures_per_address_per_minute = o.config.max_token_failures_per_address_per_minute;
  web.warn = [](std::string_view line) { spdlog::warn("{}", escape_untrusted(line)); };
  web.max_message_bytes = o.config.max_message_bytes;
  web.idle_cut_ms = o.config.heartbeat_timeout_ms + 5'000;
  web.max_outbound_bytes = o.net.max_outbound_bytes;
}

// The journal file and its writer, alive as long as the server.
struct Journal {
  std::unique_ptr<__gnu_cxx::stdio_filebuf<char>> buffer;
  std::unique_ptr<std::ostream> file;
  std::unique_ptr<JournalWriter> writer;
};

// Opens the journal (it holds names and who called whom: 0600, never through a planted link).
// False when it cannot be written.
bool open_journal(const std::string& path, const Config& config, Journal& out) {
  const int fd = open_no_follow(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fprintf(stderr, "hailer-server: cannot open journal %s: %s\n", path.c_str(),
                 errno == ELOOP ? "it is a symbolic link"
                 : fd < 0       ? std::strerror(errno)
                                : "not a regular file");
    return false;
  }
  if ((st.st_mode & 077) != 0 && ::fchmod(fd, 0600) == 0)
    spdlog::warn("journal {} was open to others: made 0600", path);
  out.buffer = std::make_unique<__gnu_cxx::stdio_filebuf<char>>(fd, std::ios::out | std::ios::app);
  out.file = std::make_unique<std::ostream>(out.buffer.get());
  out.writer = std::make_unique<JournalWriter>(*out.file, config);  // as bound: the rendezvous port is in it
  return true;
}

// The first lines: where the server listens and how to connect (docs/operations.md).
void print_welcome(const net::NetServer& server, const net::WebServer* web_server, const Options& o) {
  const auto tcp = server.tcp_endpoint();
  const auto udp = server.udp_endpoint();
  const std::string tcp_address = tcp.address().to_string();
  std::printf("hailer-server listening: signaling tcp %s:%u, media rendezvous udp %s:%u\n", tcp_address.c_str(),
              tcp.port(), udp.address().to_string().c_str(), udp.port());
  const char* plain = o.plaintext ? " --plaintext" : "";
  std::printf("connect two clients:  hailer --server %s:%u%s --name alice\n", tcp_address.c_str(), tcp.port(), plain);
  std::printf("                      hailer --server %s:%u%s --name bob\n", tcp_address.c_str(), tcp.port(), plain);
  if (o.plaintext)
    std::printf("calls port: PLAINTEXT (--plaintext): anyone on the path can read and change the signaling\n");
  else
    std::printf("calls port: TLS, server key %s (clients show it on first connect)\n", o.calls_key_fingerprint.c_str());
  switch (o.config.accounts) {
    case AccountsMode::off:
      std::printf("accounts: off (a name is free while nobody connected uses it)\n");
      break;
    case AccountsMode::open:
      std::printf("accounts: open (a name belongs to the first key that logs in to it)\n");
      break;
    case AccountsMode::invite:
      std::printf("accounts: by invite (hailer-server invite NAME --state-dir %s makes a one-time code)\n",
                  o.state_dir.c_str());
      break;
  }
  if (web_server != nullptr) {
    const auto& web = o.web;
    const unsigned port = web_server->endpoint().port();
    const char* scheme = web.tls ? "https" : "http";
    for (const auto& a : local_addresses(o.net.host)) {
      std::printf("classroom: students open %s://%s:%u/   instructor: %s://%s:%u/instructor#token=%s\n", scheme,
                  a.c_str(), port, scheme, a.c_str(), port, o.config.instructor_token.c_str());
    }
    if (web.tls && !web.tls->made_because.empty() && web.tls->made_because != "new") {
      std::printf("certificate renewed (%s): tell the students the new fingerprint\n", web.tls->made_because.c_str());
    }
    if (web.tls) std::printf("certificate fingerprint (SHA-256): %s\n", web.tls->fingerprint_sha256.c_str());
    std::printf("recordings: %s\n", web.recordings_dir.empty() ? "off" : web.recordings_dir.c_str());
  }
  std::fflush(stdout);
}

// `hailer-server users list|remove NAME|reset-key NAME`: the accounts database, with the server
// stopped (a running server holds it locked).
struct UsersCommand {
  std::string action;  // empty: no users command
  std::string name;
};

void add_users_command(CLI::App& app, UsersCommand& users) {
  auto* cmd = app.add_subcommand("users", "manage accounts (STATE/accounts.db; stop the server first)");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --state-dir after the command still reaches the server's options
  cmd->add_subcommand("list", "the names that belong to keys, with their keys")
      ->callback([&users] { users.action = "list"; })
      ->fallthrough();
  auto* remove = cmd->add_subcommand("remove", "forget a name's account: the next key to log in claims it");
  remove->add_option("NAME", users.name)->required();
  remove->fallthrough();
  remove->callback([&users] { users.action = "remove"; });
  auto* reset = cmd->add_subcommand("reset-key", "forget a name's keys (a lost key): its owner's next login claims it");
  reset->add_option("NAME", users.name)->required();
  reset->fallthrough();
  reset->callback([&users] { users.action = "reset-key"; });
}

int run_users_command(const UsersCommand& users, const std::string& state_dir) {
  if (users.action != "list" && !valid_name(users.name)) {
    std::fprintf(stderr, "hailer-server: %s is not a name\n", escape_untrusted(users.name).c_str());
    return 2;
  }
  try {
    net::AccountsDb db(state_dir + "/accounts.db");
    if (users.action == "list") {
      for (const Account& a : db.load()) std::printf("%s %s\n", a.name.c_str(), to_hex(a.key).c_str());
      return 0;
    }
    if (!db.remove(users.name)) {
      std::fprintf(stderr, "hailer-server: no account is named %s\n", users.name.c_str());
      return 1;
    }
    std::printf("%s: %s\n", users.action == "remove" ? "removed" : "keys forgotten", users.name.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer-server: %s\n", e.what());
    return 1;
  }
}

// `hailer-server invite NAME`: a one-time code that lets the first key to bring it claim NAME on a
// server with `--accounts invite`. Works while the server runs (the invites folder, not the
// database).
struct InviteCommand {
  bool wanted = false;
  std::string name;
  int64_t expires_in_s = net::invite_lifetime.count();
};

void add_invite_command(CLI::App& app, InviteCommand& invite) {
  auto* cmd = app.add_subcommand("invite", "make a one-time invite code for NAME (--accounts invite), good for 24 h");
  cmd->add_option("NAME", invite.name, "the name the invite lets its bearer claim")->required();
  cmd->add_option("--expires-in-s", invite.expires_in_s, "how long the invite is good for, in seconds")
      ->check(CLI::Range(int64_t{1}, int64_t{30} * 24 * 3600))
      ->capture_default_str();
  cmd->fallthrough();
  cmd->callback([&invite] { invite.wanted = true; });
}

int run_invite_command(const InviteCommand& invite, const std::string& state_dir) {
  if (!valid_name(invite.name)) {
    std::fprintf(stderr, "hailer-server: %s is not a name\n", escape_untrusted(invite.name).c_str());
    return 2;
  }
  try {
    ensure_folder(state_dir, 0700);
    net::InviteFolder folder(state_dir + "/invites");
    const net::MadeInvite made = folder.make(invite.name, std::chrono::seconds(invite.expires_in_s));
    const std::time_t expires = static_cast<std::time_t>(made.expires_unix_ms / 1000);
    char when[64];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&expires));
    std::printf("invite for %s: %s\n", invite.name.c_str(), made.code.c_str());
    std::printf("good once, until %s; its bearer runs: hailer --server HOST:PORT --name %s --invite %s\n", when,
                invite.name.c_str(), made.code.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer-server: %s\n", e.what());
    return 1;
  }
}

// Runs the server until SIGINT/SIGTERM: SIGUSR1 logs the counters, and freed memory goes back
// to the system after bursts. The exit status.
int run(boost::asio::io_context& io, net::NetServer& server, net::WebServer* web_server, const net::NetConfig& net) {
  boost::asio::signal_set stops(io, SIGINT, SIGTERM);
  boost::asio::steady_timer stop_deadline(io);
  boost::asio::signal_set usr1(io, SIGUSR1);
  boost::asio::steady_timer trim_timer(io);  // gives freed memory back (below)
  stops.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: stopping, telling {} clients", signal, server.connection_count());
    usr1.cancel();
    trim_timer.cancel();
    if (web_server != nullptr) web_server->stop();
    // Over once every client is gone (its last messages flushed, or cut off at the flush
    // deadline), not when stop_deadline fires: that timer held the io_context, and every stop
    // took the flush time + 1 s.
    server.stop([&] { io.stop(); });
    // Whatever still holds the io_context (an idle keep-alive page load) does not hold the stop.
    stop_deadline.expires_after(std::chrono::milliseconds(net.shutdown_flush_ms + 1000));
    stop_deadline.async_wait([&](const boost::system::error_code& e) {
      if (!e) io.stop();
    });
  });
  std::function<void()> wait_usr1 = [&] {
    usr1.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      log_counters(server);
      wait_usr1();
    });
  };
  wait_usr1();
  // Bursts (a class of 1,000 joining: every join told to every member) free megabytes in the
  // middle of the heap, which glibc keeps: once a burst has ended, or a crowd has left, the free
  // pages go back to the system so RSS follows what the sessions really hold (heap_trim.hpp).
  HeapTrimSchedule trim_schedule;
  std::function<void()> trim = [&] {
    trim_timer.expires_after(std::chrono::milliseconds(500));
    trim_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      // HTTP(S) connections count as connections too: a thousand page loads that closed free
      // their TLS state in the middle of the heap as a crowd of sessions does.
      const std::size_t connections =
          server.connection_count() + (web_server != nullptr ? web_server->http_connections() : 0);
      if (trim_schedule.due(server.stats().writes, connections)) {
#ifdef __GLIBC__
        malloc_trim(0);
#endif
      }
      trim();
    });
  };
  trim();
  server.start();
  if (web_server != nullptr) web_server->start();
  try {
    io.run();
  } catch (const std::exception& e) {
    spdlog::critical("stopped by an internal error: {}", e.what());
    return 3;
  }
  log_counters(server);
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hailer-server: signaling for hailer calls (TCP, one JSON object per line) and the media rendezvous (UDP).\n"
      "Users register by name, call, accept, reject and hang up; a caller who finds the callee busy is queued\n"
      "and told the instant the callee is free. Audio flows peer to peer (RTP + Opus); the server only tells\n"
      "each peer where the other is. See docs/operations.md and docs/protocol.md.",
      "hailer-server"};
  Options o;
  o.config.accounts = AccountsMode::open;  // the server's default: names belong to keys
  o.web.web_root = HAILER_WEB_ROOT;
  o.web.recordings_dir = "recordings";
  add_network_flags(app, o);
  add_classroom_flags(app, o);
  app.set_config(
      "--config", "",
      "read options from a TOML/INI file (keys are the long option names without dashes: max-sessions = 500)");
  app.allow_config_extras(false);  // a misspelled key is an error, never silently ignored
  add_config_flags(app, o.config);
  app.footer(
      "Signals: SIGINT/SIGTERM stop cleanly (clients are told server_closing); SIGUSR1 logs the counters.\n"
      "Exit status: 0 after a clean stop, 1 on a startup error (a port in use, a file that cannot be used), 2 on a "
      "usage error (a bad flag or value).");
  UsersCommand users;
  add_users_command(app, users);
  InviteCommand invite;
  add_invite_command(app, invite);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!users.action.empty()) return run_users_command(users, o.state_dir);
  if (invite.wanted) return run_invite_command(invite, o.state_dir);
  if (const auto refused = settle_options(app, o)) return *refused;
  if (o.plaintext && o.config.accounts != AccountsMode::off) {
    if (app.count("--accounts") > 0) {
      std::fprintf(stderr,
                   "hailer-server: --accounts open or invite needs TLS on the calls port (a login over --plaintext "
                   "could be replayed): drop --plaintext, or use --accounts off\n");
      return 2;
    }
    o.config.accounts = AccountsMode::off;  // --plaintext: names are free, as the docs say
  }
  // OpenSSL writes TLS records on the sockets itself (net/tls_socket.hpp): a peer that
  // is gone must give EPIPE, not end the server.
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_default_logger(spdlog::stderr_color_mt("hailer"));
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  fit_limits_to_descriptors(o.config, o.web, o.no_web);
  net::OsSecrets secrets;  // every session's media key and id (never a seeded generator)

  ClassroomOutput output;
  if (!o.no_web) {
    if (!open_output(output, o.audio_out)) return 1;
    if (!o.web.recordings_dir.empty()) {
      try {
        output.recordings = std::make_unique<Recorder>(o.web.recordings_dir, o.recorder_limits);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hailer-server: %s\n", e.what());
        return 1;
      }
    }
  }
  // One thread runs the io_context and nothing else touches it (signals arrive through
  // signal_set on that thread; the sound device's thread only reads its ring), so Asio's locks
  // guard nothing: without them the server runs 4.5% fewer instructions per call cycle
  // (callgrind, docs/performance-log.md). A second thread calling run() or post() would need them back.
  boost::asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE);
  std::unique_ptr<net::NetServer> server;
  std::unique_ptr<net::WebServer> web_server;
  try {
    // The speaker starts at 40 ms of buffer (not 80): students reach it over a LAN or WebSocket
    // on TCP, where jitter is small; the buffer still grows with the jitter it measures.
    o.host.check_invariants = o.check_invariants;
    o.host.speaker_buffer.start_delay_ms = o.speaker_delay_ms;
    o.net.warn = [](std::string_view line) { spdlog::warn("{}", line); };
    if (const auto refused = choose_certificate(o)) return *refused;
    server = std::make_unique<net::NetServer>(io, o.net, o.config, secrets, o.host, &output);
    if (!o.no_web) {
      derive_web_config(o);
      web_server = std::make_unique<net::WebServer>(*server, o.web);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer-server: cannot listen on %s\n", e.what());
    return 1;
  }
  Observers observers;
  LogObserver logs;
  observers.list.push_back(&logs);
  Journal journal;
  if (!o.journal_path.empty()) {
    if (!open_journal(o.journal_path, server->host().core().config(), journal)) return 1;
    observers.list.push_back(journal.writer.get());
  }
  server->set_observer(&observers);
  std::unique_ptr<net::AccountsDb> accounts;
  if (o.config.accounts != AccountsMode::off) {
    try {
      accounts = std::make_unique<net::AccountsDb>(o.state_dir + "/accounts.db");
      accounts->on_error = [](const std::string& why) { spdlog::error("{}", escape_untrusted(why)); };
      server->load_accounts(accounts->load());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hailer-server: %s\n", e.what());
      return 1;
    }
    server->set_account_store(accounts.get());
  }
  std::unique_ptr<net::InviteFolder> invites;
  if (o.config.accounts == AccountsMode::invite) {
    try {
      invites = std::make_unique<net::InviteFolder>(o.state_dir + "/invites");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hailer-server: %s\n", e.what());
      return 1;
    }
    server->set_invite_store(invites.get());
  }
  print_welcome(*server, web_server.get(), o);
  return run(io, *server, web_server.get(), o.net);
}
