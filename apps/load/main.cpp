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
// hailer-load ptt: N WebSocket students (a minimal RFC 6455 client below, the same
// ProtocolClient inside) join one room, all at once or at --join-rate; then floor churn by
// random pairs: A presses (press -> grant, and press -> the press's own ok, which leaves just
// before the grant), talks 200 ms of PCM in real time, B presses and queues, A releases (release
// -> B's grant: the handover), B releases. Dropped joins, connections lost, RSS per student and
// server CPU; with --server-log, the server's own frame counters (admitted, dropped, played),
// read from its log after a SIGUSR1; with --stuck, a second churn with one more student who
// never reads, printed beside the first.
// hailer-load floor (floor.hpp): the same cycle's and notify's system calls alone, through a
// forked relay that does no work: the most any server could reach on this machine, measured
// beside hailer in the same minutes.
// Runs are bounded (--seconds per phase, --setup-timeout) and exit 1 on protocol errors.
#include <algorithm>
#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/load/measure.hpp"
#include "apps/load/syscall_floor.hpp"
#include "base/assert.hpp"
#include "base/prng.hpp"
#include "client/client.hpp"
#include "protocol/ptt_frame.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace hailer;
using hailer::load::cpu_seconds;
using hailer::load::rss_kib;
using hailer::load::Samples;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string server = "127.0.0.1:7700";
  std::string prefix = "load";  // session names: PREFIX0, PREFIX1, ... (two tools at once need two)
  uint32_t sessions = 130;
  uint32_t pairs = 64;
  uint32_t probes = 1;
  int64_t ping_gap_us = -1;  // >= 0: one more session pings with this gap after each answer
  double seconds = 5;
  double setup_timeout_s = 60;
  int server_pid = 0;
  bool stuck = false;
  bool json = false;
  // ptt
  uint32_t students = 1000;
  uint32_t cycles = 100;
  double hold_s = 0;  // after the churn, keep reading for this long (a crowd for another run's churn)
  std::string room = "class";
  double join_rate = 0;    // students starting per second; 0: all at once
  std::string server_log;  // the server's log file (its stderr), for its counters after a SIGUSR1
};

/// HOST:PORT as an endpoint; a clear error for anything else.
tcp::endpoint parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("expected HOST:PORT, got " + text);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(text.substr(0, colon), ec);
  const int port = std::atoi(text.c_str() + colon + 1);
  if (ec || port <= 0 || port > 65535) throw std::runtime_error("expected HOST:PORT, got " + text);
  return tcp::endpoint(address, static_cast<uint16_t>(port));
}

/// The server's counters (`name=value` pairs of the line hailer-server logs on SIGUSR1), read
/// from its log file; empty when there is no pid or log, or no new counters line within 2 s.
std::map<std::string, uint64_t> server_counters(int pid, const std::string& log_path) {
  std::map<std::string, uint64_t> out;
  if (pid <= 0 || log_path.empty()) return out;
  std::ifstream probe(log_path, std::ios::ate);
  if (!probe) return out;
  const std::streamoff from = probe.tellg();
  if (::kill(pid, SIGUSR1) != 0) return out;
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    std::ifstream log(log_path);
    log.seekg(from);
    std::string line;
    while (std::getline(log, line)) {
      const auto at = line.find("counters:");
      if (at == std::string::npos) continue;
      std::istringstream fields(line.substr(at + 9));
      std::string field;
      while (fields >> field) {
        const auto eq = field.find('=');
        if (eq != std::string::npos) out[field.substr(0, eq)] = std::strtoull(field.c_str() + eq + 1, nullptr, 10);
      }
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return out;
}

/// `after[name] - before[name]`, or -1 when either lacks it.
int64_t counter_delta(const std::map<std::string, uint64_t>& before, const std::map<std::string, uint64_t>& after,
                      const std::string& name) {
  const auto b = before.find(name), a = after.find(name);
  if (b == before.end() || a == after.end()) return -1;
  return static_cast<int64_t>(a->second - b->second);
}

/// Runs handlers one at a time until `done` (checked after each) or the timeout; false on timeout.
bool hailer_load_run_until(asio::io_context& io, const std::function<bool()>& done, double timeout_s) {
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  while (!done()) {
    if (Clock::now() > deadline) return false;
    io.run_one_for(std::chrono::milliseconds(2));
    if (io.stopped()) io.restart();
  }
  return true;
}

/// Runs the clients' own timers (their pings) until destroyed: every 10 ms it calls `each_slot`
/// with the next of 100 slots, so a client ticked in slot `index % 100` is ticked once a second
/// at its own phase, as a browser's or a CLI's own timer would. Ticking every client in the
/// same instant made a class that joined together ping together: 1,000 pings in one burst
/// every 10 s, and 1,000 clients' timers checked in one handler every second.
class Ticker {
 public:
  static constexpr std::size_t slots = 100;
  Ticker(asio::io_context& io, std::function<void(std::size_t slot)> each_slot)
      : timer_(io), each_slot_(std::move(each_slot)) {
    arm();
  }
  ~Ticker() {
    *alive_ = false;
    timer_.cancel();
  }

 private:
  void arm() {
    timer_.expires_after(std::chrono::milliseconds(1000 / slots));
    // A wait that expired just before the destructor's cancel still completes without an error,
    // later: the flag, held by the handler, says the ticker is gone.
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (ec || !*alive) return;
      each_slot_(slot_);
      slot_ = (slot_ + 1) % slots;
      arm();
    });
  }
  asio::steady_timer timer_;
  std::function<void(std::size_t)> each_slot_;
  std::size_t slot_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class Load;

ClientConfig config_for(const std::string& name) {
  ClientConfig c;
  c.face = Face::calls;
  c.name = name;
  return c;
}

