#include "apps/load/relay_load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/load/measure.hpp"
#include "base/secret.hpp"
#include "protocol/relay_packet.hpp"

namespace hailer::load {

namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// One signaling session, blocking: lines out, JSON objects in (only for the setup).
class Session {
 public:
  Session(const sockaddr_in& server, double timeout_s) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    timeval tv{static_cast<time_t>(timeout_s), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0)
      throw std::runtime_error(std::string("connect to the calls port: ") + std::strerror(errno));
  }
  ~Session() {
    if (fd_ >= 0) ::close(fd_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&& o) noexcept : fd_(std::exchange(o.fd_, -1)), buffer_(std::move(o.buffer_)) {}

  void send(const nlohmann::json& message) {
    const std::string line = message.dump() + "\n";
    if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
      throw std::runtime_error("the server closed a setup session");
  }
  // The next message of `type`; earlier ones are skipped.
  nlohmann::json expect(const std::string& type) {
    for (;;) {
      const auto end = buffer_.find('\n');
      if (end != std::string::npos) {
        const std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        if (line.empty() || static_cast<uint8_t>(line[0]) == tunnel_lead) continue;
        auto m = nlohmann::json::parse(line);
        if (m.value("type", "") == "error") throw std::runtime_error("the server refused the setup: " + line);
        if (m.value("type", "") == type) return m;
        continue;
      }
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) throw std::runtime_error("no " + type + " from the server during the setup");
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

struct Leg {
  RelayLegId id{};
  int socket = -1;  // which of the two UDP sockets it sends from
};

int udp_socket() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int size = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  const sockaddr_in any = loopback(0);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0)
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  return fd;
}

uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  return ntohs(a.sin_port);
}

// What one phase measured.
struct Phase {
  uint64_t sent = 0;
  uint64_t received = 0;
  Samples latency;
  double seconds = 0;
  double server_cpu_s = -1;
};

// Reads everything waiting on `fd`: each packet's send time (after the header) gives a sample.
void drain(int fd, std::size_t stamp_at, Phase& p) {
  constexpr int batch = 64;
  static uint8_t buffers[batch][2048];
  mmsghdr messages[batch]{};
  iovec vectors[batch]{};
  for (;;) {
    for (int i = 0; i < batch; ++i) {
      vectors[i] = {buffers[i], sizeof buffers[i]};
      messages[i].msg_hdr = {};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(fd, messages, batch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    const int64_t at = now_ns();
    for (int i = 0; i < n; ++i) {
      if (messages[i].msg_len < stamp_at + 8) continue;  // a binding answer
      int64_t sent_ns = 0;
      std::memcpy(&sent_ns, buffers[i] + stamp_at, sizeof sent_ns);
      ++p.received;
      p.latency.add(std::chrono::nanoseconds(at - sent_ns));
    }
  }
}

// Sends every leg's packets at `rate` a second for `seconds`, round robin, paced every
// millisecond, reading what comes back meanwhile. `header` bytes precede the send time: the
// relay header (or nothing, straight from socket to socket).
Phase run_phase(const std::vector<Leg>& legs, const std::vector<int>& sockets, const std::vector<sockaddr_in>& to,
                std::size_t header, const RelayOptions& o) {
  Phase p;
  const double pps = static_cast<double>(legs.size()) * o.rate;
  std::vector<uint8_t> packet(header + o.payload_bytes, 0x80);
  const double cpu0 = cpu_seconds(o.server_pid);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::size_t next = 0;
  while (Clock::now() < end) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const auto due = static_cast<uint64_t>(elapsed * pps);
    while (p.sent < due) {
      const Leg& leg = legs[next];
      next = (next + 1) % legs.size();
      if (header > 0) {
        packet[0] = relay_marker;
        packet[1] = relay_version;
        std::copy(leg.id.begin(), leg.id.end(), packet.begin() + 2);
      }
      const int64_t stamp = now_ns();
      std::memcpy(packet.data() + header, &stamp, sizeof stamp);
      const sockaddr_in& dest = to[static_cast<std::size_t>(leg.socket)];
      if (::sendto(sockets[static_cast<std::size_t>(leg.socket)], packet.data(), packet.size(), 0,
                   reinterpret_cast<const sockaddr*>(&dest), sizeof dest) < 0)
        break;  // the socket is full: try again on the next round
      ++p.sent;
    }
    for (int fd : sockets) drain(fd, header, p);
    pollfd waits[2] = {{sockets[0], POLLIN, 0}, {sockets[1], POLLIN, 0}};
    ::poll(waits, 2, 1);
  }
  const auto settle = Clock::now() + std::chrono::milliseconds(200);
  while (Clock::now() < settle) {
    for (int fd : sockets) drain(fd, header, p);
    pollfd waits[2] = {{sockets[0], POLLIN, 0}, {sockets[1], POLLIN, 0}};
    ::poll(waits, 2, 10);
  }
  p.seconds = o.seconds;
  p.server_cpu_s = cpu0 >= 0 ? cpu_seconds(o.server_pid) - cpu0 : -1;
  return p;
}

}  // namespace

