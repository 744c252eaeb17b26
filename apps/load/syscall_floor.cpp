#include "apps/load/syscall_floor.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apps/load/measure.hpp"
#include "base/assert.hpp"

namespace hailer::load {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int max_events = 256;
constexpr std::size_t read_bytes = 4096;
constexpr uint32_t listener_key = UINT32_MAX;
constexpr uint32_t timer_key = UINT32_MAX - 1;
constexpr auto probe_gap = std::chrono::milliseconds(2);  // as hailer-load calls idles between rounds
constexpr int send_stall_ms = 5000;                       // a reader that takes longer is a failed run

// The message tags the relay writes back (the first byte of each line): what hailer-server would
// send at that point of the cycle.
constexpr char tag_ok = 'k';
constexpr char tag_ringing = 'r';
constexpr char tag_connected = 'c';
constexpr char tag_ended = 'e';
constexpr char tag_wait_update = 'w';
constexpr char tag_waiting_count = 'q';
constexpr char tag_available = 'n';
constexpr char tag_wait_ended = 'x';

/// Writes all of `bytes`, waiting (bounded) if the socket's buffer is full; false on failure.
bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, send_stall_ms) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

void set_no_delay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void watch(int epoll_fd, int fd, uint32_t key) {
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: one read per wake-up, no read that finds nothing
  ev.data.u32 = key;
  HAILER_ASSERT(::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0);
}

// ------------------------------------------------------------------------------- the relay

/// One relay connection: its socket and the bytes of a line not yet complete.
struct RelayConnection {
  int fd = -1;
  std::string in;
};

/// The relay's answer to one request line "ID.TAGS ID.TAGS ...": to each ID in turn, one write
/// holding one `message_bytes` line per tag.
void relay_line(std::vector<RelayConnection>& connections, std::string_view line, uint32_t message_bytes,
                std::string& out) {
  while (!line.empty()) {
    const auto space = line.find(' ');
    const std::string_view target = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    const auto dot = target.find('.');
    if (dot == std::string_view::npos) continue;
    const auto id = static_cast<std::size_t>(std::strtoul(std::string(target.substr(0, dot)).c_str(), nullptr, 10));
    if (id >= connections.size() || connections[id].fd < 0) continue;
    out.clear();
    for (const char tag : target.substr(dot + 1)) {
      out += tag;
      out.append(message_bytes - 2, '.');
      out += '\n';
    }
    if (!send_all(connections[id].fd, out)) _exit(3);
  }
}

/// The relay process's whole life: accept, read, write, until the parent ends it.
[[noreturn]] void relay(int listener, uint32_t message_bytes) {
  const int epoll_fd = ::epoll_create1(0);
  HAILER_ASSERT(epoll_fd >= 0);
  watch(epoll_fd, listener, listener_key);
  std::vector<RelayConnection> connections;
  std::string out;
  char buf[read_bytes];
  epoll_event events[max_events];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd, events, max_events, -1);
    if (n < 0 && errno == EINTR) continue;
    HAILER_ASSERT(n >= 0);
    for (int i = 0; i < n; ++i) {
      const uint32_t key = events[i].data.u32;
      if (key == listener_key) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
        if (fd < 0) continue;
        set_no_delay(fd);
        const auto id = static_cast<uint32_t>(connections.size());
        connections.push_back({fd, {}});
        watch(epoll_fd, fd, id);
        if (!send_all(fd, std::to_string(id) + "\n")) _exit(3);
        continue;
      }
      RelayConnection& c = connections[key];
      const ssize_t r = ::read(c.fd, buf, sizeof buf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        ::close(c.fd);  // the run is over for this client (the parent closes them all at the end)
        c.fd = -1;
        continue;
      }
      c.in.append(buf, static_cast<std::size_t>(r));
      std::size_t start = 0;
      for (auto end = c.in.find('\n'); end != std::string::npos; end = c.in.find('\n', start)) {
        relay_line(connections, std::string_view(c.in).substr(start, end - start), message_bytes, out);
        start = end + 1;
      }
      c.in.erase(0, start);
    }
  }
}

