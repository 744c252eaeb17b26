#!/usr/bin/env bash
# Makes the speech WAV fixtures that scenarios name, at test time (nothing binary in git):
# espeak-ng speaks a line, sox converts it to 48 kHz mono 16-bit. Idempotent.
set -euo pipefail
out="${1:-build/fixtures}"
mkdir -p "$out"
make_one() {  # name voice text
  local wav="$out/$1.wav"
  [[ -s "$wav" ]] && return 0
  local raw
  raw="$(mktemp --suffix=.wav)"
  espeak-ng -v "$2" -s 150 -w "$raw" "$3"
  sox -q "$raw" -r 48000 -c 1 -b 16 "$wav"
  rm -f "$raw"
}
make_one alice en-us+f3 "Hello Bob, this is Alice. Are you free for a minute? I wanted to ask about the project meeting tomorrow morning."
make_one bob en-us+m3 "Hi Alice, Bob here. Yes, I can talk now. The meeting starts at nine, in the small room on the second floor."
make_one carol en-gb+f2 "Carol speaking. I tried to call you earlier, but you were busy. Call me back when you can, please."
make_one ann en-us+f4 "Excuse me, I have a question about the second exercise. Why does the loop stop after the first line?"
make_one ben en-gb+m2 "I think the answer is forty two, because the function is called twice before it returns."
