// hailer-load calls: load on a running hailer-server over loopback TCP, every session a
// ProtocolClient (the one the CLI and the simulator use) behind an Asio socket, all on one thread.
//   - N sessions connect and register;
//   - P pairs run call -> accept -> hangup cycles back to back;
//   - K probe triples measure busy notify: from the busy callee's hangup (written to its socket)
//     to the waiter's callee_available (read from its socket);
//   - with --ping-gap-us, one more session pings, waiting that long after each answer: the
//     floor of those same two hops (a request in, a message out, no work), hot or after idling;
//   - with --stuck, a second phase adds one client that never reads, and both phases are printed
//     side by side;
//   - the server's RSS per session from /proc (--server-pid).
// hailer-load ptt: N WebSocket students (Boost.Beast's client in ptt_load.cpp, the same
// ProtocolClient inside) join one room, all at once or at --join-rate; then floor churn by
// random pairs: A presses (press -> grant, and press -> the press's own ok, which leaves just
// before the grant), talks 200 ms of PCM in real time, B presses and queues, A releases (release
// -> B's grant: the handover), B releases. Dropped joins, connections lost, RSS per student and
// server CPU; with --server-log, the server's own frame counters (admitted, dropped, played),
// read from its log after a SIGUSR1; with --stuck, a second churn with one more student who
// never reads, printed beside the first.
// hailer-load floor (syscall_floor.hpp): the same cycle's and notify's system calls alone, through a
// forked relay that does no work: the most any server could reach on this machine, measured
// beside hailer in the same minutes.
// hailer-load relay (relay_load.hpp): N relayed calls over real signaling, both legs sending at a
// call's rate through the server's UDP relay: added latency (against socket to socket), loss,
// and packets forwarded per server CPU second.
// Runs are bounded (--seconds per phase, --setup-timeout) and exit 1 on protocol errors.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "apps/load/calls_load.hpp"
#include "apps/load/ptt_load.hpp"
#include "apps/load/relay_load.hpp"
#include "apps/load/syscall_floor.hpp"

using hailer::load::Options;
namespace asio = boost::asio;

