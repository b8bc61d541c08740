#!/usr/bin/env python3
"""Wall time of a whole paper-preset MOSI-text run, ours against PyTorch's configurations
(issue 17; docs/BENCHMARKS.md, "A full MOSI-text run against PyTorch's configurations").

    python3 scripts/mosi-walltime.py --python ~/torch-venv/bin/python --data DIR \
        [--binary target/release/cmbert-tui] [--bert target/models/all-MiniLM-L6-v2] \
        [--rounds 3] [--epochs 3] [--threads 2]

Each round runs every side once, in an order rotated from round to round, so that a drift of
the machine falls on all sides alike:
- ours: `cmbert-tui train --headless --data DIR --bert DIR --epochs E --out TMP --precision P`
  for P f32 and bf16, with RAYON_NUM_THREADS=T;
- PyTorch: `benches/torch_mosi.py --config C --threads T` for every configuration C of
  benches/torch_configs.py.
Every side is timed the same way, as a process: from its start to its exit (os.wait4, the
call /usr/bin/time makes, which also gives its peak RSS). Prints the CPU, the load average,
every time, the medians and the ratios ours f32 / paper, ours f32 / best PyTorch float32 and
ours bf16 / best PyTorch bf16 autocast (the best named).

Only the standard library: run it with any Python 3.9 or newer. It writes nothing into the
repository: every process runs in a temporary directory (removed at the end) with
PYTHONDONTWRITEBYTECODE set.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_MOSI = os.path.join(REPO, "benches", "torch_mosi.py")
OURS = ["ours-f32", "ours-bf16"]
TORCH_F32 = ["paper", "eager", "sdpa"]
TORCH_BF16 = ["eager-bf16", "sdpa-bf16"]
SIDES = OURS + TORCH_F32 + TORCH_BF16
# The test metrics each side prints: ours "... test (best epoch 2): Acc2 83.5 (non-0 ...) F1
# ... Acc7 41.7 MAE 0.783 Corr 0.776", torch_mosi.py "test 3.1 s (test Acc2 83.5 Acc7 41.7
# MAE 0.783 Corr 0.776)".
METRIC = re.compile(r"\b(Acc2|Acc7|MAE|Corr)\b[ :=]+(-?[0-9.]+)")


def fail(message):
    print(f"mosi-walltime: error: {message}", file=sys.stderr)
    sys.exit(2)


def arguments():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--python", required=True, help="a Python with torch and transformers")
    p.add_argument("--data", required=True, help="MOSI-text directory: train.tsv, dev.tsv, test.tsv")
    p.add_argument("--binary", default=os.path.join(REPO, "target", "release", "cmbert-tui"),
                   help="our release binary (default: target/release/cmbert-tui)")
    p.add_argument("--bert", default=os.path.join(REPO, "target", "models", "all-MiniLM-L6-v2"),
                   help="the BERT directory both sides load (default: target/models/all-MiniLM-L6-v2)")
    p.add_argument("--rounds", type=int, default=3, help="runs of every side, alternating (default 3)")
    p.add_argument("--epochs", type=int, default=3, help="epochs of every run (default 3, the paper's)")
    p.add_argument("--threads", type=int, default=2, help="threads of every side (default 2)")
    p.add_argument("--sides", default=",".join(SIDES), help="comma-separated, of " + ", ".join(SIDES))
    args = p.parse_args()
    if args.rounds < 1 or args.epochs < 1 or args.threads < 1:
        fail("--rounds, --epochs and --threads must be at least 1")
    args.sides = args.sides.split(",")
    for side in args.sides:
        if side not in SIDES:
            fail(f"unknown side {side!r} in --sides; expected some of {', '.join(SIDES)}")
    for flag in ("python", "binary"):  # a bare name is looked up on PATH, as a shell would
        value = getattr(args, flag)
        if os.sep not in value:
            setattr(args, flag, shutil.which(value) or value)
    for flag in ("python", "data", "binary", "bert"):
        setattr(args, flag, os.path.abspath(os.path.expanduser(getattr(args, flag))))
    check_paths(args)
    return args


def check_paths(args):
    if not os.path.isfile(args.binary) or not os.access(args.binary, os.X_OK):
        fail(f"{args.binary} (--binary) is not an executable file; build it with `cargo build --release`")
    if not os.path.isfile(args.python) or not os.access(args.python, os.X_OK):
        fail(f"{args.python} (--python) is not an executable file")
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        if not os.path.isfile(os.path.join(args.data, name)):
            fail(f"{os.path.join(args.data, name)} does not exist: --data must be a MOSI-text directory "
                 "(train.tsv, dev.tsv, test.tsv)")
    for name in ("config.json", "vocab.txt", "model.safetensors"):
        if not os.path.isfile(os.path.join(args.bert, name)):
            fail(f"{os.path.join(args.bert, name)} does not exist: --bert must be a BERT directory "
                 "(scripts/fetch-minilm.sh unpacks MiniLM into target/models/all-MiniLM-L6-v2)")
    if any(side not in OURS for side in args.sides):
        probe = subprocess.run([args.python, "-c", "import torch, transformers"],
                               capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
            fail(f"{args.python} (--python) cannot import torch and transformers: {last}")


def cpu():
    """Model name, family/model and the bf16 extensions, from /proc/cpuinfo's first processor."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError as err:
        return f"unknown (/proc/cpuinfo: {err})", set()
    flags = set(fields.get("flags", "").split())
    name = (f"{fields.get('model name', 'unknown')} "
            f"(family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})")
    return name, flags


