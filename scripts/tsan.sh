#!/usr/bin/env bash
# The threaded parts under ThreadSanitizer (clang), in build-tsan/: the simulator's parallel runs
# and deferred decoding, and the sound devices' lock-free rings (with PortAudio on a JACK dummy
# device). Every report is fatal.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
CC=clang CXX=clang++ cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAILER_TSAN=ON >/dev/null
cmake --build build-tsan -j2
export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1"
ctest --test-dir build-tsan --output-on-failure --timeout 900
