#!/usr/bin/env bash
# Lint, first in CI: the format (.clang-format) of every C++ file, shellcheck on the scripts, and
# clang-tidy (.clang-tidy: bugprone-*, performance-*, a function-size limit) over the compile
# commands of the libraries and the simulator. Any finding fails.
#
# clang-tidy leaves out net/ and apps/: their translation units pull in Beast, ~40 s each under
# clang-tidy, which would double CI's time for code the compilers' -Wall -Wextra -Werror already
# check. Everything they call lives in the libraries that are tidied.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

mapfile -t cxx_files < <(git ls-files '*.cpp' '*.hpp')
clang-format --dry-run --Werror "${cxx_files[@]}"
echo "lint: clang-format clean over ${#cxx_files[@]} files"

mapfile -t shell_files < <(git ls-files '*.sh')
shellcheck .ci/run "${shell_files[@]}"
echo "lint: shellcheck clean over $((${#shell_files[@]} + 1)) scripts"

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAILER_WERROR="${HAILER_WERROR:-OFF}" >/dev/null
tidy_log=$(mktemp)
trap 'rm -f "$tidy_log"' EXIT
tidy_dirs='(base|protocol|core|client|media|host|audio|sim)'
# The build is GCC's: clang does not know some of its warning flags.
run-clang-tidy -p build -j 2 -quiet -extra-arg=-Wno-unknown-warning-option \
  "^$PWD/$tidy_dirs/.*\\.cpp\$" >"$tidy_log" 2>&1 || {
  grep -E 'error:|warning:' -A3 "$tidy_log" | head -200
  echo "lint: clang-tidy found the above" >&2
  exit 1
}
echo "lint: clang-tidy clean over the libraries and the simulator"
