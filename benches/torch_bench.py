#!/usr/bin/env python3
"""PyTorch timings for `cmbert-tui bench`: the same CM-BERT (tests/reference/cmbert_ref.py),
batch and training step (forward, backward, the reference's BertAdam) as our bench.

Driven over stdin/stdout so that the Rust bench can alternate A/B in one invocation:
each line "forward" or "train" runs one and answers the seconds it took; "quit" ends.
Standalone use: python benches/torch_bench.py --size minilm --threads 2 --iters 5
"""
import argparse
import os
import sys
import time

import torch
from transformers import BertConfig

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from cmbert_ref import BertAdam, CmBert, param_groups  # noqa: E402

SIZES = {
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", choices=SIZES, required=True)
    p.add_argument("--batch", type=int, default=24)
    p.add_argument("--len", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=0, help="standalone: run N of each and print medians")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, attn_implementation="eager", **SIZES[args.size])
    model = CmBert(cfg, "zero", 5)
    optimizer = BertAdam(param_groups(model), lr=2e-5, t_total=1000)
    ids = torch.randint(5, cfg.vocab_size, (args.batch, args.len))
    mask = torch.zeros(args.batch, args.len)
    for b in range(args.batch):
        n = 10 + (b * 7) % (args.len - 9)
        mask[b, :n] = 1
    ids = ids * mask.long()
    audio = torch.randn(args.batch, args.len, 5)
    labels = torch.randn(args.batch)

    def forward():
        model.eval()
        with torch.no_grad():
            model(ids, mask, audio)

    def train():
        model.train()
        optimizer.zero_grad()
        score = model(ids, mask, audio)[0]
        (0.5 * (score - labels) ** 2).mean().backward()
        optimizer.step()

    ops = {"forward": forward, "train": train}

    def timed(op):
        start = time.perf_counter()
        ops[op]()
        return time.perf_counter() - start

    if args.iters:
        for op in ops:
            times = sorted(timed(op) for _ in range(args.iters))
            print(f"{args.size} {op}: median {times[len(times) // 2]:.3f} s")
        return
    print("ready", flush=True)
    for line in sys.stdin:
        op = line.strip()
        if op == "quit":
            break
        print(f"{timed(op):.6f}", flush=True)


if __name__ == "__main__":
    main()
