#!/usr/bin/env python3
"""Time librosa's MFCC + pYIN over a set of WAV files, and optionally our extractor, alternately.

    ~/venv/bin/python scripts/audio-reference/speed.py \\
        --files tests/fixtures/speech/*.wav [--repeat 5] [--pyin-only] [--ours "target/release/cmbert-tui ... FILES"]

librosa side (in this process, 2 threads): for every file, librosa.load(path, sr=16000) (no
resampling for 16 kHz files), librosa.feature.mfcc with the parameters of reference.py, and
librosa.pyin(y, fmin=75, fmax=600, sr=16000, frame_length=1024, hop_length=160) (--pyin-only: no
MFCC, the pitch tracker alone). Its time is the wall time around that loop only: Python start-up
and imports are not counted.

ours: the --ours shell command, run as a fresh process each time; its time is the wall time of
the whole command (process start, reading the files, everything). It gets the same thread
settings in its environment (OMP_NUM_THREADS, NUMBA_NUM_THREADS, RAYON_NUM_THREADS = --threads
unless already set).

One warm-up run of each is done first and discarded (it also compiles librosa's numba code), then
--repeat runs of each, alternating librosa, ours, librosa, ours, ... The CPU model, the runs, their
medians and the ratio are printed.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", nargs="+", required=True, help="WAV files")
    p.add_argument("--repeat", type=int, default=5, help="timed runs of each (after one warm-up)")
    p.add_argument("--ours", default=None, help="shell command running our extractor over the same files")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pyin-only", action="store_true", help="librosa side: pYIN alone, no MFCC")
    return p.parse_args()


args = parse_args()
# Thread limits must be in place before numpy / numba / librosa are imported.
for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(var, str(args.threads))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import librosa  # noqa: E402

SR = 16000
MFCC = dict(
    sr=SR, n_mfcc=13, n_fft=512, win_length=400, hop_length=160, window="hann", center=True,
    pad_mode="constant", power=2.0, n_mels=40, fmin=0.0, fmax=8000.0, htk=False, norm="ortho", dct_type=2,
)
PYIN = dict(fmin=75.0, fmax=600.0, sr=SR, frame_length=1024, hop_length=160)


def run_librosa(files):
    t0 = time.perf_counter()
    for path in files:
        y, _ = librosa.load(path, sr=SR, mono=True)
        if not args.pyin_only:
            librosa.feature.mfcc(y=y, **MFCC)
        librosa.pyin(y, **PYIN)
    return time.perf_counter() - t0


def run_ours(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace")[-2000:])
        sys.stderr.write(r.stderr.decode(errors="replace")[-4000:])
        raise SystemExit("--ours command failed with exit status %d" % r.returncode)
    return dt


def cpu_model():
    """The CPU's model name (Linux /proc/cpuinfo), else what platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def fmt_runs(ts):
    return " ".join("%.3f" % t for t in ts)


def main():
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    files = args.files
    audio_s = sum(sf.info(f).duration for f in files)
    print("cpu: %s, %d logical cores" % (cpu_model(), os.cpu_count() or 0))
    print("files: %d, total audio: %.3f s" % (len(files), audio_s))
    print("threads: %s" % ", ".join("%s=%s" % (v, os.environ[v]) for v in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "RAYON_NUM_THREADS")))
    print("librosa %s: load(sr=16000) + %s"
          "pyin(fmin=75, fmax=600, frame_length=1024, hop 160); timed in-process around the computation "
          "(imports excluded)" % (librosa.__version__, "" if args.pyin_only else "mfcc(n_mfcc=13, n_fft=512, win 400, hop 160, 40 mels) + "))
    if args.ours:
        print("ours: %r; timed as a whole fresh process (start-up and file reading included)" % args.ours)

    print("warm-up (discarded): librosa %.3f s" % run_librosa(files), end="")
    if args.ours:
        print(", ours %.3f s" % run_ours(args.ours), end="")
    print()

    lib, ours = [], []
    for i in range(args.repeat):
        lib.append(run_librosa(files))
        line = "run %d: librosa %.3f s" % (i + 1, lib[-1])
        if args.ours:
            ours.append(run_ours(args.ours))
            line += ", ours %.3f s" % ours[-1]
        print(line, flush=True)

    med_lib = statistics.median(lib)
    print()
    print("librosa runs (s): %s" % fmt_runs(lib))
    print("librosa median: %.3f s -> %.2f s of audio per s (%.3fx real time)" % (med_lib, audio_s / med_lib, med_lib / audio_s))
    if args.ours:
        med_ours = statistics.median(ours)
        print("ours runs (s):    %s   [whole process each]" % fmt_runs(ours))
        print("ours median:    %.3f s -> %.2f s of audio per s (%.3fx real time)" % (med_ours, audio_s / med_ours, med_ours / audio_s))
        print("throughput ratio ours / librosa: %.2fx" % (med_lib / med_ours))


if __name__ == "__main__":
    main()
