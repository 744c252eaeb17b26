// hailer-load calls: every session a ProtocolClient (the one the CLI and the simulator use) behind
// an Asio socket, all on one thread.
#include "apps/load/calls_load.hpp"

#include <boost/asio/ssl.hpp>

#include "base/assert.hpp"
#include "client/client.hpp"
#include "net/tls_context.hpp"
#include "net/tls_socket.hpp"

namespace hailer::load {

namespace {

class Load;

ClientConfig config_for(const std::string& name, bool tls) {
  ClientConfig c;
  c.face = Face::calls;
  c.name = name;
  if (tls) c.login = make_login_key();  // a server with accounts: each session its own key
  return c;
}

/// One connection to the server: a socket, a ProtocolClient, line framing and a write buffer.
class Session {
 public:
  Session(Load& load, asio::io_context& io, uint32_t index, std::string name, asio::ssl::context* tls);
  void start(const tcp::endpoint& server);
  uint64_t send(RequestBody body);
  void stop_reading() { reading_ = false; }
  void close() {
    boost::system::error_code ignored;
    (tls_ ? tls_->next_layer() : socket_).close(ignored);
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
  template <class Stream>
  void read_from(Stream& stream);
  void on_connected();
  void on_line(std::string_view line);
  /// Calls `f` with the stream: TLS over the socket, or the socket itself.
  template <class F>
  void with_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(socket_);
  }
  void flush();
  void apply(std::vector<ClientEffect>& effects, bool flush_now = true);

  Load& load_;
  tcp::socket socket_;                   // moved into tls_ once connected, with --tls
  asio::ssl::context* tls_context_;      // null without --tls
  std::unique_ptr<net::TlsSocket> tls_;  // OpenSSL on the descriptor, as the server does it
  uint32_t index_;
  std::string name_;
  ProtocolClient client_;
  // Lines are short: a burst takes a few reads. 64 KiB here cost every session 16 page faults
  // and a memset, a third of the tool's time in a --one-by-one run.
  std::vector<char> in_ = std::vector<char>(8 * 1024);
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
  // --tls: one client context for every session (TLS 1.2+, the server's key not checked: a
  // load tool measures the server, it does not guard a user).
  std::unique_ptr<asio::ssl::context> tls_ = make_tls(options_.tls);
  static std::unique_ptr<asio::ssl::context> make_tls(bool on) {
    if (!on) return nullptr;
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_verify_mode(asio::ssl::verify_none);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    return ctx;
  }
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

Session::Session(Load& load, asio::io_context& io, uint32_t index, std::string name, asio::ssl::context* tls)
    : load_(load),
      socket_(io),
      tls_context_(tls),
      index_(index),
      name_(name),
      client_(config_for(name, tls != nullptr)) {}

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
    if (tls_context_ == nullptr) return on_connected();
    tls_ = std::make_unique<net::TlsSocket>(std::move(socket_), tls_context_->native_handle(), net::TlsRole::client);
    tls_->async_handshake([this](const boost::system::error_code& failed) {
      if (failed) return load_.error("TLS handshake: " + failed.message());
      on_connected();
    });
  });
}

void Session::on_connected() {
  if (tls_) client_.set_channel_binding(net::channel_binding(tls_->native_handle()));  // what the login signs
  client_.connected(load_.now(), effects_);
  apply(effects_);
  read();
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
  with_stream([this](auto& stream) {
    asio::async_write(stream, asio::buffer(inflight_), [this](const boost::system::error_code& ec, std::size_t) {
      writing_ = false;
      if (ec) return;
      inflight_.clear();
      flush();
    });
  });
}

void Session::read() {
  if (!reading_) return;
  with_stream([this](auto& stream) { read_from(stream); });
}

template <class Stream>
void Session::read_from(Stream& stream) {
  stream.async_read_some(asio::buffer(in_), [this](const boost::system::error_code& ec, std::size_t n) {
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
  Samples one_setup;  // --one-by-one: connect to registered, per session
  for (uint32_t i = 0; i < options_.sessions; ++i) {
    sessions_.push_back(std::make_unique<Session>(*this, io_, i, options_.prefix + std::to_string(i), tls_.get()));
    // From the connect on: the session's own key and buffers, made above, are the tool's work.
    const auto session_start = Clock::now();
    sessions_.back()->start(server);
    if (options_.one_by_one) {
      if (!run_until([&] { return registered_ + errors_ >= i + 1; }, options_.setup_timeout_s)) break;
      one_setup.add(Clock::now() - session_start);
    } else if (i % 256 == 255) {  // connect in waves so the listen backlog never overflows
      run_until([&] { return registered_ + errors_ >= i + 1; }, options_.setup_timeout_s);
    }
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
    if (options_.one_by_one) {
      std::snprintf(buf, sizeof buf, "\"setup_one_p50_ms\":%.3f,\"setup_one_p99_ms\":%.3f,", one_setup.at(0.5) / 1000,
                    one_setup.at(0.99) / 1000);
      json_ += buf;
    }
  } else {
    std::printf("%u sessions registered in %.2f s; server RSS %s\n", options_.sessions, setup_s,
                per_session_kib < 0
                    ? "unknown (give --server-pid)"
                    : (std::to_string(per_session_kib).substr(0, 5) + " KiB per session (" +
                       std::to_string(rss_before_kib_) + " -> " + std::to_string(rss_after_kib_) + " KiB)")
                          .c_str());
    if (options_.one_by_one)
      std::printf("one after another: connect to registered p50 %.3f ms, p99 %.3f ms\n", one_setup.at(0.5) / 1000,
                  one_setup.at(0.99) / 1000);
  }
  Phase base = measure(options_.seconds);
  print("load", base, !options_.stuck);
  if (options_.stuck) {
    // One more client registers, then never reads: it asks `who` until the server drops it.
    sessions_.push_back(
        std::make_unique<Session>(*this, io_, options_.sessions, options_.prefix + "stuck", tls_.get()));
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

}  // namespace

int run_calls(asio::io_context& io, const Options& o) {
  Load load(io, o);
  return load.run();
}

}  // namespace hailer::load
