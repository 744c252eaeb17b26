// hailer-load ptt: WebSocket students joining one room and churning its floor against a running
// hailer-server (see main.cpp for the whole tool).
#pragma once

#include "apps/load/common.hpp"

namespace hailer::load {

/// Runs the classroom load of `o` on `io`; the exit status.
int run_ptt(asio::io_context& io, const Options& o);

}  // namespace hailer::load