/// One connection to the server: a socket, a ProtocolClient, line framing and a write buffer.
class Session {
 public:
  Session(Load& load, asio::io_context& io, uint32_t index, std::string name);
  void start(const tcp::endpoint& server);
  uint64_t send(RequestBody body);
  void stop_reading() { reading_ = false; }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  ProtocolClient& client() { return client_; }
  /// The client's own timers (pings keep an idle session inside the server's heartbeat).
  void tick();
  const std::string& name() const { return name_; }
  uint32_t index() const { return index_; }
  Clock::time_point last_write_at;  ///< when the last request was handed to the socket
  int32_t pair = -1;                ///< the pair this session cycles in, if any
  int32_t probe = -1;               ///< the probe triple this session belongs to, if any
  int receive_buffer_bytes = 0;     ///< a small receive buffer (the stuck client), 0 = the kernel's

 private:
  void read();
  void on_line(std::string_view line);
  void flush();
  void apply(std::vector<ClientEffect>& effects, bool flush_now = true);

  Load& load_;
  tcp::socket socket_;
  uint32_t index_;
  std::string name_;
  ProtocolClient client_;
  std::vector<char> in_ = std::vector<char>(64 * 1024);
  std::string partial_;
  std::string pending_, inflight_;
  bool writing_ = false;
  bool reading_ = true;
  std::vector<ClientEffect> effects_;
};

/// Roles: pairs cycle calls; probes are (peer, busy callee, waiter) triples.
class Load {
 public:
  Load(asio::io_context& io, Options options) : io_(io), options_(std::move(options)) {}

  Time now() const {
    return Time{std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count()};
  }
  void heard(Session& s, const ServerMessage& m);
  void error(const std::string& what) {
    ++errors_;
    if (errors_ <= 5) std::fprintf(stderr, "hailer-load: %s\n", what.c_str());
  }
  void registered() { ++registered_; }
  void disconnected(Session& s) {
    if (&s != stuck_ && !finished_) ++disconnects_;
  }

  int run();

 private:
  struct Pair {
    Session* caller;
    Session* callee;
    Clock::time_point started;
    // From the call request sent to call_ended read: the client's own call phase stays idle
    // until the server answers, so it cannot tell a request in flight.
    bool cycling = false;
  };
  struct Probe {
    Session* peer;
    Session* callee;
    Session* waiter;
    enum class Step { idle, connecting, queueing, notifying, cancelling } step = Step::idle;
    Clock::time_point hangup_at;
  };
  struct Phase {
    uint64_t cycles = 0;
    Samples cycle_us, notify_us, ping_us;
    double seconds = 0;
  };

  void start_cycle(Pair& p);
  void start_probe(Probe& p);
  void start_ping();
  // Runs `fn` once, `delay` from now, on the tool's thread.
  void after(std::chrono::microseconds delay, std::function<void()> fn) {
    auto timer = std::make_shared<asio::steady_timer>(io_, delay);
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code&) { fn(); });
  }
  bool run_until(const std::function<bool()>& done, double timeout_s) {
    return hailer_load_run_until(io_, done, timeout_s);
  }
  Phase measure(double seconds);
  void print(const char* label, Phase& phase, bool last);

  asio::io_context& io_;
  Options options_;
  Clock::time_point start_ = Clock::now();
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<Pair> pairs_;
  std::vector<Probe> probes_;
  // With --ping-gap-us, one more session pings: the same two loopback hops as a notify (a
  // request in, a message out) with nothing for the server to do but answer.
  Session* pinger_ = nullptr;
  uint64_t ping_id_ = 0;
  bool pinging_ = false;
  Session* stuck_ = nullptr;
  Phase* phase_ = nullptr;
  bool measuring_ = false;
  bool finished_ = false;
  uint64_t errors_ = 0, disconnects_ = 0, registered_ = 0;
  int64_t rss_before_kib_ = -1, rss_after_kib_ = -1;
  std::string json_;
};

Session::Session(Load& load, asio::io_context& io, uint32_t index, std::string name)
    : load_(load), socket_(io), index_(index), name_(name), client_(config_for(name)) {}

void Session::tick() {
  if (!reading_) return;
  client_.timer(load_.now(), effects_);
  apply(effects_);
}

void Session::start(const tcp::endpoint& server) {
  if (receive_buffer_bytes > 0) {
    socket_.open(tcp::v4());
    socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes));
  }
  socket_.async_connect(server, [this](const boost::system::error_code& ec) {
    if (ec) return load_.error("connect: " + ec.message());
    socket_.set_option(tcp::no_delay(true));
    client_.connected(load_.now(), effects_);
    apply(effects_);
    read();
  });
}

uint64_t Session::send(RequestBody body) {
  const uint64_t id = client_.send(load_.now(), std::move(body), effects_);
  apply(effects_);
  return id;
}

void Session::apply(std::vector<ClientEffect>& effects, bool flush_now) {
  // Handling a Heard may send (and so add effects): work on this batch, leave `effects` free.
  std::vector<ClientEffect> batch;
  batch.swap(effects);
  for (auto& e : batch) {
    if (auto* t = std::get_if<SendText>(&e)) {
      pending_ += t->text;
      pending_ += '\n';
    } else if (auto* h = std::get_if<Heard>(&e)) {
      load_.heard(*this, h->message);
    } else if (auto* g = std::get_if<ServerGarbage>(&e)) {
      load_.error("undecodable from the server: " + g->text);
    }
  }
  if (flush_now) flush();
}

void Session::flush() {
  if (writing_ || pending_.empty()) return;
  writing_ = true;
  inflight_.swap(pending_);
  pending_.clear();
  last_write_at = Clock::now();
  asio::async_write(socket_, asio::buffer(inflight_), [this](const boost::system::error_code& ec, std::size_t) {
    writing_ = false;
    if (ec) return;
    inflight_.clear();
    flush();
  });
}

void Session::read() {
  if (!reading_) return;
  socket_.async_read_some(asio::buffer(in_), [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec) {
      load_.disconnected(*this);
      return;
    }
    std::string_view data(in_.data(), n);
    while (!data.empty()) {
      const auto end = data.find('\n');
      if (end == std::string_view::npos) {
        partial_.append(data);
        break;
      }
      if (partial_.empty()) {
        on_line(data.substr(0, end));
      } else {
        partial_.append(data.substr(0, end));
        on_line(partial_);
        partial_.clear();
      }
      data.remove_prefix(end + 1);
    }
    flush();  // whatever the lines of this read made this session send, in one write
    read();
  });
}

