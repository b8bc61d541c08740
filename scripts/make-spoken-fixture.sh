#!/usr/bin/env bash
# Regenerates tests/fixtures/spoken/, the spoken set that tests/speak_committed.rs trains on in
# CI without espeak-ng: the built-in corpus at its default size (1284 / 229 / 686 utterances,
# seed 1) spoken by espeak-ng (`corpus --speak`), its word features extracted with
# `features --set prosody-v1` (pitch and energy, 5 dimensions), then only what training and
# `eval` read is kept: the TSVs, `prosody.jsonl`, the `<split>.meta.jsonl` kinds and
# `speak.json` (settings, espeak-ng version, voices), about 3 MB. The WAVs (296 MB) and
# TextGrids (9 MB) stay out of the repository; rerun this to get them.
#
#     scripts/make-spoken-fixture.sh [BINARY]     # default target/release/cmbert-tui
#
# Why the default size and not a few dozen utterances: below a few hundred training utterances
# a BERT trained from scratch learns neither the text nor the stress, so no margin of
# `learned` over the paper's variant can be shown (docs/EXPERIMENTS.md, "The spoken corpus").
#
# Same seed, same espeak-ng (the committed files were made with 1.51; speak.json records the
# version) and same build: same files.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/cmbert-tui}
seed=1
out=tests/fixtures/spoken
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

espeak-ng --version
"$bin" corpus --speak --seed "$seed" --out "$tmp"
"$bin" features --set prosody-v1 --audio-dir "$tmp/wavs" --alignments "$tmp/align" --data "$tmp" --out "$tmp/prosody.jsonl"
rm -rf "$out"
mkdir -p "$out"
for split in train dev test; do
    cp "$tmp/$split.tsv" "$tmp/$split.meta.jsonl" "$out/"
done
cp "$tmp/prosody.jsonl" "$tmp/speak.json" "$out/"
du -sh "$out"
