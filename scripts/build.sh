#!/usr/bin/env bash
# Configure and build hailer into build/ (Ninja, -j2: the machine has two cores and Beast
# translation units need ~1.5 GB each). HAILER_WERROR=ON turns warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAILER_WERROR="${HAILER_WERROR:-OFF}" >/dev/null
cmake --build build -j2