void Session::on_line(std::string_view line) {
  client_.received(load_.now(), line, effects_);
  apply(effects_, false);
}

void Load::heard(Session& s, const ServerMessage& m) {
  if (const auto* e = std::get_if<ErrorReply>(&m))
    return error(s.name() + " got error " + std::string(to_string(e->code)) + ": " + e->message);
  if (const auto* ok = std::get_if<OkReply>(&m); ok && std::holds_alternative<RegisteredData>(ok->data))
    return registered();
  if (s.pair >= 0) {
    Pair& p = pairs_[static_cast<std::size_t>(s.pair)];
    if (&s == p.callee && std::holds_alternative<CallRinging>(m)) {
      p.callee->send(AcceptRequest{});
    } else if (&s == p.caller && std::holds_alternative<CallConnected>(m)) {
      p.caller->send(HangupRequest{});
    } else if (&s == p.caller && std::holds_alternative<CallEnded>(m)) {
      p.cycling = false;
      if (phase_ != nullptr) {
        ++phase_->cycles;
        phase_->cycle_us.add(Clock::now() - p.started);
      }
      if (measuring_) start_cycle(p);
    }
    return;
  }
  if (&s == pinger_) {
    const auto* ok = std::get_if<OkReply>(&m);
    if (ok == nullptr || ok->id != ping_id_ || !pinging_) return;
    if (phase_ != nullptr) phase_->ping_us.add(Clock::now() - pinger_->last_write_at);
    pinging_ = false;
    if (!measuring_) return;
    if (options_.ping_gap_us == 0) return start_ping();
    return after(std::chrono::microseconds(options_.ping_gap_us), [this] {
      if (measuring_ && !pinging_) start_ping();
    });
  }
  if (s.probe >= 0) {
    Probe& p = probes_[static_cast<std::size_t>(s.probe)];
    if (&s == p.callee && std::holds_alternative<CallRinging>(m) && p.step == Probe::Step::connecting) {
      p.callee->send(AcceptRequest{});
    } else if (&s == p.peer && std::holds_alternative<CallConnected>(m) && p.step == Probe::Step::connecting) {
      p.step = Probe::Step::queueing;
      p.waiter->send(CallRequest{p.callee->name(), std::nullopt});
    } else if (&s == p.waiter && std::holds_alternative<WaitUpdate>(m) && p.step == Probe::Step::queueing) {
      p.step = Probe::Step::notifying;
      p.peer->send(HangupRequest{});
      p.hangup_at = p.peer->last_write_at;
    } else if (&s == p.waiter && std::holds_alternative<CalleeAvailable>(m) && p.step == Probe::Step::notifying) {
      if (phase_ != nullptr) phase_->notify_us.add(Clock::now() - p.hangup_at);
      p.waiter->send(CancelWaitRequest{});
      p.step = Probe::Step::cancelling;
    } else if (&s == p.waiter && std::holds_alternative<OkReply>(m) && p.step == Probe::Step::cancelling) {
      // The next round waits for the server to have handled cancel_wait: the peer's next call,
      // read first, would find the callee's recall window still the waiter's and be queued
      // (docs/protocol.md), and the probe would wait for a ringing that never comes.
      p.step = Probe::Step::idle;
      if (measuring_) {
        after(std::chrono::milliseconds(2), [this, &p] {
          // Not if a new phase started this probe already (its start loop runs idle probes).
          if (measuring_ && p.step == Probe::Step::idle) start_probe(p);
        });
      }
    }
  }
}

void Load::start_cycle(Pair& p) {
  p.cycling = true;
  p.started = Clock::now();
  p.caller->send(CallRequest{p.callee->name(), std::nullopt});
}

void Load::start_ping() {
  pinging_ = true;
  ping_id_ = pinger_->send(PingRequest{});
}

void Load::start_probe(Probe& p) {
  p.step = Probe::Step::connecting;
  p.peer->send(CallRequest{p.callee->name(), std::nullopt});
}

Load::Phase Load::measure(double seconds) {
  Phase phase;
  phase_ = &phase;
  measuring_ = true;
  for (auto& p : pairs_) start_cycle(p);
  for (auto& p : probes_) {
    if (p.step == Probe::Step::idle) start_probe(p);
  }
  if (pinger_ != nullptr && !pinging_) start_ping();
  const auto t0 = Clock::now();
  run_until([&] { return Clock::now() - t0 >= std::chrono::duration<double>(seconds); }, seconds + 1);
  phase.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  measuring_ = false;
  // Let the cycles in flight finish (not counted) so the next phase starts from idle.
  phase_ = nullptr;
  run_until(
      [&] {
        for (auto& p : pairs_)
          if (p.cycling) return false;
        for (auto& p : probes_)
          if (p.step != Probe::Step::idle) return false;
        return !pinging_;
      },
      5);
  return phase;
}

