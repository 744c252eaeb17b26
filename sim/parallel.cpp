#include "sim/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

#include "base/assert.hpp"

namespace hailer::sim {

void run_in_parallel(std::size_t count, const std::function<void(std::size_t)>& job) {
  HAILER_ASSERT(job != nullptr);
  if (count == 0) return;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const auto threads = static_cast<unsigned>(std::min<std::size_t>({count, cores, max_parallel_threads}));
  std::vector<std::exception_ptr> failures(count);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    // Jobs are taken in index order; each writes only its own failure slot.
    for (std::size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
      try {
        job(i);
      } catch (...) {
        failures[i] = std::current_exception();
      }
    }
  };
  {
    std::vector<std::jthread> helpers;
    helpers.reserve(threads - 1);
    for (unsigned t = 1; t < threads; ++t) helpers.emplace_back(work);
    work();  // the calling thread is one of the workers
  }          // jthreads join here
  HAILER_ASSERT(next.load() >= count);
  for (auto& f : failures) {
    if (f) std::rethrow_exception(f);
  }
}

}  // namespace hailer::sim
