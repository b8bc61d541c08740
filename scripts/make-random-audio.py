#!/usr/bin/env python3
"""Write a reference-layout audio pickle with random features for a MOSI-text directory:
a 3-tuple (train, valid, test) of float32 arrays [N, 50, 5], N = the rows of each TSV,
zero at position 0 ([CLS]) and after the last word, like the reference's feature file.
For trying the audio path end to end when the real CMU-MOSI features are not at hand;
the values carry no information.

    python scripts/make-random-audio.py --data data/text --out /tmp/mosi-random-audio.pkl

(data/text: the MOSI text from the paper's repository, github.com/thuiar/Cross-Modal-BERT.)
"""
import argparse
import os
import pickle

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--protocol", type=int, default=4)
args = p.parse_args()
rng = np.random.default_rng(args.seed)
splits = []
for name in ("train", "dev", "test"):
    with open(os.path.join(args.data, f"{name}.tsv"), encoding="utf-8") as f:
        rows = [line.rstrip("\r\n").split("\t") for line in f.readlines()[1:] if line.strip()]
    arr = np.zeros((len(rows), 50, 5), dtype=np.float32)
    for i, (text, _) in enumerate(rows):
        n = min(len(text.split()), 48)  # one position per word, approximately
        arr[i, 1 : n + 1] = rng.normal(size=(n, 5))
    splits.append(arr)
with open(args.out, "wb") as f:
    pickle.dump(tuple(splits), f, protocol=args.protocol)
print(args.out, [a.shape for a in splits])
