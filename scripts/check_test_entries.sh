#!/usr/bin/env bash
# Every Catch2 test case must have exactly one ctest entry of its own name, and no entry may name
# something that is not a test case (ctest splits a name at ';' into entries that match nothing).
# Run by ctest as the entry "test entries match test cases":
#   scripts/check_test_entries.sh build/tests/hailer_tests build
set -euo pipefail
binary="$1"
build_dir="$2"
listed="$(mktemp)"
entries="$(mktemp)"
trap 'rm -f "$listed" "$entries"' EXIT

# Catch exits with the number of test cases listed, so its status says nothing here.
{ "$binary" --list-test-names-only || true; } | sed '/^$/d' | LC_ALL=C sort > "$listed"
ctest --test-dir "$build_dir" -N | sed -n 's/^ *Test *#[0-9]*: catch\///p' | LC_ALL=C sort > "$entries"

count=$(wc -l < "$listed")
if ((count == 0)); then
  echo "FAIL: the test binary lists no test cases" >&2
  exit 1
fi
if ! cmp -s "$listed" "$entries"; then
  echo "FAIL: ctest entries differ from the test cases (< only a test case, > only an entry):" >&2
  diff "$listed" "$entries" | grep '^[<>]' >&2 || true
  exit 1
fi
dupes=$(uniq -d "$listed")
if [[ -n "$dupes" ]]; then
  echo "FAIL: test case names listed twice: $dupes" >&2
  exit 1
fi
echo "$count test cases, each with exactly one ctest entry of its own name"