// ------------------------------------------------------------------------------- the clients

/// One client connection (a session in `hailer-load calls`).
struct Client {
  int fd = -1;
  uint32_t id = 0;  // the relay's number for it, which requests name
  std::string in;
  std::string name;      // its registered name (server mode)
  uint64_t next_id = 1;  // its next request id (server mode)
};

/// The tag for a hailer-server message line (its "type"), 0 for a type the cycle ignores.
char tag_of_type(std::string_view type) {
  static constexpr std::pair<std::string_view, char> types[] = {
      {"ok", tag_ok},
      {"call_ringing", tag_ringing},
      {"call_connected", tag_connected},
      {"call_ended", tag_ended},
      {"wait_update", tag_wait_update},
      {"waiting_count", tag_waiting_count},
      {"callee_available", tag_available},
      {"wait_ended", tag_wait_ended},
  };
  for (const auto& [name, tag] : types) {
    if (name == type) return tag;
  }
  return 0;
}

/// The "type" of a JSON message line, found by its key (hailer-server writes it first).
std::string_view type_of(std::string_view line) {
  static constexpr std::string_view key = "\"type\":\"";
  const auto at = line.find(key);
  if (at == std::string_view::npos) return {};
  const auto from = at + key.size();
  const auto end = line.find('"', from);
  return end == std::string_view::npos ? std::string_view{} : line.substr(from, end - from);
}

/// HOST:PORT as a socket address; nullopt for anything else.
std::optional<sockaddr_in> parse_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  const long port = std::strtol(text.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535 || ::inet_pton(AF_INET, text.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    return std::nullopt;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

/// Reads one line from a blocking socket, byte by byte (setup only); empty on a timeout or close.
std::string read_line_blocking(int fd, std::size_t limit) {
  std::string line;
  char ch = 0;
  while (line.size() < limit && ::read(fd, &ch, 1) == 1) {
    if (ch == '\n') return line;
    line += ch;
  }
  return {};
}

/// A pair cycling calls: call, the callee accepts, the caller hangs up.
struct Pair {
  uint32_t caller = 0, callee = 0;
  bool cycling = false;
  Clock::time_point started;
};

/// A busy-notify triple: peer and callee in a call, the waiter queued, the peer hangs up.
struct Probe {
  enum class Step { idle, connecting, queueing, notifying, cancelling };
  uint32_t peer = 0, callee = 0, waiter = 0;
  Step step = Step::idle;
  Clock::time_point hangup_at;
  Clock::time_point next_round_at = Clock::time_point::max();
};

/// Who gets which messages from the relay for one request: (client, tags), newest first.
using RelayTargets = std::initializer_list<std::pair<uint32_t, std::string_view>>;

class Floor {
 public:
  explicit Floor(const FloorOptions& options) : options_(options) {}
  ~Floor();
  Floor(const Floor&) = delete;
  Floor& operator=(const Floor&) = delete;

  /// The whole run; the exit code.
  int run();

 private:
  bool relayed() const { return options_.server.empty(); }
  bool start_relay();
  bool connect_all(const sockaddr_in& to);
  bool join(Client& c, uint32_t index);
  void measure();
  void drain();
  void poll_once(int timeout_ms);
  void on_readable(uint32_t index);
  void on_line(uint32_t index, std::string_view line);
  void on_pair_line(Pair& p, uint32_t index, char tag);
  void on_probe_line(Probe& p, uint32_t index, char tag);
  void start_cycle(Pair& p);
  void start_probe(Probe& p);
  void arm_timer();
  void on_timer();
  void request(uint32_t from, std::string_view type, std::optional<uint32_t> to, RelayTargets targets,
               Clock::time_point* sent_at = nullptr);
  void print(double server_cpu_s, double clients_cpu_s) const;

  FloorOptions options_;
  pid_t relay_pid_ = -1;
  uint16_t port_ = 0;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  std::vector<Client> clients_;
  std::vector<Pair> pairs_;
  std::vector<Probe> probes_;
  std::vector<int32_t> pair_of_, probe_of_;  // per client: its pair / probe, or -1
  bool measuring_ = false;
  bool failed_ = false;
  uint64_t cycles_ = 0;
  double seconds_ = 0;
  Samples cycle_us_, notify_us_;
  std::string line_;  // the request being sent (kept: no allocation per request)
};

Floor::~Floor() {
  for (const Client& c : clients_) ::close(c.fd);
  if (timer_fd_ >= 0) ::close(timer_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (relay_pid_ > 0) {
    ::kill(relay_pid_, SIGTERM);
    ::waitpid(relay_pid_, nullptr, 0);
  }
}

bool Floor::start_relay() {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (listener < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, SOMAXCONN) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listener);
    return false;
  }
  port_ = ntohs(addr.sin_port);
  relay_pid_ = ::fork();
  if (relay_pid_ < 0) {
    ::close(listener);
    return false;
  }
  if (relay_pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the tool
    relay(listener, options_.message_bytes);
  }
  ::close(listener);
  return true;
}

bool Floor::connect_all(const sockaddr_in& to) {
  const uint32_t n = 2 * options_.pairs + 3 * options_.probes;
  for (uint32_t i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    clients_.push_back({fd, i, {}, options_.prefix + std::to_string(i), 1});
    const timeval limit{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) return false;
    set_no_delay(fd);
    if (!join(clients_.back(), i)) return false;
    if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) return false;
    watch(epoll_fd_, fd, i);
  }
  pair_of_.assign(n, -1);
  probe_of_.assign(n, -1);
  for (uint32_t k = 0; k < options_.pairs; ++k) {
    pairs_.push_back({2 * k, 2 * k + 1, false, {}});
    pair_of_[2 * k] = pair_of_[2 * k + 1] = static_cast<int32_t>(k);
  }
  const uint32_t base = 2 * options_.pairs;
  for (uint32_t k = 0; k < options_.probes; ++k) {
    const uint32_t b = base + 3 * k;
    probes_.push_back({b, b + 1, b + 2, Probe::Step::idle, {}, Clock::time_point::max()});
    probe_of_[b] = probe_of_[b + 1] = probe_of_[b + 2] = static_cast<int32_t>(k);
  }
  return true;
}

