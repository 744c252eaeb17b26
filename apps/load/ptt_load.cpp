// hailer-load ptt: WebSocket students (Boost.Beast's client, the same ProtocolClient inside)
// join one room, then floor churn by random pairs.
#include "apps/load/ptt_load.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "base/assert.hpp"
#include "base/prng.hpp"
#include "client/client.hpp"
#include "protocol/ptt_frame.hpp"

namespace hailer::load {

namespace {

namespace websocket = boost::beast::websocket;

// ============================================================================ ptt

class PttLoad;

/// One student over a WebSocket: Beast's handshake and framing (pings answered by Beast), one
/// write in flight at a time, text messages for the protocol and binary ones for audio.
class Student {
 public:
  Student(PttLoad& load, asio::io_context& io, uint32_t index, ClientConfig config)
      : load_(load), ws_(io), index_(index), client_(std::move(config)) {}
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
  /// Drops the connection at once (the run is over).
  void close() {
    boost::system::error_code ignored;
    ws_.next_layer().close(ignored);
  }

 private:
  /// One message waiting for the socket.
  struct Outgoing {
    bool binary;
    std::string bytes;
  };
  void read();
  void on_message();
  void queue(bool binary, std::string bytes);
  void apply(std::vector<ClientEffect>& effects);
  void write_next();

  PttLoad& load_;
  websocket::stream<tcp::socket> ws_;
  uint32_t index_;
  ProtocolClient client_;
  boost::beast::flat_buffer in_;
  std::deque<Outgoing> out_;  // out_.front() is being written while writing_
  bool writing_ = false;
  bool reading_ = true;
  std::vector<ClientEffect> effects_;
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
  ws_.next_layer().async_connect(server, [this](const boost::system::error_code& ec) {
    if (ec) return load_.failed(*this, "connect: " + ec.message());
    ws_.next_layer().set_option(tcp::no_delay(true));
    if (receive_buffer_bytes > 0)
      ws_.next_layer().set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes));
    ws_.async_handshake("127.0.0.1", "/ws", [this](const boost::system::error_code& refused) {
      if (refused) return load_.failed(*this, "upgrade refused: " + refused.message());
      upgraded = true;
      client_.connected(load_.now(), effects_);  // the join
      apply(effects_);
      read();
    });
  });
}

void Student::send(RequestBody body) {
  if (!upgraded || failed) return;  // never joined, or lost: the run counts it as a failure already
  client_.send(load_.now(), std::move(body), effects_);
  apply(effects_);
}

void Student::send_audio(uint16_t sequence, bool last, std::span<const uint8_t> pcm) {
  const auto frame = encode_ptt_frame(sequence, last, pcm);
  queue(true, std::string(frame.begin(), frame.end()));
}

void Student::apply(std::vector<ClientEffect>& effects) {
  std::vector<ClientEffect> batch;
  batch.swap(effects);
  for (auto& e : batch) {
    if (auto* t = std::get_if<SendText>(&e)) {
      queue(false, std::move(t->text));
    } else if (auto* h = std::get_if<Heard>(&e)) {
      load_.heard(*this, h->message);
    } else if (auto* g = std::get_if<ServerGarbage>(&e)) {
      load_.failed(*this, "undecodable from the server: " + g->text);
    }
  }
}

void Student::queue(bool binary, std::string bytes) {
  if (failed) return;
  out_.push_back(Outgoing{binary, std::move(bytes)});
  if (!writing_) write_next();
}

// Beast allows one write in flight on a stream: the rest wait in out_, in order.
void Student::write_next() {
  HAILER_ASSERT(!writing_ && !out_.empty());
  writing_ = true;
  ws_.binary(out_.front().binary);
  ws_.async_write(asio::buffer(out_.front().bytes), [this](const boost::system::error_code& ec, std::size_t) {
    writing_ = false;
    if (ec) return load_.failed(*this, "write: " + ec.message());
    out_.pop_front();
    if (!out_.empty()) write_next();
  });
}

void Student::read() {
  ws_.async_read(in_, [this](const boost::system::error_code& ec, std::size_t) {
    load_.last_rx = Clock::now();
    if (ec == websocket::error::closed) return load_.failed(*this, "closed by the server");
    if (ec) return load_.failed(*this, "connection lost: " + ec.message());
    on_message();
    if (!failed && reading_) read();
  });
}

void Student::on_message() {
  if (ws_.got_text()) {
    const auto data = in_.cdata();
    client_.received(load_.now(), std::string_view(static_cast<const char*>(data.data()), data.size()), effects_);
    apply(effects_);
  }
  in_.consume(in_.size());
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

int run_ptt(asio::io_context& io, const Options& o) {
  PttLoad load(io, o);
  return load.run();
}

}  // namespace hailer::load
