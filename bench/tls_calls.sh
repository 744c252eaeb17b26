#!/usr/bin/env bash
# The calls port with TLS against the same server with --plaintext: hailer-load calls, a fresh
# server per run, the two alternating (docs/performance.md). Prints cycles/s, notify p50 and the
# server's CPU time (clock ticks) per run, then the medians and the TLS/plaintext ratios.
#
#   bench/tls_calls.sh [ROUNDS] [PAIRS]     (defaults: 3 rounds, 64 pairs; PAIRS=0 for an idle
#                                            server: the notify probe alone)
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
      (sys.argv[2], sys.argv[3], r["cycles_per_s"], r["notify_p50_us"], sys.argv[4], r["cycles"]))
with open(sys.argv[5], "a") as f:
    f.write("%s %f %f\n" % (sys.argv[2], r["cycles_per_s"], r["notify_p50_us"]))' \
      "$report" "$mode" "$round" "$((after - before))" "$tmp/results"
  done
done
python3 -c 'import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def median(mode, k): return statistics.median(float(r[k]) for r in rows if r[0] == mode)
cycles = {m: median(m, 1) for m in ("plaintext", "tls")}
notify = {m: median(m, 2) for m in ("plaintext", "tls")}
print("medians: plaintext %.0f cycles/s, notify p50 %.0f us; tls %.0f cycles/s, notify p50 %.0f us" %
      (cycles["plaintext"], notify["plaintext"], cycles["tls"], notify["tls"]))
if cycles["plaintext"] > 0: print("tls/plaintext cycles/s: %.2fx" % (cycles["tls"] / cycles["plaintext"]))
print("tls/plaintext notify p50: %.2fx" % (notify["tls"] / notify["plaintext"]))' "$tmp/results"