// The relay numbers connections in accept order and says so first; connected one at a time,
// the number is the index. A hailer-server session registers and waits for its ok.
bool Floor::join(Client& c, uint32_t index) {
  if (relayed()) {
    const std::string hello = read_line_blocking(c.fd, 16);
    return !hello.empty() && std::strtoul(hello.c_str(), nullptr, 10) == index;
  }
  const std::string reg =
      "{\"type\":\"register\",\"id\":" + std::to_string(c.next_id++) + ",\"version\":1,\"name\":\"" + c.name + "\"}\n";
  if (!send_all(c.fd, reg)) return false;
  const std::string reply = read_line_blocking(c.fd, 4096);
  if (type_of(reply) == "ok") return true;
  std::fprintf(stderr, "hailer-load floor: %s could not register: %s\n", c.name.c_str(),
               reply.empty() ? "no reply within 5 s" : reply.c_str());
  return false;
}

// One request: to the relay, the line naming who gets which messages (each client's tags, in
// the order hailer-server writes them); to hailer-server, the request itself. Only the one sent
// is built, so both cost the client the same.
void Floor::request(uint32_t from, std::string_view type, std::optional<uint32_t> to, RelayTargets targets,
                    Clock::time_point* sent_at) {
  Client& c = clients_[from];
  std::string& line = line_;
  line.clear();
  if (relayed()) {
    for (const auto& [index, tags] : targets) {
      if (!line.empty()) line += ' ';
      line += std::to_string(clients_[index].id);
      line += '.';
      line += tags;
    }
  } else {
    line += "{\"type\":\"";
    line += type;
    line += "\",\"id\":";
    line += std::to_string(c.next_id++);
    if (to) {
      line += ",\"to\":\"";
      line += clients_[*to].name;
      line += '"';
    }
    line += '}';
  }
  line += '\n';
  if (sent_at != nullptr) *sent_at = Clock::now();  // as hailer-load calls: just before the write
  if (!send_all(c.fd, line)) failed_ = true;
}

