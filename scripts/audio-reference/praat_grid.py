#!/usr/bin/env python3
"""Praat's word mean F0 of one word on its own frame grid and on grids placed where ours are.

    ~/venv/bin/python scripts/audio-reference/praat_grid.py WAV START END

Praat centres its frame grid in the file; our frames sit at multiples of 10 ms from the start
(docs/ACOUSTIC.md, "Limits"). This pads the audio (resampled to 16 kHz, as our extractor does)
with zeros in front (0-20 ms, in 2-sample steps) and behind (0, 2.5, 5, 7.5 ms), runs Praat's
"To Pitch (ac)..." (time step 0.01 s, floor 75 Hz, ceiling 600 Hz) on each, and prints the
word's mean F0 over the voiced frames whose time, against the unpadded audio, lies in
[START, END): first on Praat's own grid, then on the grids within 0.4 ms of ours.
Needs praat-parselmouth, numpy.
"""
import argparse

import numpy as np
import parselmouth

RATE = 16000


def word(sound, pad, tail, start, end):
    """(grid offset in ms modulo 10, mean F0 of the word's voiced frames, those frames' F0)."""
    x = np.concatenate([np.zeros(pad), sound, np.zeros(tail)])
    pitch = parselmouth.Sound(x, sampling_frequency=RATE).to_pitch_ac(
        time_step=0.01, pitch_floor=75, pitch_ceiling=600
    )
    f0 = pitch.selected_array["frequency"]
    t = pitch.xs() - pad / RATE
    voiced = f0[(t >= start) & (t < end) & (f0 > 0)]
    return (t[0] * 1000) % 10, voiced.mean() if len(voiced) else float("nan"), voiced


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wav")
    ap.add_argument("start", type=float)
    ap.add_argument("end", type=float)
    args = ap.parse_args()
    sound = parselmouth.Sound(args.wav).resample(RATE).values[0]
    offset, mean, voiced = word(sound, 0, 0, args.start, args.end)
    print(f"Praat's grid (offset {offset:.2f} ms): mean {mean:.1f} Hz, frames {np.round(voiced).tolist()}")
    near = []
    for pad in range(0, 320, 2):
        for tail in (0, 40, 80, 120):
            offset, mean, voiced = word(sound, pad, tail, args.start, args.end)
            if min(offset, 10 - offset) < 0.4:
                near.append(mean)
                if len(near) <= 3:
                    print(f"grid at offset {offset:.2f} ms: mean {mean:.1f} Hz, frames {np.round(voiced).tolist()}")
    if near:
        print(f"{len(near)} grids within 0.4 ms of ours: word means {min(near):.1f}-{max(near):.1f} Hz")


if __name__ == "__main__":
    main()