int main(int argc, char** argv) {
  // OpenSSL writes the --tls sessions' sockets with write(2): a server that went away must give
  // EPIPE, not a signal that kills the tool.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "hailer-load: load and latency against a running hailer-server (calls and ptt), and the floor beneath them"};
  app.require_subcommand(1);
  Options o;
  auto* calls = app.add_subcommand("calls", "N sessions; P pairs cycling call/accept/hangup; K busy-notify probes");
  calls->add_option("--server", o.server, "HOST:PORT of hailer-server")->capture_default_str();
  calls->add_option("--prefix", o.prefix, "session names are PREFIX0, PREFIX1, ... (run two tools at once with two)")
      ->capture_default_str();
  calls->add_option("--sessions", o.sessions, "sessions to connect and register (at least 2P + 3K)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  calls->add_option("--pairs", o.pairs, "pairs cycling calls back to back")
      ->capture_default_str()
      ->check(CLI::Range(0u, 20000u));
  calls->add_option("--probes", o.probes, "busy-notify probe triples")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000u));
  calls
      ->add_option("--ping-gap-us", o.ping_gap_us,
                   "one more session pings, waiting this long after each answer (0: back to back): the floor of two "
                   "loopback hops")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}));
  calls->add_option("--seconds", o.seconds, "length of each measured phase")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  calls->add_option("--setup-timeout", o.setup_timeout_s, "longest wait for every session to register")
      ->capture_default_str();
  calls->add_option("--server-pid", o.server_pid, "the server's pid, for its RSS per session (/proc)");
  calls->add_flag("--stuck", o.stuck, "a second phase with one client that never reads");
  calls->add_flag("--tls", o.tls,
                  "TLS to the calls port (a server started without --plaintext; its key is not checked)");
  calls->add_flag("--one-by-one", o.one_by_one,
                  "connect the sessions one after another, each once the one before registered: the time of one "
                  "connect, handshake and login (setup_one_p50_ms, _p99_ms)");
  calls->add_flag("--json", o.json, "one JSON object instead of text");
  auto* ptt = app.add_subcommand(
      "ptt", "N WebSocket students join one room (at once or at a rate); floor churn by random pairs");
  ptt->add_option("--server", o.server, "HOST:PORT of hailer-server's web port (plain WebSocket)")->required();
  ptt->add_option("--prefix", o.prefix, "student names are PREFIX0, PREFIX1, ...")->capture_default_str();
  ptt->add_option("--students", o.students, "students joining the room")
      ->capture_default_str()
      ->check(CLI::Range(2u, 20000u));
  ptt->add_option("--cycles", o.cycles, "floor churn cycles (press, 200 ms of audio, queued press, release, release)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 100000u));
  ptt->add_option("--room", o.room, "the room")->capture_default_str();
  ptt->add_option("--hold", o.hold_s,
                  "after the churn, stay in the room reading for this many seconds (a crowd for another run)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  ptt->add_option("--setup-timeout", o.setup_timeout_s, "longest wait for every join")->capture_default_str();
  ptt->add_option("--join-rate", o.join_rate, "students starting their join per second (0: all at once)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100000.0));
  ptt->add_option("--server-pid", o.server_pid, "the server's pid, for its RSS per student and CPU (/proc)");
  ptt->add_option("--server-log", o.server_log,
                  "the server's log file (its stderr, --log-level info or lower): with --server-pid, its frame "
                  "counters after a SIGUSR1");
  ptt->add_flag("--stuck", o.stuck, "a second churn with one more student who never reads");
  ptt->add_flag("--json", o.json, "one JSON object instead of text");
  hailer::load::FloorOptions f;
  auto* floor = app.add_subcommand("floor",
                                   "the system calls of a call cycle and a busy notify alone, through a forked relay "
                                   "(or, with --server, the same lean clients against hailer-server)");
  floor->add_option("--pairs", f.pairs, "pairs cycling calls back to back")
      ->capture_default_str()
      ->check(CLI::Range(0u, 10000u));
  floor->add_option("--probes", f.probes, "busy-notify probe triples")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000u));
  floor->add_option("--seconds", f.seconds, "length of the measured phase")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  floor->add_option("--message-bytes", f.message_bytes, "length of each message the relay writes, newline included")
      ->capture_default_str()
      ->check(CLI::Range(2u, 4096u));
  floor->add_option("--server", f.server,
                    "drive this hailer-server (IPV4:PORT) with the same clients instead of the relay");
  floor->add_option("--prefix", f.prefix, "session names on that server are PREFIX0, PREFIX1, ...")
      ->capture_default_str();
  floor->add_option("--server-pid", f.server_pid, "that server's pid, for its CPU (/proc)");
  floor->add_flag("--json", f.json, "one JSON object instead of text");
  hailer::load::RelayOptions r;
  auto* relay = app.add_subcommand("relay", "N relayed calls, both legs sending through the server's UDP relay");
  relay->add_option("--server", r.server, "IPV4:PORT of hailer-server's calls port (started with --plaintext)")
      ->capture_default_str();
  relay->add_option("--udp-port", r.udp_port, "the server's UDP port (the relay)")->capture_default_str();
  relay->add_option("--prefix", r.prefix, "session names are PREFIXa0, PREFIXb0, ...")->capture_default_str();
  relay->add_option("--calls", r.calls, "relayed calls")->capture_default_str()->check(CLI::Range(1u, 10000u));
  relay->add_option("--rate", r.rate, "packets a second per leg (the relay allows 100)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  relay->add_option("--payload-bytes", r.payload_bytes, "bytes behind the relay header (an SRTP packet)")
      ->capture_default_str()
      ->check(CLI::Range(8u, 1216u));
  relay->add_option("--seconds", r.seconds, "length of each phase (direct, then relayed)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  relay->add_option("--setup-timeout", r.setup_timeout_s, "longest wait for one setup message")->capture_default_str();
  relay->add_option("--server-pid", r.server_pid, "the server's pid, for its CPU per forwarded packet (/proc)");
  relay->add_flag("--json", r.json, "one JSON object instead of text");
  CLI11_PARSE(app, argc, argv);
  if (relay->parsed()) return hailer::load::run_relay(r);
  if (floor->parsed()) {
    if (f.pairs == 0 && f.probes == 0) {
      std::fprintf(stderr, "hailer-load floor: nothing to measure: give --pairs or --probes\n");
      return 2;
    }
    return hailer::load::run_floor(f);
  }
  // One thread runs every session, and nothing else touches the io_context: Asio's locks would
  // only take CPU from the server it measures, on the same two vCPUs.
  asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE);
  try {
    if (ptt->parsed()) return hailer::load::run_ptt(io, o);
    return hailer::load::run_calls(io, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer-load: %s\n", e.what());
    return 2;
  }
}