// The writes of each request are hailer-server's, newest first (docs/protocol.md): the callee's
// call_ringing, then the caller's ok and call_ringing in one write; and so on.
void Floor::start_cycle(Pair& p) {
  p.cycling = true;
  p.started = Clock::now();
  request(p.caller, "call", p.callee, {{p.callee, "r"}, {p.caller, "kr"}});
}

void Floor::start_probe(Probe& p) {
  p.step = Probe::Step::connecting;
  p.next_round_at = Clock::time_point::max();
  request(p.peer, "call", p.callee, {{p.callee, "r"}, {p.peer, "kr"}});
}

void Floor::on_pair_line(Pair& p, uint32_t index, char tag) {
  if (index == p.callee && tag == tag_ringing) {
    request(p.callee, "accept", std::nullopt, {{p.caller, "c"}, {p.callee, "kc"}});
  } else if (index == p.caller && tag == tag_connected) {
    request(p.caller, "hangup", std::nullopt, {{p.callee, "e"}, {p.caller, "ke"}});
  } else if (index == p.caller && tag == tag_ended) {
    if (measuring_) {  // a cycle finishing in the drain after the phase is not counted
      ++cycles_;
      cycle_us_.add(Clock::now() - p.started);
    }
    p.cycling = false;
    if (measuring_) start_cycle(p);
  }
}

void Floor::on_probe_line(Probe& p, uint32_t index, char tag) {
  if (index == p.callee && tag == tag_ringing && p.step == Probe::Step::connecting) {
    request(p.callee, "accept", std::nullopt, {{p.peer, "c"}, {p.callee, "kc"}});
  } else if (index == p.peer && tag == tag_connected && p.step == Probe::Step::connecting) {
    p.step = Probe::Step::queueing;  // the waiter calls the busy callee and is queued
    request(p.waiter, "call", p.callee, {{p.callee, "q"}, {p.waiter, "kw"}});
  } else if (index == p.waiter && tag == tag_wait_update && p.step == Probe::Step::queueing) {
    p.step = Probe::Step::notifying;  // the peer hangs up: the waiter's notice first
    request(p.peer, "hangup", std::nullopt, {{p.waiter, "n"}, {p.callee, "e"}, {p.peer, "ke"}}, &p.hangup_at);
  } else if (index == p.waiter && tag == tag_available && p.step == Probe::Step::notifying) {
    if (measuring_) notify_us_.add(Clock::now() - p.hangup_at);
    request(p.waiter, "cancel_wait", std::nullopt, {{p.callee, "q"}, {p.waiter, "kx"}});
    p.step = Probe::Step::cancelling;
  } else if (index == p.waiter && tag == tag_ok && p.step == Probe::Step::cancelling) {
    // The next round waits for the server to have handled cancel_wait: the peer's next call,
    // read first, would find the callee's recall window still the waiter's and be queued
    // (docs/protocol.md), and the probe would wait for a ringing that never comes.
    p.step = Probe::Step::idle;
    if (measuring_) {
      p.next_round_at = Clock::now() + probe_gap;
      arm_timer();
    }
  }
}

void Floor::on_line(uint32_t index, std::string_view line) {
  char tag = line.front();
  if (!relayed()) {
    const std::string_view type = type_of(line);
    if (type == "error") {
      std::fprintf(stderr, "hailer-load floor: %s got %.*s\n", clients_[index].name.c_str(),
                   static_cast<int>(line.size()), line.data());
      failed_ = true;
      return;
    }
    tag = tag_of_type(type);
  }
  if (pair_of_[index] >= 0) return on_pair_line(pairs_[static_cast<std::size_t>(pair_of_[index])], index, tag);
  if (probe_of_[index] >= 0) return on_probe_line(probes_[static_cast<std::size_t>(probe_of_[index])], index, tag);
}

