#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and runs each for SECONDS
# (default 60) on its committed corpus and dictionary; new inputs go to a scratch corpus, never
# into git. Any crash fails the run (the reproducer is left in build-fuzz/crashes/).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# HAILER_FUZZ_RUNS=N stops each target after N executions instead (SECONDS still bounds it):
#   HAILER_FUZZ_RUNS=10000000 scripts/fuzz.sh 86400   # the long campaign
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(fuzz_request_decoder fuzz_server_decoder fuzz_ptt_frame fuzz_rtp fuzz_scenario fuzz_jitter_buffer fuzz_core fuzz_datagram
    fuzz_json_differential fuzz_srtp fuzz_relay)
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAILER_FUZZ=ON >/dev/null
cmake --build build-fuzz -j2 --target "${targets[@]}"
mkdir -p build-fuzz/crashes
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for t in "${targets[@]}"; do
  scratch="build-fuzz/corpus/$t"
  mkdir -p "$scratch"
  args=("$scratch")
  [[ -d "fuzz/corpus/$t" ]] && args+=("fuzz/corpus/$t")
  [[ -f "fuzz/dict/$t.dict" ]] && args+=("-dict=fuzz/dict/$t.dict")
  [[ -n "${HAILER_FUZZ_RUNS:-}" ]] && args+=("-runs=${HAILER_FUZZ_RUNS}")
  echo "fuzz: $t for ${seconds} s${HAILER_FUZZ_RUNS:+ or ${HAILER_FUZZ_RUNS} runs}"
  ./build-fuzz/fuzz/"$t" "${args[@]}" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/crashes/$t-" -print_final_stats=1 > "build-fuzz/$t.log" 2>&1 || true
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs|==[0-9]+==ERROR|SUMMARY|reached)" "build-fuzz/$t.log" || true
  if compgen -G "build-fuzz/crashes/$t-*" >/dev/null; then
    grep -m 5 -E "assertion failed|ERROR:|runtime error|#[0-9]+ 0x" "build-fuzz/$t.log" >&2 || true  # say why in CI's log
    echo "fuzz: $t crashed; reproducers in build-fuzz/crashes/" >&2
    exit 1
  fi
done
