// hailer-load relay: the call relay of a running hailer-server under load (docs/performance.md).
// N calls are set up over real signaling (register, call, accept: plaintext lines, so the server
// runs with --plaintext); each leg derives its id from its media token as a client does, binds
// its UDP address with a binding packet, and then both legs of every call send relay packets at
// a steady rate. Every packet carries its send time: what the other leg reads gives the relay's
// latency, beside the same packets sent straight from socket to socket (the loopback floor), and
// with --server-pid the server's CPU per forwarded packet.
#pragma once

#include <cstdint>
#include <string>

namespace hailer::load {

/// What `hailer-load relay` does.
struct RelayOptions {
  std::string server = "127.0.0.1:7700";  ///< the calls port (plaintext)
  uint16_t udp_port = 7701;               ///< the server's UDP port (the relay)
  std::string prefix = "relay";           ///< session names: PREFIXa0, PREFIXb0, ...
  uint32_t calls = 500;
  uint32_t rate = 50;            ///< packets a second per leg (a call's 20 ms frames: 50)
  uint32_t payload_bytes = 108;  ///< SRTP packet behind the relay header (Opus 20 ms at 32 kbit/s: about 108)
  double seconds = 5;
  double setup_timeout_s = 60;
  int server_pid = 0;
  bool json = false;
};

/// Runs it; the exit status (0, or 1 when the setup failed or nothing came back).
int run_relay(const RelayOptions& options);

}  // namespace hailer::load
