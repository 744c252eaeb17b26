// hailer-load calls: sessions cycling call -> accept -> hangup and probes of busy notify against
// a running hailer-server (see main.cpp for the whole tool).
#pragma once

#include "apps/load/common.hpp"

namespace hailer::load {

/// Runs the calls load of `o` on `io`; the exit status.
int run_calls(asio::io_context& io, const Options& o);

}  // namespace hailer::load