def command(side, args, out_dir):
    if side in OURS:
        precision = side.split("-")[1]
        return [args.binary, "train", "--headless", "--data", args.data, "--bert", args.bert,
                "--epochs", str(args.epochs), "--out", out_dir, "--precision", precision]
    return [args.python, TORCH_MOSI, "--config", side, "--data", args.data, "--bert", args.bert,
            "--epochs", str(args.epochs), "--threads", str(args.threads)]


def run(side, args, tmp, index):
    """One process, timed from spawn to exit; its wall seconds, peak RSS (MB), test metrics."""
    work = os.path.join(tmp, f"{index:02}-{side}")
    os.makedirs(work)
    log_path = os.path.join(work, "log.txt")
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), PYTHONDONTWRITEBYTECODE="1")
    with open(log_path, "w") as log:
        start = time.perf_counter()
        child = subprocess.Popen(command(side, args, os.path.join(work, "run")), cwd=work, env=env,
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    # Our checkpoints (about 200 MB a run) are not needed past the run: keep /tmp small.
    shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
    with open(log_path, errors="replace") as f:
        text = f.read()
    if child.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        fail(f"{side} exited with status {child.returncode}; the end of its output:\n{tail}")
    found = {}
    for line in text.splitlines():
        pairs = METRIC.findall(line)
        if "test" in line and len(pairs) >= 3:  # the last such line wins
            found = dict(pairs)
    metrics = " ".join(f"{k} {found[k]}" for k in ("Acc2", "Acc7", "MAE", "Corr") if k in found)
    return wall, usage.ru_maxrss / 1024, metrics or "no test metrics found in its output"


def median(values):
    return statistics.median(values) if values else None


def ratio_line(label, ours, rivals, medians):
    present = [r for r in rivals if r in medians]
    if ours not in medians or not present:
        return f"{label}: not measured"
    best = min(present, key=lambda r: medians[r])
    named = f" (the best: {best})" if len(rivals) > 1 else ""
    return f"{label}{named}: {medians[ours] / medians[best]:.2f}"


def main():
    args = arguments()
    name, flags = cpu()
    ext = {flag: flag in flags for flag in ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile")}
    print(f"CPU: {name}; " + ", ".join(f"{flag} {'yes' if on else 'no'}" for flag, on in ext.items()))
    if "ours-bf16" in args.sides and not ext["avx512_bf16"]:
        print("note: no avx512_bf16 here, so ours-bf16 runs its products in f32 (see its output)")
    print(f"{args.rounds} round(s) of {', '.join(args.sides)}; {args.epochs} epoch(s), {args.threads} threads; "
          f"binary {args.binary}, python {args.python}, data {args.data}, bert {args.bert}")
    load_start = os.getloadavg()
    print("load average at start: " + " ".join(f"{x:.2f}" for x in load_start), flush=True)
    times = {side: [] for side in args.sides}
    peaks = {side: [] for side in args.sides}
    tmp = tempfile.mkdtemp(prefix="mosi-walltime-")
    try:
        index = 0
        for r in range(args.rounds):
            shift = r % len(args.sides)
            for side in args.sides[shift:] + args.sides[:shift]:
                load = os.getloadavg()[0]
                wall, rss, metrics = run(side, args, tmp, index)
                index += 1
                times[side].append(wall)
                peaks[side].append(rss)
                print(f"round {r + 1} {side:<10} {wall:8.1f} s  peak RSS {rss:6.0f} MB  load {load:.2f}  {metrics}",
                      flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = os.getloadavg()
    print("load average at end: " + " ".join(f"{x:.2f}" for x in load_end))
    print(f"\n{'side':<10} {'median s':>9} {'peak RSS MB (max)':>18}  times s, round by round")
    medians = {side: median(times[side]) for side in args.sides}
    for side in args.sides:
        listed = " ".join(f"{t:.1f}" for t in times[side])
        print(f"{side:<10} {medians[side]:9.1f} {max(peaks[side]):18.0f}  {listed}")
    print()
    print(ratio_line("ours f32 / paper", "ours-f32", ["paper"], medians))
    print(ratio_line("ours f32 / best PyTorch f32", "ours-f32", TORCH_F32, medians))
    print(ratio_line("ours bf16 / best PyTorch bf16 autocast", "ours-bf16", TORCH_BF16, medians))
    if "ours-f32" in medians and "ours-bf16" in medians:
        print(f"ours bf16 / ours f32: {medians['ours-bf16'] / medians['ours-f32']:.2f}")


if __name__ == "__main__":
    main()
