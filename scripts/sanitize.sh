#!/usr/bin/env bash
# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (clang), in build-asan/.
# Every finding is fatal (the Chromium tests are left to the plain build). The swarm is smaller
# (200 runs) so the scenarios entry keeps its time limit: a sanitizer run is about bugs, not
# statistics.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAILER_SANITIZE=ON \
  -DHAILER_WERROR="${HAILER_WERROR:-OFF}" -DHAILER_SWARM_RUNS=200 >/dev/null
cmake --build build-asan -j2
# LeakSanitizer stays on; the suppressions below are third-party libraries only, each with why.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The Chromium tests are about the pages (they run in the plain build); the server code they reach
# runs here under the sanitizers through the e2e tests, which drive the same HTTP and WebSocket paths.
ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 -E '^browser/'