void Load::print(const char* label, Phase& ph, bool last) {
  const double rate = ph.seconds > 0 ? static_cast<double>(ph.cycles) / ph.seconds : 0;
  if (options_.json) {
    char buf[1024];
    std::snprintf(
        buf, sizeof buf,
        "\"%s\":{\"seconds\":%.3f,\"cycles\":%llu,\"cycles_per_s\":%.1f,\"cycle_p50_us\":%.1f,\"cycle_p95_us\":%.1f,"
        "\"cycle_p99_us\":%.1f,\"cycle_max_us\":%.1f,"
        "\"notify_samples\":%zu,\"notify_p50_us\":%.1f,\"notify_p95_us\":%.1f,\"notify_p99_us\":%.1f,\"notify_max_us\":"
        "%.1f,"
        "\"ping_samples\":%zu,\"ping_p50_us\":%.1f,\"ping_p95_us\":%.1f,\"ping_p99_us\":%.1f,\"ping_max_us\":%.1f}%s",
        label, ph.seconds, static_cast<unsigned long long>(ph.cycles), rate, ph.cycle_us.at(0.5), ph.cycle_us.at(0.95),
        ph.cycle_us.at(0.99), ph.cycle_us.at(1.0), ph.notify_us.us.size(), ph.notify_us.at(0.5), ph.notify_us.at(0.95),
        ph.notify_us.at(0.99), ph.notify_us.at(1.0), ph.ping_us.us.size(), ph.ping_us.at(0.5), ph.ping_us.at(0.95),
        ph.ping_us.at(0.99), ph.ping_us.at(1.0), last ? "" : ",");
    json_ += buf;
    return;
  }
  std::printf(
      "%-13s %8.0f cycles/s (%llu in %.1f s), cycle p50 %.0f us p95 %.0f us p99 %.0f us max %.0f us; notify p50 %.1f "
      "us p95 %.1f us p99 %.1f us max %.1f us (%zu probes)\n",
      label, rate, static_cast<unsigned long long>(ph.cycles), ph.seconds, ph.cycle_us.at(0.5), ph.cycle_us.at(0.95),
      ph.cycle_us.at(0.99), ph.cycle_us.at(1.0), ph.notify_us.at(0.5), ph.notify_us.at(0.95), ph.notify_us.at(0.99),
      ph.notify_us.at(1.0), ph.notify_us.us.size());
  if (!ph.ping_us.us.empty()) {
    std::printf(
        "%-13s ping round trip (the same two hops, nothing to do) p50 %.1f us p95 %.1f us p99 %.1f us max %.1f us (%zu "
        "pings)\n",
        "", ph.ping_us.at(0.5), ph.ping_us.at(0.95), ph.ping_us.at(0.99), ph.ping_us.at(1.0), ph.ping_us.us.size());
  }
}

int Load::run() {
  const tcp::endpoint server = parse_endpoint(options_.server);
  const uint32_t needed = 2 * options_.pairs + 3 * options_.probes + (options_.ping_gap_us >= 0 ? 1 : 0);
  if (options_.sessions < needed) options_.sessions = needed;
  rss_before_kib_ = rss_kib(options_.server_pid);
  auto ticker = std::make_unique<Ticker>(io_, [this](std::size_t slot) {
    for (std::size_t i = slot; i < sessions_.size(); i += Ticker::slots) sessions_[i]->tick();
  });
  const auto setup_start = Clock::now();
  for (uint32_t i = 0; i < options_.sessions; ++i) {
    sessions_.push_back(std::make_unique<Session>(*this, io_, i, options_.prefix + std::to_string(i)));
    sessions_.back()->start(server);
    // Connect in waves so the listen backlog never overflows.
    if (i % 256 == 255) run_until([&] { return registered_ + errors_ >= i + 1; }, options_.setup_timeout_s);
  }
  if (!run_until([&] { return registered_ + errors_ >= options_.sessions; }, options_.setup_timeout_s) || errors_ > 0) {
    std::fprintf(stderr, "hailer-load: %llu of %u sessions registered (%llu errors)\n",
                 static_cast<unsigned long long>(registered_), options_.sessions,
                 static_cast<unsigned long long>(errors_));
    return 1;
  }
  const double setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();
  rss_after_kib_ = rss_kib(options_.server_pid);
  for (uint32_t p = 0; p < options_.pairs; ++p) {
    pairs_.push_back({sessions_[2 * p].get(), sessions_[2 * p + 1].get(), {}, false});
    sessions_[2 * p]->pair = sessions_[2 * p + 1]->pair = static_cast<int32_t>(p);
  }
  for (uint32_t k = 0; k < options_.probes; ++k) {
    const uint32_t b = 2 * options_.pairs + 3 * k;
    probes_.push_back({sessions_[b].get(), sessions_[b + 1].get(), sessions_[b + 2].get(), Probe::Step::idle, {}});
    for (uint32_t i = b; i < b + 3; ++i) sessions_[i]->probe = static_cast<int32_t>(k);
  }
  if (options_.ping_gap_us >= 0) pinger_ = sessions_[2 * options_.pairs + 3 * options_.probes].get();
  const double per_session_kib = rss_before_kib_ > 0 && rss_after_kib_ > 0
                                     ? static_cast<double>(rss_after_kib_ - rss_before_kib_) / options_.sessions
                                     : -1;
  if (options_.json) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"sessions\":%u,\"pairs\":%u,\"probes\":%u,\"setup_s\":%.3f,\"server_rss_kib_per_session\":%.2f,",
                  options_.sessions, options_.pairs, options_.probes, setup_s, per_session_kib);
    json_ = buf;
  } else {
    std::printf("%u sessions registered in %.2f s; server RSS %s\n", options_.sessions, setup_s,
                per_session_kib < 0
                    ? "unknown (give --server-pid)"
                    : (std::to_string(per_session_kib).substr(0, 5) + " KiB per session (" +
                       std::to_string(rss_before_kib_) + " -> " + std::to_string(rss_after_kib_) + " KiB)")
                          .c_str());
  }
  Phase base = measure(options_.seconds);
  print("load", base, !options_.stuck);
  if (options_.stuck) {
    // One more client registers, then never reads: it asks `who` until the server drops it.
    sessions_.push_back(std::make_unique<Session>(*this, io_, options_.sessions, options_.prefix + "stuck"));
    stuck_ = sessions_.back().get();
    stuck_->receive_buffer_bytes = 4096;
    stuck_->start(server);
    run_until([&] { return registered_ >= options_.sessions + 1; }, options_.setup_timeout_s);
    stuck_->stop_reading();
    // Paced so its unread replies (about 40 bytes a user each) reach the server's 256 KiB
    // outbound limit near the end of the phase: stuck, and queueing, for the whole phase.
    const double reply_bytes = 40.0 * (options_.sessions + 1);
    const auto every = std::chrono::microseconds(
        std::max<int64_t>(200, static_cast<int64_t>(options_.seconds * 1e6 * reply_bytes / (240.0 * 1024))));
    auto flood = std::make_shared<asio::steady_timer>(io_);
    auto flooding = std::make_shared<bool>(true);
    std::function<void()> ask;
    ask = [this, flood, flooding, every, &ask] {
      stuck_->send(WhoRequest{});
      flood->expires_after(every);
      flood->async_wait([flooding, &ask](const boost::system::error_code& ec) {
        // A wait that expired just before the cancel below still completes without an error,
        // later, when `ask` is gone: the flag, held by the handler itself, says the flood ended.
        if (!ec && *flooding) ask();
      });
    };
    ask();
    Phase with = measure(options_.seconds);
    *flooding = false;
    flood->cancel();
    print("stuck_reader", with, true);
  }
  if (options_.json)
    std::printf("%s,\"errors\":%llu,\"disconnects\":%llu}\n", json_.c_str(), static_cast<unsigned long long>(errors_),
                static_cast<unsigned long long>(disconnects_));
  else
    std::printf("errors %llu, disconnects %llu\n", static_cast<unsigned long long>(errors_),
                static_cast<unsigned long long>(disconnects_));
  finished_ = true;  // the closes below are ours, not disconnects
  ticker.reset();
  for (auto& s : sessions_) s->close();
  io_.run_for(std::chrono::milliseconds(100));
  return errors_ == 0 && disconnects_ == 0 ? 0 : 1;
}

