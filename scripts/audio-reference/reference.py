#!/usr/bin/env python3
"""Compute librosa MFCCs and Praat F0 for the speech fixtures -> reference.json, word_f0.json.

    ~/venv/bin/python scripts/audio-reference/reference.py [--dir tests/fixtures/speech]

reference.json (frame level):

For utt01, utt05, utt09 and the three tones (16 kHz PCM_16 files, loaded as int16 / 32768):
  * mfcc:   librosa.feature.mfcc with the parameters in "params.mfcc", as frames [n_frames][13];
  * logmel: for the first utterance only, the log-mel power in dB that the MFCC is the DCT of
            (librosa.power_to_db(melspec, ref=1.0, amin=1e-10, top_db=80.0)), [n_frames][40];
  * pitch:  Praat "To Pitch (ac)..." (parselmouth Sound.to_pitch_ac) with time step 0.01 s,
            floor 75 Hz, ceiling 600 Hz and Praat's standard other settings: the frame centre
            times in seconds and f0 in Hz, 0.0 for unvoiced frames.

word_f0.json (word level), for utt01..utt12 and every voices/ utterance (make_fixtures.VOICES):
  * pitch:  the same Praat analysis: t1, dt, n_frames and f0 per frame (0.0 unvoiced), the
            frame times being t1 + i * dt;
  * words:  for each word of the TextGrid's words tier, over the Praat frames whose time lies in
            [start, end): frames, voiced (how many voiced), f0_mean and f0_std (population) of the
            voiced ones (0.0 when none), and shifted_f0_means: the same word mean when Praat analyses
            the audio with 40, 80, 120 zero samples put in front (a frame grid 2.5, 5, 7.5 ms later,
            against the audio, modulo Praat centring its frames in the file), None when unvoiced. These
            say how much Praat's own word means move with the grid, the floor for any tracker that
            runs on another grid.
Floats are rounded to 6 significant digits.  Needs librosa, praat-parselmouth, soundfile.
"""
import argparse
import hashlib
import json
import os
import warnings

import librosa
import numpy as np
import parselmouth
import scipy
import soundfile as sf

from make_fixtures import UTTERANCES, VOICES, read_words

FILES = ["utt01", "utt05", "utt09", "tones/sine-220", "tones/chirp-110-330", "tones/noise"]
LOGMEL_FOR = "utt01"
WORD_FILES = ["utt%02d" % (i + 1) for i in range(len(UTTERANCES))] + ["voices/" + v[0] for v in VOICES]
GRID_SHIFTS = [40, 80, 120]  # zero samples put before the audio for shifted_f0_means

SR = 16000
MFCC = dict(
    sr=SR,
    n_mfcc=13,
    n_fft=512,
    win_length=400,
    hop_length=160,
    window="hann",
    center=True,
    pad_mode="constant",
    power=2.0,
    n_mels=40,
    fmin=0.0,
    fmax=8000.0,
    htk=False,
    norm="ortho",
    dct_type=2,
)
POWER_TO_DB = dict(ref=1.0, amin=1e-10, top_db=80.0)
PITCH = dict(time_step=0.01, pitch_floor=75.0, pitch_ceiling=600.0)
# Praat's standard values for the settings to_pitch_ac is not given (Praat 6.1 "To Pitch (ac)...").
PITCH_DEFAULTS = dict(
    max_number_of_candidates=15,
    very_accurate=False,
    silence_threshold=0.03,
    voicing_threshold=0.45,
    octave_cost=0.01,
    octave_jump_cost=0.35,
    voiced_unvoiced_cost=0.14,
)


def sig6(v):
    return float("%.6g" % v)


def rows(a):
    """[n_frames][k] of 6-significant-digit floats from a librosa [k, n_frames] array."""
    return [[sig6(v) for v in frame] for frame in np.asarray(a, dtype=np.float64).T]