void Floor::on_readable(uint32_t index) {
  Client& c = clients_[index];
  char buf[read_bytes];
  const ssize_t r = ::read(c.fd, buf, sizeof buf);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (r <= 0) {
    std::fprintf(stderr, "hailer-load floor: %s closed client %u\n", relayed() ? "the relay" : "the server", index);
    failed_ = true;
    return;
  }
  c.in.append(buf, static_cast<std::size_t>(r));
  std::size_t start = 0;
  for (auto end = c.in.find('\n'); end != std::string::npos; end = c.in.find('\n', start)) {
    if (end > start) on_line(index, std::string_view(c.in).substr(start, end - start));
    start = end + 1;
  }
  c.in.erase(0, start);
}

// One timerfd for every probe's next round, armed for the earliest (as an Asio timer would be).
void Floor::arm_timer() {
  auto next = Clock::time_point::max();
  for (const Probe& p : probes_) next = std::min(next, p.next_round_at);
  itimerspec spec{};
  if (next != Clock::time_point::max()) {
    const auto ns =
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(next - Clock::now()).count());
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  }
  ::timerfd_settime(timer_fd_, 0, &spec, nullptr);
}

void Floor::on_timer() {
  uint64_t expirations = 0;
  if (::read(timer_fd_, &expirations, sizeof expirations) < 0) return;
  const auto now = Clock::now();
  for (Probe& p : probes_) {
    if (p.step == Probe::Step::idle && p.next_round_at <= now) {
      if (measuring_)
        start_probe(p);
      else
        p.next_round_at = Clock::time_point::max();
    }
  }
  arm_timer();
}

void Floor::poll_once(int timeout_ms) {
  epoll_event events[max_events];
  const int n = ::epoll_wait(epoll_fd_, events, max_events, timeout_ms);
  for (int i = 0; i < n; ++i) {
    const uint32_t key = events[i].data.u32;
    if (key == timer_key)
      on_timer();
    else
      on_readable(key);
  }
}

void Floor::measure() {
  measuring_ = true;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(options_.seconds);
  for (Pair& p : pairs_) start_cycle(p);
  for (Probe& p : probes_) start_probe(p);
  while (!failed_ && Clock::now() < end) poll_once(10);
  seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  measuring_ = false;
}

// Lets the cycles and rounds in flight finish, uncounted, so that nothing is cut mid-write.
void Floor::drain() {
  const auto limit = Clock::now() + std::chrono::seconds(5);
  const auto busy = [&] {
    for (const Pair& p : pairs_)
      if (p.cycling) return true;
    for (const Probe& p : probes_)
      if (p.step != Probe::Step::idle) return true;
    return false;
  };
  while (!failed_ && busy() && Clock::now() < limit) poll_once(10);
}

