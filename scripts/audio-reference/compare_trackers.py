#!/usr/bin/env python3
"""Word-level F0 of other pitch trackers against Praat, as tests/acoustic_parity.rs measures ours.

    ~/venv/bin/python scripts/audio-reference/compare_trackers.py [--tracks NAME=FILE.json ...]

For every utterance in tests/fixtures/speech/word_f0.json (utt01..utt12 and voices/), a tracker's
F0 per frame on our 10 ms grid (frame i centred at i * 0.01 s, 0 or NaN when unvoiced) gives each
word the mean over its voiced frames whose centre lies in [start, end); that is compared with
Praat's word mean from word_f0.json over the words both call voiced. Printed per tracker: words,
voiced by both / by Praat, median (upper middle) and nearest-rank p90 of the relative error of
the word mean, words voiced only by the tracker, and its time.

Trackers: librosa.pyin (fmin 75, fmax 600, frame_length 1024, hop 160, center=True: the settings
of speed.py), always; and any --tracks NAME=FILE.json, a JSON object {"path/to/file.wav": {"f0":
[...]}} keyed by the WAV paths as given relative to the repository root (docs/ACOUSTIC.md has the
harness that wrote the pyin crate's).  Needs librosa, soundfile.
"""
import argparse
import json
import math
import os
import time

import librosa
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SPEECH = os.path.join("tests", "fixtures", "speech")
SR, HOP = 16000, 160


def word_means(f0, words):
    """[(mean over voiced frames or None)] per reference word, frames on the 10 ms grid."""
    times = np.arange(len(f0)) * HOP / SR
    f0 = np.nan_to_num(np.asarray(f0, dtype=np.float64), nan=0.0)
    out = []
    for w in words:
        sel = (times >= w["start"]) & (times < w["end"])
        voiced = f0[sel][f0[sel] > 0]
        out.append(float(voiced.mean()) if len(voiced) else None)
    return out


def summary(name, tracks, reference, seconds):
    errors, both, praat_voiced, only = [], 0, 0, []
    for key, entry in reference.items():
        for w, ours in zip(entry["words"], word_means(tracks[key], entry["words"])):
            if w["voiced"]:
                praat_voiced += 1
            if w["voiced"] and ours is not None:
                both += 1
                errors.append(abs(ours - w["f0_mean"]) / w["f0_mean"])
            elif ours is not None:
                only.append("%s %s" % (key, w["word"]))
    errors.sort()
    median = errors[len(errors) // 2]
    p90 = errors[max(0, math.ceil(0.9 * len(errors)) - 1)]
    print(
        "%-14s %3d/%3d voiced by both/Praat (%.0f %%), word F0 error median %.2f %%, p90 %.2f %%, max %.0f %%; "
        "voiced only by it: %d; %s"
        % (name, both, praat_voiced, 100 * both / praat_voiced, 100 * median, 100 * p90, 100 * errors[-1], len(only), seconds)
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tracks", nargs="*", default=[], metavar="NAME=FILE.json")
    args = p.parse_args()
    with open(os.path.join(ROOT, SPEECH, "word_f0.json"), encoding="utf-8") as f:
        files = json.load(f)["files"]
    reference = {os.path.join(SPEECH, name + ".wav"): entry for name, entry in files.items()}

    tracks, spent, audio = {}, 0.0, 0.0
    for path in reference:
        y, _ = librosa.load(os.path.join(ROOT, path), sr=None)
        audio += len(y) / SR
        t0 = time.perf_counter()
        f0, _flag, _prob = librosa.pyin(y, fmin=75.0, fmax=600.0, sr=SR, frame_length=1024, hop_length=HOP)
        spent += time.perf_counter() - t0
        tracks[path] = f0
    summary("librosa.pyin", tracks, reference, "%.2f s for %.1f s of audio (first call compiles numba code)" % (spent, audio))

    for spec in args.tracks:
        name, path = spec.split("=", 1)
        with open(path, encoding="utf-8") as f:
            given = json.load(f)
        missing = [k for k in reference if k not in given]
        if missing:
            raise SystemExit("%s: no track for %s" % (path, ", ".join(missing[:3])))
        summary(name, {k: given[k]["f0"] for k in reference}, reference, "time not measured here")


if __name__ == "__main__":
    main()