def compute(path):
    y, sr = librosa.load(path, sr=None, mono=True)  # float32, int16 / 32768
    assert sr == SR, (path, sr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mfcc = librosa.feature.mfcc(y=y, **MFCC)
        mel_kwargs = {k: v for k, v in MFCC.items() if k not in ("n_mfcc", "norm", "dct_type")}
        melspec = librosa.feature.melspectrogram(y=y, **mel_kwargs)
        logmel = librosa.power_to_db(melspec, **POWER_TO_DB)
    for w in caught:
        print("  warning from librosa (%s): %s" % (os.path.basename(path), w.message))
    # The MFCC must be the DCT of exactly this log-mel (so a mismatch can be localised).
    check = scipy.fft.dct(logmel, axis=0, type=2, norm="ortho")[: MFCC["n_mfcc"]]
    assert np.allclose(check, mfcc, atol=1e-3), "mfcc is not dct(logmel)"

    snd = parselmouth.Sound(path)
    assert snd.sampling_frequency == SR and snd.n_channels == 1
    pitch = snd.to_pitch_ac(**PITCH)
    f0 = pitch.selected_array["frequency"]  # 0 where unvoiced
    times = pitch.xs()
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    out = {
        "sha256": sha,
        "n_samples": int(len(y)),
        "duration": len(y) / SR,
        "mfcc": rows(mfcc),
        "pitch": {
            "n_frames": int(pitch.n_frames),
            "t1": sig6(pitch.t1),
            "dt": sig6(pitch.time_step),
            "times": [sig6(t) for t in times],
            "f0": [sig6(v) for v in f0],
        },
    }
    voiced = f0[f0 > 0]
    summary = (len(voiced), float(np.median(voiced)) if len(voiced) else float("nan"))
    return out, logmel, summary


def praat_pitch(samples):
    """Praat's F0 of float samples at SR: (frame times, f0 with 0.0 unvoiced, Pitch)."""
    pitch = parselmouth.Sound(samples, SR).to_pitch_ac(**PITCH)
    return pitch.xs(), pitch.selected_array["frequency"], pitch


def word_stats(times, f0, start, end):
    """(frames, voiced f0 values) of the Praat frames with time in [start, end)."""
    sel = (times >= start) & (times < end)
    values = f0[sel]
    return int(sel.sum()), values[values > 0]


def word_reference(path, grid):
    """One word_f0.json entry for the WAV at path and its TextGrid at grid."""
    q, sr = sf.read(path, dtype="int16")
    assert sr == SR and q.ndim == 1, path
    x = q.astype(np.float64) / 32768.0
    times, f0, pitch = praat_pitch(x)
    shifted = []
    for n in GRID_SHIFTS:
        t, f, _ = praat_pitch(np.concatenate([np.zeros(n), x]))
        shifted.append((t - n / SR, f))
    words = []
    for word, start, end in read_words(grid):
        frames, voiced = word_stats(times, f0, start, end)
        means = []
        for t, f in shifted:
            _, v = word_stats(t, f, start, end)
            means.append(sig6(v.mean()) if len(v) else None)
        words.append(
            {
                "word": word,
                "start": start,
                "end": end,
                "frames": frames,
                "voiced": int(len(voiced)),
                "f0_mean": sig6(voiced.mean()) if len(voiced) else 0.0,
                "f0_std": sig6(voiced.std()) if len(voiced) else 0.0,
                "shifted_f0_means": means,
            }
        )
    with open(path, "rb") as fh:
        sha = hashlib.sha256(fh.read()).hexdigest()
    return {
        "sha256": sha,
        "pitch": {
            "n_frames": int(pitch.n_frames),
            "t1": sig6(pitch.t1),
            "dt": sig6(pitch.time_step),
            "f0": [sig6(v) for v in f0],
        },
        "words": words,
    }


def dump(obj, indent=0):
    """JSON with lists of numbers on one line, lists of such lists one item per line."""
    pad = " " * indent
    if isinstance(obj, dict):
        items = [
            "%s  %s: %s" % (pad, json.dumps(k), dump(v, indent + 2)) for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and obj and all(isinstance(x, list) for x in obj):
        items = ["%s  %s" % (pad, json.dumps(x, separators=(",", ":"))) for x in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(obj, list):
        return json.dumps(obj, separators=(",", ":"))
    return json.dumps(obj)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_dir = os.path.normpath(os.path.join(here, "..", "..", "tests", "fixtures", "speech"))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=default_dir)
    p.add_argument("--out", default=None, help="default: DIR/reference.json")
    p.add_argument("--words-out", default=None, help="default: DIR/word_f0.json")
    args = p.parse_args()
    out_path = args.out or os.path.join(args.dir, "reference.json")
    words_path = args.words_out or os.path.join(args.dir, "word_f0.json")

    files = {}
    summaries = {}
    for name in FILES:
        path = os.path.join(args.dir, name + ".wav")
        print(name)
        entry, logmel, summaries[name] = compute(path)
        if name == LOGMEL_FOR:
            entry["logmel_db"] = rows(logmel)
        files[name] = entry

    doc = {
        "description": "librosa MFCC (+ log-mel dB for %s) and Praat F0 of fixtures in this folder, "
        "keyed by path without .wav; frames are rows: mfcc [n_frames][13], logmel_db [n_frames][40]; "
        "floats rounded to 6 significant digits; made by scripts/audio-reference/reference.py" % LOGMEL_FOR,
        "versions": {
            "librosa": librosa.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "parselmouth": parselmouth.__version__,
            "praat": parselmouth.PRAAT_VERSION,
        },
        "params": {
            "load": "librosa.load(path, sr=None): float32 samples = int16 / 32768",
            "mfcc": dict(
                MFCC,
                mel_scale="slaney (htk=False)",
                mel_norm="slaney (librosa.filters.mel default)",
                lifter=0,
                log="librosa.power_to_db(melspec, ref=1.0, amin=1e-10, top_db=80.0): "
                "10*log10(max(amin, S)) - 10*log10(max(amin, ref)), then floored at (its max over the whole file) - top_db",
                dct="scipy.fftpack.dct(logmel, type=2, norm='ortho', axis=mel)[:n_mfcc]",
                stft="periodic hann of 400 samples zero-padded centred in 512; signal zero-padded by 256 each side (center=True, constant); n_frames = 1 + n_samples // 160",
            ),
            "power_to_db": POWER_TO_DB,
            "pitch": dict(
                PITCH,
                method="parselmouth.Sound(path).to_pitch_ac(...) == Praat 'To Pitch (ac)...'",
                **PITCH_DEFAULTS,
                unvoiced="0.0",
            ),
        },
        "files": files,
    }
    text = dump(doc) + "\n"
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote %s (%d bytes)" % (out_path, len(text.encode())))
    print("%-22s %8s %8s %14s" % ("file", "frames", "voiced", "median f0 Hz"))
    for name in FILES:
        n_voiced, med = summaries[name]
        print("%-22s %8d %8d %14.2f" % (name, files[name]["pitch"]["n_frames"], n_voiced, med))

    word_files = {}
    for name in WORD_FILES:
        word_files[name] = word_reference(os.path.join(args.dir, name + ".wav"), os.path.join(args.dir, name + ".TextGrid"))
    doc = {
        "description": "Praat F0 per frame and per word of the utterances in this folder, keyed by path without .wav; "
        "word statistics over the Praat frames whose time (t1 + i * dt) lies in the word's TextGrid interval; "
        "floats rounded to 6 significant digits; made by scripts/audio-reference/reference.py",
        "versions": doc["versions"],
        "params": {
            "pitch": doc["params"]["pitch"],
            "words": "frames: Praat frames in [start, end); voiced: those with f0 > 0; f0_mean, f0_std (population) "
            "over the voiced ones, 0.0 when none; shifted_f0_means: f0_mean with %s zero samples put before the audio "
            "(null when none voiced)" % GRID_SHIFTS,
        },
        "files": word_files,
    }
    text = dump(doc) + "\n"
    with open(words_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote %s (%d bytes)" % (words_path, len(text.encode())))
    # How far Praat's word means move when only its frame grid moves (words voiced both ways).
    moves = []
    for entry in word_files.values():
        for w in entry["words"]:
            moves += [abs(m - w["f0_mean"]) / w["f0_mean"] for m in w["shifted_f0_means"] if m and w["voiced"]]
    moves.sort()
    if moves:
        print(
            "Praat against itself on shifted grids: %d word means, median %.2f %%, p90 %.2f %%, max %.1f %%"
            % (len(moves), 100 * moves[len(moves) // 2], 100 * moves[max(0, -(-9 * len(moves) // 10) - 1)], 100 * moves[-1])
        )


if __name__ == "__main__":
    main()
