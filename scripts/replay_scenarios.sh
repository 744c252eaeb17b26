#!/usr/bin/env bash
# Replays every scenario (and every saved regression) twice and requires byte-identical reports;
# then runs a short swarm. Used by ctest; runnable by hand:
#   scripts/replay_scenarios.sh build/apps/hailer-sim [swarm-runs]
set -euo pipefail
sim="$1"
swarm_runs="${2:-300}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$root/scripts/make_fixtures.sh" "$work/fixtures"
mapfile -t files < <(find "$root/scenarios" -name '*.json' | sort)
echo "replaying ${#files[@]} scenarios twice"
"$sim" "${files[@]}" --fixtures "$work/fixtures" --report "$work/first"
"$sim" "${files[@]}" --fixtures "$work/fixtures" --report "$work/second" > /dev/null
for f in report.json report.md; do
  if ! cmp -s "$work/first/$f" "$work/second/$f"; then
    echo "FAIL: $f differs between two runs of the same scenarios and seeds" >&2
    diff "$work/first/$f" "$work/second/$f" | head -20 >&2
    exit 1
  fi
done
echo "reports are byte-identical across runs"
"$sim" --swarm --seed "${HAILER_SWARM_SEED:-20261122}" --runs "$swarm_runs" --regressions "$work/regressions"
