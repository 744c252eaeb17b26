#!/usr/bin/env bash
# Install what is missing, build, and run the main job: for now the core demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh >/dev/null
exec ./build/apps/hailer-demo "$@"