int run_relay(const RelayOptions& o) {
  // Two sessions a call, and the tool's own two sockets.
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  const auto colon = o.server.rfind(':');
  sockaddr_in server = loopback(static_cast<uint16_t>(std::atoi(o.server.c_str() + colon + 1)));
  if (colon == std::string::npos || ::inet_pton(AF_INET, o.server.substr(0, colon).c_str(), &server.sin_addr) != 1) {
    std::fprintf(stderr, "hailer-load relay: --server must be IPV4:PORT (got %s)\n", o.server.c_str());
    return 2;
  }
  std::vector<Session> sessions;
  std::vector<Leg> legs;
  std::vector<int> sockets{udp_socket(), udp_socket()};
  try {
    sessions.reserve(2 * o.calls);
    std::vector<SecretKey> keys;
    for (uint32_t i = 0; i < 2 * o.calls; ++i) {
      sessions.emplace_back(server, o.setup_timeout_s);
      const std::string name = o.prefix + (i % 2 == 0 ? "a" : "b") + std::to_string(i / 2);
      sessions.back().send({{"type", "register"}, {"id", 1}, {"version", 1}, {"name", name}, {"media_port", 9}});
      const auto ok = sessions.back().expect("ok");
      SecretKey key;
      if (!from_hex(ok.value("media_token", ""), key.bytes)) throw std::runtime_error("no media_token in " + ok.dump());
      keys.push_back(key);
    }
    for (uint32_t c = 0; c < o.calls; ++c) {
      Session& a = sessions[2 * c];
      Session& b = sessions[2 * c + 1];
      a.send({{"type", "call"}, {"id", 2}, {"to", o.prefix + "b" + std::to_string(c)}});
      const uint64_t call_id = b.expect("call_ringing").at("call_id").get<uint64_t>();
      b.send({{"type", "accept"}, {"id", 2}, {"call_id", call_id}});
      const auto connected = a.expect("call_connected");
      b.expect("call_connected");
      if (!connected.contains("relay_port")) throw std::runtime_error("the server does not relay (no UDP port?)");
      legs.push_back(Leg{relay_leg_id(keys[2 * c], call_id), 0});
      legs.push_back(Leg{relay_leg_id(keys[2 * c + 1], call_id), 1});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hailer-load relay: %s\n", e.what());
    return 1;
  }
  // Every leg binds its address (a binding packet, answered), so the relay sends it UDP, not
  // over its session's tunnel.
  // A binding lost in a full socket buffer is sent again, every 200 ms, until every leg is bound.
  const std::vector<sockaddr_in> relay{loopback(o.udp_port), loopback(o.udp_port)};
  std::set<RelayLegId> unbound;
  for (const Leg& leg : legs) unbound.insert(leg.id);
  const auto bind_deadline = Clock::now() + std::chrono::seconds(10);
  while (!unbound.empty() && Clock::now() < bind_deadline) {
    for (const Leg& leg : legs) {
      if (!unbound.contains(leg.id)) continue;
      const auto binding = relay_binding(leg.id);
      ::sendto(sockets[static_cast<std::size_t>(leg.socket)], binding.data(), binding.size(), 0,
               reinterpret_cast<const sockaddr*>(&relay[0]), sizeof relay[0]);
    }
    const auto round_ends = Clock::now() + std::chrono::milliseconds(200);
    while (!unbound.empty() && Clock::now() < round_ends) {
      for (int fd : sockets) {
        std::array<uint8_t, 64> answer{};
        while (::recv(fd, answer.data(), answer.size(), MSG_DONTWAIT) == static_cast<ssize_t>(relay_header_bytes)) {
          RelayLegId id{};
          std::copy_n(answer.begin() + 2, id.size(), id.begin());
          unbound.erase(id);
        }
      }
      ::usleep(1000);
    }
  }
  if (!unbound.empty()) {
    std::fprintf(stderr, "hailer-load relay: %zu of %zu legs never bound (no binding answer in 10 s)\n", unbound.size(),
                 legs.size());
    return 1;
  }
  // The floor first: the same packets from socket to socket, no server between.
  const std::vector<sockaddr_in> across{loopback(port_of(sockets[1])), loopback(port_of(sockets[0]))};
  Phase direct = run_phase(legs, sockets, across, 0, o);
  Phase relayed = run_phase(legs, sockets, relay, relay_header_bytes, o);
  const auto loss = [](const Phase& p) {
    return p.sent == 0 ? 0.0 : 1.0 - static_cast<double>(p.received) / static_cast<double>(p.sent);
  };
  const double pps = static_cast<double>(relayed.received) / relayed.seconds;
  const double per_core = relayed.server_cpu_s > 0 ? static_cast<double>(relayed.received) / relayed.server_cpu_s : -1;
  if (o.json) {
    std::printf(
        "{\"calls\":%u,\"rate\":%u,\"offered_pps\":%.0f,\"forwarded_pps\":%.0f,\"relay_loss\":%.5f,"
        "\"relay_p50_us\":%.1f,\"relay_p99_us\":%.1f,\"relay_max_us\":%.1f,\"direct_p50_us\":%.1f,"
        "\"direct_p99_us\":%.1f,\"added_p99_us\":%.1f,\"server_cpu_s\":%.2f,\"packets_per_server_core_s\":%.0f}\n",
        o.calls, o.rate, static_cast<double>(relayed.sent) / relayed.seconds, pps, loss(relayed),
        relayed.latency.at(0.5), relayed.latency.at(0.99), relayed.latency.at(1.0), direct.latency.at(0.5),
        direct.latency.at(0.99), relayed.latency.at(0.99) - direct.latency.at(0.99), relayed.server_cpu_s, per_core);
  } else {
    std::printf("relay: %u calls, %u packets/s per leg, %zu-byte packets + %zu-byte header, %.1f s\n", o.calls, o.rate,
                static_cast<std::size_t>(o.payload_bytes), relay_header_bytes, o.seconds);
    std::printf("  direct (socket to socket): sent %llu, received %llu, latency p50 %.1f us, p99 %.1f us\n",
                static_cast<unsigned long long>(direct.sent), static_cast<unsigned long long>(direct.received),
                direct.latency.at(0.5), direct.latency.at(0.99));
    std::printf(
        "  through the relay:         sent %llu, received %llu (loss %.3f%%), latency p50 %.1f us, p99 %.1f us, "
        "max %.1f us\n",
        static_cast<unsigned long long>(relayed.sent), static_cast<unsigned long long>(relayed.received),
        100 * loss(relayed), relayed.latency.at(0.5), relayed.latency.at(0.99), relayed.latency.at(1.0));
    std::printf("  the relay adds %.1f us at p99; forwarded %.0f packets/s",
                relayed.latency.at(0.99) - direct.latency.at(0.99), pps);
    if (per_core > 0)
      std::printf(" with %.2f s of server CPU: %.0f packets per server CPU second\n", relayed.server_cpu_s, per_core);
    else
      std::printf("\n");
  }
  for (int fd : sockets) ::close(fd);
  return relayed.received == 0 ? 1 : 0;
}

}  // namespace hailer::load
