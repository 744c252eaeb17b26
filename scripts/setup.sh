#!/usr/bin/env bash
# Install every Debian package hailer needs, only when missing.
# Idempotent, non-interactive, and silent when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  clang libclang-rt-14-dev  # sanitizer builds and libFuzzer (scripts/sanitize.sh, scripts/tsan.sh, fuzz/)
  clang-format clang-tidy shellcheck  # scripts/lint.sh
  libboost-dev            # Asio + Beast (header-only, 1.74)
  libopus-dev             # Opus codec
  portaudio19-dev         # sound devices
  jackd2                  # a clocked dummy sound device for the PortAudio tests (jackd -d dummy)
  libsndfile1-dev         # WAV files
  libsamplerate0-dev      # resampling to 48 kHz
  catch2                  # tests (v2.13)
  libbenchmark-dev        # Google Benchmark
  nlohmann-json3-dev      # JSON
  libsodium-dev           # HMAC-SHA256 of the media proofs, constant-time compares
  libcli11-dev            # command-line parsing
  libspdlog-dev           # logging
  libssl-dev              # TLS for the classroom pages (HTTPS/WSS) and the self-signed certificate
  libsqlite3-dev          # the accounts database (SQLite, WAL)
  libsrtp2-dev            # SRTP (AEAD AES-128-GCM) on the calls' media
  espeak-ng sox           # test speech fixtures, made at test time
  python3                 # end-to-end tests (tests/e2e, standard library only)
  nftables                # blocks a client's UDP for real in the media path tests (e2e, as root)
  tmux                    # drives the interactive CLI in a terminal (e2e)
  ffmpeg                  # a real RTP/Opus peer for the interop tests (e2e)
  chromium                # a real browser for the classroom pages (tests/browser)
  nodejs                  # drives it with npm (playwright-core, pinned in tests/browser/package-lock.json)
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}" >&2
  as_root=()
  if [[ $(id -u) -ne 0 ]]; then as_root=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq >/dev/null
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done" >&2
fi

# The browser tests' npm packages, exactly as the committed lock file pins them (no browser
# download: playwright-core drives Debian's chromium).
browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
stamp="$browser_dir/node_modules/.hailer-installed-lock"
if [[ -f "$browser_dir/package-lock.json" ]] && ! cmp -s "$browser_dir/package-lock.json" "$stamp" 2>/dev/null; then
  echo "setup: npm ci in tests/browser" >&2
  (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$browser_dir/package-lock.json" "$stamp"
fi
