#!/bin/sh
# Makes tests/fixtures/stress_pair/ (tests/stress_pair.rs): one mixed pair of the spoken
# corpus's test split, the same words with the stress on opposite clauses, made small for the
# repository (8 kHz, 8-bit, no dither so that the bytes repeat).
#   test-00033: "I ADORED THE DIALOGUE BUT I MISSED THE FINALE", stress on clause 0 (label +2.0)
#   test-00170: the same words, stress on clause 1 (label 0.0)
# Needs espeak-ng (1.51 made the committed files) and sox; the corpus takes ~4 minutes.
# Usage: scripts/make-stress-pair.sh [SPOKEN_DIR]   (an existing `corpus --speak` output)
set -eu
spoken=${1:-}
if [ -z "$spoken" ]; then
    spoken=$(mktemp -d)
    cargo run --release -- corpus --speak --out "$spoken"
fi
out=tests/fixtures/stress_pair
mkdir -p "$out"
for pair in a:test-00033 b:test-00170; do
    name=${pair%%:*}
    id=${pair#*:}
    sox -G -D "$spoken/wavs/$id.wav" -r 8000 -b 8 "$out/$name.wav"
    cp "$spoken/align/$id.TextGrid" "$out/$name.TextGrid"
done