// ============================================================================ ptt

class PttLoad;

/// One student over a WebSocket: upgrade, then masked client frames out and server frames in.
class Student {
 public:
  Student(PttLoad& load, asio::io_context& io, uint32_t index, ClientConfig config)
      : load_(load), socket_(io), index_(index), client_(std::move(config)) {}
  void start(const tcp::endpoint& server);
  void send(RequestBody body);
  void send_audio(uint16_t sequence, bool last, std::span<const uint8_t> pcm);
  /// The client's own timers (its pings keep a silent student inside the server's heartbeat).
  void tick();
  ProtocolClient& client() { return client_; }
  uint32_t index() const { return index_; }
  /// Never reads again (the slow-consumer probe): what the server sends piles up.
  void stop_reading() { reading_ = false; }
  bool upgraded = false;
  bool joined = false;
  bool failed = false;
  int receive_buffer_bytes = 0;  ///< a small receive buffer (the stuck student), 0 = the kernel's
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void read();
  void on_bytes(std::size_t n);
  void frame_out(uint8_t opcode, std::span<const uint8_t> payload);
  void apply(std::vector<ClientEffect>& effects);
  void flush();

  PttLoad& load_;
  tcp::socket socket_;
  uint32_t index_;
  ProtocolClient client_;
  std::vector<char> in_ = std::vector<char>(64 * 1024);
  std::string buffer_;
  std::string pending_, inflight_;
  bool writing_ = false;
  bool reading_ = true;
  std::vector<ClientEffect> effects_;
  Prng masks_{0};
};

class PttLoad {
 public:
  PttLoad(asio::io_context& io, Options options) : io_(io), options_(std::move(options)) {}
  Time now() const {
    return Time{std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count()};
  }
  void heard(Student& s, const ServerMessage& m);
  void failed(Student& s, const std::string& what) {
    if (&s == stuck_.get()) return;  // the stuck student's end is the probe's business
    if (!s.failed && !finished_) {
      s.failed = true;
      ++failures_;
      if (failures_ <= 5) std::fprintf(stderr, "hailer-load: student %u: %s\n", s.index(), what.c_str());
    }
  }
  int run();
  Clock::time_point last_rx;  ///< when any student last read anything

 private:
  /// One churn phase's figures.
  struct Churn {
    Samples press, press_reply, handover;
    uint32_t done = 0;         ///< cycles completed
    double seconds = 0;        ///< wall time of the phase
    double server_cpu_s = -1;  ///< the server's CPU time over the phase (needs --server-pid)
    uint64_t frames_sent = 0;  ///< audio frames the talkers sent
    uint64_t lost = 0;         ///< connections lost during the phase
    std::map<std::string, uint64_t> counters_before, counters_after;  ///< the server's, with --server-log
    int64_t delta(const std::string& name) const { return counter_delta(counters_before, counters_after, name); }
  };

  bool run_until(const std::function<bool()>& done, double timeout_s) {
    return hailer_load_run_until(io_, done, timeout_s);
  }
  bool cycle(Prng& rng, Churn& churn);
  Churn churn(Prng& rng);
  void start_all(const tcp::endpoint& server);
  void pace_joins(const tcp::endpoint& server);
  bool start_stuck(const tcp::endpoint& server);
  void print_churn(const char* title, Churn& c);
  std::string churn_json(Churn& c);

  asio::io_context& io_;
  Options options_;
  Clock::time_point start_ = Clock::now();
  std::vector<std::unique_ptr<Student>> students_;
  std::unique_ptr<Student> stuck_;            ///< the slow-consumer probe's student (--stuck), never churned
  std::unique_ptr<asio::steady_timer> pace_;  ///< paces the joins (--join-rate)
  Clock::time_point joins_from_;
  std::size_t next_join_ = 0;  ///< the next student to start (--join-rate)
  uint64_t failures_ = 0, errors_ = 0, joined_ = 0;
  bool finished_ = false;
  // The cycle in progress: who is waited for, and what.
  Student* granted_wanted_ = nullptr;
  bool granted_ = false, queued_ = false, idle_ = false, replied_ = false;
  Clock::time_point granted_at_, replied_at_;
  Student* queued_wanted_ = nullptr;
};

void Student::tick() {
  if (!upgraded || failed) return;
  client_.timer(load_.now(), effects_);
  apply(effects_);
}

void Student::start(const tcp::endpoint& server) {
  socket_.async_connect(server, [this](const boost::system::error_code& ec) {
    if (ec) return load_.failed(*this, "connect: " + ec.message());
    socket_.set_option(tcp::no_delay(true));
    if (receive_buffer_bytes > 0) socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes));
    pending_ =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: aGFpbGVyLWxvYWQtdG9vbA==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    flush();
    read();
  });
}

void Student::send(RequestBody body) {
  client_.send(load_.now(), std::move(body), effects_);
  apply(effects_);
}

void Student::send_audio(uint16_t sequence, bool last, std::span<const uint8_t> pcm) {
  frame_out(0x2, encode_ptt_frame(sequence, last, pcm));
  flush();
}

