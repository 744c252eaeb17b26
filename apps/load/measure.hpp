// What the load tools read and compute beside their traffic: latency percentiles, and a
// process's CPU time and resident memory from /proc.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace hailer::load {

/// Latency samples in microseconds, and their percentiles.
struct Samples {
  std::vector<double> us;
  /// Adds one sample.
  void add(std::chrono::steady_clock::duration d) {
    us.push_back(std::chrono::duration<double, std::micro>(d).count());
  }
  /// The q-quantile (0.5: median, 1.0: max); 0 when there are no samples.
  double at(double q);
};

/// User + system CPU seconds the process has used (/proc/PID/stat); -1 when it cannot be read.
double cpu_seconds(int pid);

/// The process's resident memory in KiB (/proc/PID/status); -1 when it cannot be read.
int64_t rss_kib(int pid);

}  // namespace hailer::load
