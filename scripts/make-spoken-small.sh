#!/usr/bin/env bash
# Regenerates tests/fixtures/spoken/, the small spoken set that tests/speak_committed.rs trains
# on in CI without espeak-ng: the built-in corpus spoken by espeak-ng at a small size
# (`corpus --speak`), its word features extracted (`features`, full-v1), then only what
# training reads is kept: the TSVs, `audio.jsonl`, the `<split>.meta.jsonl` kinds and
# `speak.json` (settings, espeak-ng version, voices). The WAVs (about 8 MB for 60 utterances
# at 16 kHz, 16-bit) and TextGrids stay out of the repository; rerun this to get them.
#
#     scripts/make-spoken-small.sh [BINARY]     # default target/release/cmbert-tui
#
# Same seed, same espeak-ng (speak.json records its version) and same build: same files.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/cmbert-tui}
seed=1
sizes=36,8,16
out=tests/fixtures/spoken
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" corpus --speak --seed "$seed" --sizes "$sizes" --out "$tmp"
"$bin" features --audio-dir "$tmp/wavs" --alignments "$tmp/align" --data "$tmp" --out "$tmp/audio.jsonl"
rm -rf "$out"
mkdir -p "$out"
for split in train dev test; do
    cp "$tmp/$split.tsv" "$tmp/$split.meta.jsonl" "$out/"
done
cp "$tmp/audio.jsonl" "$tmp/speak.json" "$out/"
du -sh "$out"