void Student::frame_out(uint8_t opcode, std::span<const uint8_t> payload) {
  pending_.push_back(static_cast<char>(0x80 | opcode));
  const std::size_t n = payload.size();
  if (n < 126) {
    pending_.push_back(static_cast<char>(0x80 | n));
  } else {
    HAILER_ASSERT(n < 65536);
    pending_.push_back(static_cast<char>(0x80 | 126));
    pending_.push_back(static_cast<char>(n >> 8));
    pending_.push_back(static_cast<char>(n & 0xFF));
  }
  const uint32_t mask = static_cast<uint32_t>(masks_.next());
  const uint8_t key[4] = {static_cast<uint8_t>(mask), static_cast<uint8_t>(mask >> 8), static_cast<uint8_t>(mask >> 16),
                          static_cast<uint8_t>(mask >> 24)};
  pending_.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < n; ++i) pending_.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
}

void Student::apply(std::vector<ClientEffect>& effects) {
  std::vector<ClientEffect> batch;
  batch.swap(effects);
  for (auto& e : batch) {
    if (auto* t = std::get_if<SendText>(&e)) {
      frame_out(0x1, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(t->text.data()), t->text.size()));
    } else if (auto* h = std::get_if<Heard>(&e)) {
      load_.heard(*this, h->message);
    } else if (auto* g = std::get_if<ServerGarbage>(&e)) {
      load_.failed(*this, "undecodable from the server: " + g->text);
    }
  }
  flush();
}

void Student::flush() {
  if (writing_ || pending_.empty()) return;
  writing_ = true;
  inflight_.swap(pending_);
  pending_.clear();
  asio::async_write(socket_, asio::buffer(inflight_), [this](const boost::system::error_code& ec, std::size_t) {
    writing_ = false;
    if (ec) return load_.failed(*this, "write: " + ec.message());
    inflight_.clear();
    flush();
  });
}

void Student::read() {
  socket_.async_read_some(asio::buffer(in_), [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec) return load_.failed(*this, "connection lost: " + ec.message());
    on_bytes(n);
    if (!failed && reading_) read();
  });
}

void Student::on_bytes(std::size_t n) {
  load_.last_rx = Clock::now();
  buffer_.append(in_.data(), n);
  if (!upgraded) {
    const auto end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (buffer_.compare(0, 12, "HTTP/1.1 101") != 0)
      return load_.failed(*this, "upgrade refused: " + buffer_.substr(0, buffer_.find('\r')));
    buffer_.erase(0, end + 4);
    upgraded = true;
    client_.connected(load_.now(), effects_);  // the join
    apply(effects_);
  }
  std::size_t at = 0;
  while (buffer_.size() - at >= 2) {
    const auto b0 = static_cast<uint8_t>(buffer_[at]), b1 = static_cast<uint8_t>(buffer_[at + 1]);
    std::size_t len = b1 & 0x7F, head = 2;
    if (len == 126) {
      if (buffer_.size() - at < 4) break;
      len =
          static_cast<std::size_t>(static_cast<uint8_t>(buffer_[at + 2]) << 8 | static_cast<uint8_t>(buffer_[at + 3]));
      head = 4;
    } else if (len == 127) {
      if (buffer_.size() - at < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = len << 8 | static_cast<uint8_t>(buffer_[at + 2 + i]);
      head = 10;
    }
    if (buffer_.size() - at < head + len) break;
    const std::string_view payload(buffer_.data() + at + head, len);
    at += head + len;
    const uint8_t opcode = b0 & 0x0F;
    if (opcode == 0x1) {
      client_.received(load_.now(), payload, effects_);
      apply(effects_);
    } else if (opcode == 0x8) {
      buffer_.clear();
      return load_.failed(*this, "closed by the server");
    } else if (opcode == 0x9) {
      frame_out(0xA, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
      flush();
    }
  }
  buffer_.erase(0, at);
}

void PttLoad::heard(Student& s, const ServerMessage& m) {
  if (&s == stuck_.get()) {
    if (const auto* ok = std::get_if<OkReply>(&m); ok && std::holds_alternative<RoomData>(ok->data)) s.joined = true;
    return;  // it stops reading once in: what it would hear is not counted
  }
  if (const auto* e = std::get_if<ErrorReply>(&m)) {
    ++errors_;
    if (errors_ <= 5)
      std::fprintf(stderr, "hailer-load: student %u got error %s: %s\n", s.index(),
                   std::string(to_string(e->code)).c_str(), e->message.c_str());
    return;
  }
  if (const auto* ok = std::get_if<OkReply>(&m); ok && std::holds_alternative<RoomData>(ok->data) && !s.joined) {
    s.joined = true;
    ++joined_;
    return;
  }
  if (std::holds_alternative<OkReply>(m) && &s == granted_wanted_ && !replied_) {
    replied_ = true;  // the press's own reply, which the server sends before the grant
    replied_at_ = Clock::now();
  }
  if (std::holds_alternative<FloorGranted>(m) && &s == granted_wanted_) {
    granted_ = true;
    granted_at_ = Clock::now();  // when the grant was read, not when the loop looked
  }
  if (std::holds_alternative<FloorQueued>(m) && &s == queued_wanted_) queued_ = true;
  if (std::holds_alternative<FloorIdle>(m) && &s == granted_wanted_) idle_ = true;
}

// One churn cycle between two random students; false when a step did not come within 5 s.
bool PttLoad::cycle(Prng& rng, Churn& churn) {
  Samples& press = churn.press;
  Samples& press_reply = churn.press_reply;
  Samples& handover = churn.handover;
  Student& a = *students_[rng.next() % students_.size()];
  Student* pick = &a;
  while (pick == &a) pick = students_[rng.next() % students_.size()].get();
  Student& b = *pick;
  granted_wanted_ = &a;
  granted_ = false;
  replied_ = false;
  auto t = Clock::now();
  a.send(PressRequest{});
  if (!run_until([&] { return granted_; }, 5)) return false;
  press.add(granted_at_ - t);
  if (replied_) press_reply.add(replied_at_ - t);
  static const std::vector<uint8_t> pcm = [] {
    std::vector<uint8_t> v(1920);
    for (std::size_t i = 0; i < v.size(); i += 2) v[i + 1] = 0x10;  // a steady -18 dBFS
    return v;
  }();
  for (uint16_t k = 0; k < 10; ++k) {  // 200 ms of audio in real time
    a.send_audio(k, k == 9, pcm);
    ++churn.frames_sent;
    const auto until = Clock::now() + std::chrono::milliseconds(20);
    run_until([&] { return Clock::now() >= until; }, 1);
  }
  queued_wanted_ = &b;
  queued_ = false;
  b.send(PressRequest{});
  if (!run_until([&] { return queued_; }, 5)) return false;
  granted_wanted_ = &b;
  granted_ = false;
  replied_ = true;  // b's press was answered already
  t = Clock::now();
  a.send(ReleaseRequest{});
  if (!run_until([&] { return granted_; }, 5)) return false;
  handover.add(granted_at_ - t);
  idle_ = false;
  b.send(ReleaseRequest{});
  if (!run_until([&] { return idle_; }, 5)) return false;
  // Let the room settle (every member reads floor_idle) before the next press, as a class does.
  const auto quiet = Clock::now() + std::chrono::milliseconds(50);
  run_until([&] { return Clock::now() >= quiet; }, 1);
  return true;
}

// Starts every student's upgrade and join: all at once (the "simultaneous joins"), or
// --join-rate students a second.
void PttLoad::start_all(const tcp::endpoint& server) {
  if (options_.join_rate <= 0) {
    for (auto& st : students_) st->start(server);
    return;
  }
  pace_ = std::make_unique<asio::steady_timer>(io_);
  joins_from_ = Clock::now();
  pace_joins(server);
}

void PttLoad::pace_joins(const tcp::endpoint& server) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - joins_from_).count();
  const auto due = std::min(students_.size(), static_cast<std::size_t>(elapsed * options_.join_rate) + 1);
  while (next_join_ < due) students_[next_join_++]->start(server);
  if (next_join_ == students_.size()) return;
  pace_->expires_after(std::chrono::milliseconds(1));
  pace_->async_wait([this, server](const boost::system::error_code& ec) {
    if (!ec) pace_joins(server);
  });
}

