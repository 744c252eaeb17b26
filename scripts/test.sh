#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 900