void Floor::print(double server_cpu_s, double clients_cpu_s) const {
  Samples cycle = cycle_us_, notify = notify_us_;
  const double rate = seconds_ > 0 ? static_cast<double>(cycles_) / seconds_ : 0;
  const double per_cycle = cycles_ > 0 ? 1e6 / static_cast<double>(cycles_) : 0;
  const std::string server = relayed() ? "relay" : options_.server;
  if (options_.json) {
    std::printf(
        "{\"server\":\"%s\",\"pairs\":%u,\"probes\":%u,\"message_bytes\":%u,\"load\":{\"seconds\":%.3f,\"cycles\":%llu,"
        "\"cycles_per_s\":%.1f,\"cycle_p50_us\":%.1f,\"cycle_p95_us\":%.1f,\"cycle_p99_us\":%.1f,\"cycle_max_us\":%.1f,"
        "\"notify_samples\":%zu,\"notify_p50_us\":%.1f,\"notify_p95_us\":%.1f,\"notify_p99_us\":%.1f,\"notify_max_us\":"
        "%.1f},"
        "\"server_cpu_s\":%.2f,\"clients_cpu_s\":%.2f,\"server_cpu_us_per_cycle\":%.1f,\"clients_cpu_us_per_cycle\":%."
        "1f,"
        "\"errors\":%d}\n",
        server.c_str(), options_.pairs, options_.probes, relayed() ? options_.message_bytes : 0, seconds_,
        static_cast<unsigned long long>(cycles_), rate, cycle.at(0.5), cycle.at(0.95), cycle.at(0.99), cycle.at(1.0),
        notify.us.size(), notify.at(0.5), notify.at(0.95), notify.at(0.99), notify.at(1.0), server_cpu_s, clients_cpu_s,
        server_cpu_s < 0 ? -1.0 : server_cpu_s * per_cycle, clients_cpu_s * per_cycle, failed_ ? 1 : 0);
    return;
  }
  std::printf("floor through %s (%u pairs, %u probes, %.1f s):", server.c_str(), options_.pairs, options_.probes,
              seconds_);
  if (options_.pairs > 0) {
    std::printf(" %.0f cycles/s (%llu), cycle p50 %.0f us p99 %.0f us;", rate, static_cast<unsigned long long>(cycles_),
                cycle.at(0.5), cycle.at(0.99));
  }
  if (options_.probes > 0) {
    std::printf(" notify p50 %.1f us p95 %.1f us p99 %.1f us max %.1f us (%zu rounds)", notify.at(0.5), notify.at(0.95),
                notify.at(0.99), notify.at(1.0), notify.us.size());
  }
  if (server_cpu_s < 0) {
    std::printf("\nCPU: %s unknown (give --server-pid), clients %.2f s", server.c_str(), clients_cpu_s);
    if (cycles_ > 0) std::printf(" (%.1f us per cycle)", clients_cpu_s * per_cycle);
  } else {
    std::printf("\nCPU: %s %.2f s, clients %.2f s", server.c_str(), server_cpu_s, clients_cpu_s);
    if (cycles_ > 0)
      std::printf(" (%.1f us and %.1f us per cycle)", server_cpu_s * per_cycle, clients_cpu_s * per_cycle);
  }
  std::printf("\n");
}

int Floor::run() {
  HAILER_ASSERT(options_.message_bytes >= 2);
  epoll_fd_ = ::epoll_create1(0);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  if (epoll_fd_ < 0 || timer_fd_ < 0) {
    std::fprintf(stderr, "hailer-load floor: epoll or timerfd: %s\n", std::strerror(errno));
    return 1;
  }
  watch(epoll_fd_, timer_fd_, timer_key);
  sockaddr_in to{};
  if (relayed()) {
    if (!start_relay()) {
      std::fprintf(stderr, "hailer-load floor: could not start the relay: %s\n", std::strerror(errno));
      return 1;
    }
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port_);
  } else if (const auto address = parse_address(options_.server)) {
    to = *address;
  } else {
    std::fprintf(stderr, "hailer-load floor: expected --server IPV4:PORT, got %s\n", options_.server.c_str());
    return 2;
  }
  const std::string where = relayed() ? "the relay" : options_.server;
  errno = 0;
  if (!connect_all(to)) {
    std::fprintf(stderr, "hailer-load floor: could not connect and join client %zu to %s: %s\n", clients_.size(),
                 where.c_str(), errno != 0 ? std::strerror(errno) : "refused");
    return 1;
  }
  const int server_pid = relayed() ? relay_pid_ : options_.server_pid;
  const double server0 = cpu_seconds(server_pid), self0 = cpu_seconds(::getpid());
  measure();
  const double server_cpu_s = server0 >= 0 ? cpu_seconds(server_pid) - server0 : -1;
  const double clients_cpu_s = cpu_seconds(::getpid()) - self0;
  drain();
  print(server_cpu_s, clients_cpu_s);
  if (failed_)
    std::fprintf(stderr, "hailer-load floor: a write to %s failed, it closed a client or sent an error\n",
                 where.c_str());
  return failed_ ? 1 : 0;
}

}  // namespace

int run_floor(const FloorOptions& options) {
  Floor floor(options);
  return floor.run();
}

}  // namespace hailer::load