// The slow-consumer probe: one more student joins, then never reads (a 4 KiB receive buffer):
// after a few dozen broadcasts its socket is full and everything the room sends it waits in
// the server. It sends nothing either: on loopback a client that does not read soon cannot
// send (its requests sat in its own send queue, 95 KB of them, while the server had read 335),
// so requests would not make the server queue more.
bool PttLoad::start_stuck(const tcp::endpoint& server) {
  ClientConfig c;
  c.face = Face::ptt;
  c.name = options_.prefix + "stuck";
  c.room = options_.room;
  c.format = AudioFormat{AudioCodec::pcm16, 48'000};
  stuck_ = std::make_unique<Student>(*this, io_, options_.students, c);
  stuck_->receive_buffer_bytes = 4096;
  stuck_->start(server);
  if (!run_until([&] { return stuck_->joined; }, options_.setup_timeout_s)) return false;
  stuck_->stop_reading();
  return true;
}

PttLoad::Churn PttLoad::churn(Prng& rng) {
  Churn c;
  c.counters_before = server_counters(options_.server_pid, options_.server_log);
  const uint64_t failures_before = failures_;
  const double cpu0 = cpu_seconds(options_.server_pid);
  const auto t0 = Clock::now();
  while (c.done < options_.cycles && cycle(rng, c)) ++c.done;
  c.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  c.server_cpu_s = cpu0 >= 0 ? cpu_seconds(options_.server_pid) - cpu0 : -1;
  c.lost = failures_ - failures_before;
  c.counters_after = server_counters(options_.server_pid, options_.server_log);
  return c;
}

void PttLoad::print_churn(const char* title, Churn& c) {
  std::printf("%s\n", title);
  std::printf("  press -> grant:   p50 %.0f us, p99 %.0f us, max %.0f us (%u cycles in %.1f s)\n", c.press.at(0.5),
              c.press.at(0.99), c.press.at(1.0), c.done, c.seconds);
  std::printf("  press -> its ok:  p50 %.0f us, p99 %.0f us (the reply, sent just before the grant)\n",
              c.press_reply.at(0.5), c.press_reply.at(0.99));
  std::printf("  handover:         p50 %.0f us, p99 %.0f us, max %.0f us\n", c.handover.at(0.5), c.handover.at(0.99),
              c.handover.at(1.0));
  std::printf("  frames: %llu sent", static_cast<unsigned long long>(c.frames_sent));
  if (c.delta("core.audio_frames_admitted") >= 0) {
    std::printf("; the server admitted %lld, dropped %lld, played %lld (%lld concealed)",
                static_cast<long long>(c.delta("core.audio_frames_admitted")),
                static_cast<long long>(c.delta("core.audio_frames_dropped")),
                static_cast<long long>(c.delta("host.speaker_frames_played")),
                static_cast<long long>(c.delta("host.speaker_frames_concealed")));
  } else {
    std::printf(" (the server's own counts need --server-pid and --server-log)");
  }
  std::printf("; connections lost %llu\n", static_cast<unsigned long long>(c.lost));
  if (c.server_cpu_s >= 0) std::printf("  server CPU during the churn: %.2f s\n", c.server_cpu_s);
}

std::string PttLoad::churn_json(Churn& c) {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "\"cycles\":%u,\"churn_s\":%.2f,\"press_p50_us\":%.1f,\"press_p99_us\":%.1f,\"press_max_us\":%.1f,"
      "\"press_reply_p50_us\":%.1f,\"press_reply_p99_us\":%.1f,"
      "\"handover_p50_us\":%.1f,\"handover_p99_us\":%.1f,\"handover_max_us\":%.1f,\"server_cpu_s\":%.2f,"
      "\"frames_sent\":%llu,\"frames_admitted\":%lld,\"frames_dropped\":%lld,\"frames_played\":%lld,"
      "\"frames_concealed\":%lld,\"connections_lost\":%llu",
      c.done, c.seconds, c.press.at(0.5), c.press.at(0.99), c.press.at(1.0), c.press_reply.at(0.5),
      c.press_reply.at(0.99), c.handover.at(0.5), c.handover.at(0.99), c.handover.at(1.0), c.server_cpu_s,
      static_cast<unsigned long long>(c.frames_sent), static_cast<long long>(c.delta("core.audio_frames_admitted")),
      static_cast<long long>(c.delta("core.audio_frames_dropped")),
      static_cast<long long>(c.delta("host.speaker_frames_played")),
      static_cast<long long>(c.delta("host.speaker_frames_concealed")), static_cast<unsigned long long>(c.lost));
  return buf;
}

