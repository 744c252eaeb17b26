#!/usr/bin/env bash
# The calls port with TLS against the same server with --plaintext: hailer-load calls, a fresh
# server per run, the two alternating (docs/performance.md). Prints cycles/s, notify p50 and the
# server's CPU time (clock ticks) per run.
#
#   bench/tls_calls.sh [ROUNDS] [PAIRS]     (defaults: 3 rounds, 64 pairs; PAIRS=4 for a quiet server)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
pairs=${2:-64}
bin=build/apps
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

for ((round = 1; round <= rounds; round++)); do
  for mode in plaintext tls; do
    server_flags=()
    load_flags=()
    if [[ $mode == plaintext ]]; then server_flags=(--plaintext); else load_flags=(--tls); fi
    rm -rf "$tmp/state"
    "$bin/hailer-server" --port 0 --udp-port 0 --no-web --state-dir "$tmp/state" --log-level warn \
      --max-sessions 20000 --max-sessions-per-address 20000 --max-tls-handshakes-per-address 1000 \
      "${server_flags[@]}" >"$tmp/banner" 2>/dev/null &
    pid=$!
    for _ in $(seq 50); do grep -q "^calls port" "$tmp/banner" && break; sleep 0.1; done
    port=$(grep -o "tcp 127.0.0.1:[0-9]*" "$tmp/banner" | cut -d: -f2)
    before=$(cpu_ticks "$pid")
    report=$("$bin/hailer-load" calls --server "127.0.0.1:$port" --pairs "$pairs" --probes 1 --seconds 4 --json \
      "${load_flags[@]}")
    after=$(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" || true
    python3 -c 'import json, sys
r = json.loads(sys.argv[1])["load"]
print("%-9s round %s: %6.0f cycles/s, notify p50 %6.0f us, server CPU %s ticks for %d cycles" %
      (sys.argv[2], sys.argv[3], r["cycles_per_s"], r["notify_p50_us"], sys.argv[4], r["cycles"]))' \
      "$report" "$mode" "$round" "$((after - before))"
  done
done
