// What every hailer-load tool shares: the options, HOST:PORT, the server's counters from its log,
// running the io_context until a condition, and the clients' staggered timers.
#pragma once

// Boost 1.74's Asio uses std::exchange without including <utility>: it comes first.
#include <utility>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "apps/load/measure.hpp"

namespace hailer::load {

namespace asio = boost::asio;
using asio::ip::tcp;

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
  bool tls = false;         // calls: TLS to the calls port (a server without --plaintext)
  bool one_by_one = false;  // calls: each session connects only once the one before registered
  // ptt
  uint32_t students = 1000;
  uint32_t cycles = 100;
  double hold_s = 0;  // after the churn, keep reading for this long (a crowd for another run's churn)
  std::string room = "class";
  double join_rate = 0;    // students starting per second; 0: all at once
  std::string server_log;  // the server's log file (its stderr), for its counters after a SIGUSR1
};

/// HOST:PORT as an endpoint; a clear error for anything else.
inline tcp::endpoint parse_endpoint(const std::string& text) {
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
inline std::map<std::string, uint64_t> server_counters(int pid, const std::string& log_path) {
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
inline int64_t counter_delta(const std::map<std::string, uint64_t>& before,
                             const std::map<std::string, uint64_t>& after, const std::string& name) {
  const auto b = before.find(name), a = after.find(name);
  if (b == before.end() || a == after.end()) return -1;
  return static_cast<int64_t>(a->second - b->second);
}

/// Runs handlers one at a time until `done` (checked after each) or the timeout; false on timeout.
inline bool hailer_load_run_until(asio::io_context& io, const std::function<bool()>& done, double timeout_s) {
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

}  // namespace hailer::load