int PttLoad::run() {
  const tcp::endpoint server = parse_endpoint(options_.server);
  const int64_t rss_before = rss_kib(options_.server_pid);
  const auto t0 = Clock::now();
  for (uint32_t i = 0; i < options_.students; ++i) {
    ClientConfig c;
    c.face = Face::ptt;
    c.name = options_.prefix + std::to_string(i);
    c.room = options_.room;
    c.format = AudioFormat{AudioCodec::pcm16, 48'000};
    students_.push_back(std::make_unique<Student>(*this, io_, i, c));
  }
  start_all(server);
  // Once a second every student's own timers run, each at its own phase: a silent listener
  // pings within the heartbeat.
  auto ticker = std::make_unique<Ticker>(io_, [this](std::size_t slot) {
    for (std::size_t i = slot; i < students_.size(); i += Ticker::slots) students_[i]->tick();
  });
  const double join_window_s = options_.join_rate > 0 ? options_.students / options_.join_rate : 0;
  const bool all = run_until([&] { return joined_ + failures_ + errors_ >= options_.students; },
                             options_.setup_timeout_s + join_window_s);
  const double join_s = std::chrono::duration<double>(Clock::now() - t0).count();
  // Read every member_joined the joins caused (N x N of them) until the room is quiet for 300 ms:
  // the steady state of a connected class. Then 1 s more: the server gives freed memory back
  // once its writes have been quiet for a 500 ms period.
  run_until([&] { return Clock::now() - last_rx > std::chrono::milliseconds(300); }, options_.setup_timeout_s);
  const double settle_s = std::chrono::duration<double>(Clock::now() - t0).count() - 0.3;
  run_until([] { return false; }, 1.0);
  const int64_t rss_after = rss_kib(options_.server_pid);
  const double per_student =
      rss_before > 0 && rss_after > 0 ? static_cast<double>(rss_after - rss_before) / options_.students : -1;
  const uint64_t dropped = options_.students - joined_;
  Prng rng(7);
  Churn base, stuck;
  bool stuck_ran = false;
  if (all && joined_ >= 2) {
    base = churn(rng);
    if (options_.stuck && base.done > 0) {
      if (!start_stuck(server)) {
        std::fprintf(stderr, "hailer-load: the stuck student could not join\n");
        ++failures_;
      } else {
        stuck = churn(rng);
        stuck_ran = true;
      }
    }
  }
  if (options_.hold_s > 0) run_until([] { return false; }, options_.hold_s);
  const int64_t slow_readers =
      stuck_ran ? counter_delta(base.counters_after, stuck.counters_after, "core.closed.slow_reader") : -1;
  if (options_.json) {
    std::string out = "{\"students\":" + std::to_string(options_.students) + ",\"joined\":" + std::to_string(joined_) +
                      ",\"dropped\":" + std::to_string(dropped);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  ",\"join_rate\":%.1f,\"join_s\":%.3f,\"settled_s\":%.3f,\"rss_kib_per_student\":%.2f,",
                  options_.join_rate, join_s, settle_s, per_student);
    out += buf + churn_json(base);
    if (stuck_ran)
      out += ",\"stuck_reader\":{" + churn_json(stuck) + ",\"closed_as_slow_reader\":" + std::to_string(slow_readers) +
             "}";
    out += ",\"errors\":" + std::to_string(errors_) + ",\"failures\":" + std::to_string(failures_) + "}";
    std::printf("%s\n", out.c_str());
  } else {
    // -1 marks a figure that could not be had (nobody joined, no --server-pid): said in words.
    char settled[64] = "not settled";
    if (joined_ > 0 && settle_s >= 0)
      std::snprintf(settled, sizeof settled, "every member_joined read by %.2f s", settle_s);
    char rss[64] = "server RSS per student unknown";
    if (per_student >= 0) std::snprintf(rss, sizeof rss, "server RSS %.1f KiB per student", per_student);
    char how[48] = "at once";
    if (options_.join_rate > 0) std::snprintf(how, sizeof how, "at %.0f a second", options_.join_rate);
    std::printf("%u students joining %s: %llu joined, %llu dropped, in %.2f s (%s); %s\n", options_.students, how,
                static_cast<unsigned long long>(joined_), static_cast<unsigned long long>(dropped), join_s, settled,
                rss);
    print_churn("churn:", base);
    if (stuck_ran) {
      print_churn("churn with one student who never reads:", stuck);
      if (slow_readers >= 0)
        std::printf("  closed as slow readers during it: %lld\n", static_cast<long long>(slow_readers));
    }
    std::printf("errors %llu, failures %llu\n", static_cast<unsigned long long>(errors_),
                static_cast<unsigned long long>(failures_));
  }
  finished_ = true;
  if (pace_) pace_->cancel();
  ticker.reset();
  for (auto& s : students_) s->close();
  if (stuck_) stuck_->close();
  io_.run_for(std::chrono::milliseconds(100));
  const bool churned = base.done == options_.cycles && (!options_.stuck || !stuck_ran || stuck.done == options_.cycles);
  return all && dropped == 0 && errors_ == 0 && failures_ == 0 && churned ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
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
  CLI11_PARSE(app, argc, argv);
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
    if (ptt->parsed()) {
      PttLoad load(io, o);
      return load.run();
    }
    Load load(io, o);
    return load.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer-load: %s\n", e.what());
    return 2;
  }
}
