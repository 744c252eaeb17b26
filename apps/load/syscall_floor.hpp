// hailer-load floor: the system calls of hailer's call cycle and busy notify, with no work
// between them, measured the way `hailer-load calls` measures hailer-server.
//
// A relay process (forked) stands where hailer-server stands: one thread, level-triggered epoll,
// one read per readable connection, one write per connection a request reaches. The clients
// (this process, one thread, the same kind of loop) send the requests of a call cycle (call,
// accept, hangup) and of a busy-notify round (call, accept, a queued call, hangup, cancel_wait)
// as one short line each, naming who gets what; the relay writes those lines, `message_bytes`
// each, to each named connection in the order hailer-server writes them (newest first). Every
// loopback send, wake-up and read of a cycle is there, and nothing else: no JSON, no core, no
// Asio. What this reaches is the most any server could on this machine in that minute.
//
// With `server` set, the same clients speak hailer's protocol to a running hailer-server
// instead (register, then the same requests as JSON lines): the difference between the two
// runs is what hailer-server costs above the system calls, with the client's cost the same.
#pragma once

#include <cstdint>
#include <string>

namespace hailer::load {

/// What one `hailer-load floor` run does.
struct FloorOptions {
  uint32_t pairs = 64;           ///< pairs running call cycles back to back
  uint32_t probes = 1;           ///< busy-notify probe triples, a round every 2 ms
  double seconds = 5;            ///< length of the measured phase
  uint32_t message_bytes = 80;   ///< length of each message the relay writes, newline included
  std::string server;            ///< HOST:PORT of a hailer-server to drive instead of the relay
  std::string prefix = "floor";  ///< session names on that server: PREFIX0, PREFIX1, ...
  int server_pid = 0;            ///< that server's pid, for its CPU (/proc); the relay's is known
  bool json = false;             ///< one JSON object instead of text
};

/// Forks the relay (or connects to `server` and registers), connects 2 * pairs + 3 * probes
/// clients, measures for `seconds` and prints cycles/s, cycle and notify percentiles and both
/// sides' CPU; returns the exit code (1: a failed run, said on stderr).
int run_floor(const FloorOptions& options);

}  // namespace hailer::load
