#!/usr/bin/env python3
"""PyTorch's wall time for a paper-preset MOSI-text run, for comparison with
`cmbert-tui train --headless --data DIR --bert DIR` (3 epochs, batch 24, length 50, zero
audio, the embeddings and the regressor frozen, dev evaluation after each epoch, test at the
end), in one of the configurations of benches/torch_configs.py (shared with
`cmbert-tui bench --torch`; docs/BENCHMARKS.md, "Speed against PyTorch"):

- `paper` (the default): the reference's model and BertAdam (tests/reference/cmbert_ref.py).
- `eager`, `sdpa`: BertModel with eager or SDPA attention, AdamW(foreach=True) over the same
  parameter groups with the paper's warm-up-linear schedule, evaluation under inference_mode.
- `eager-bf16`, `sdpa-bf16`: the same under torch.autocast("cpu", dtype=torch.bfloat16).

    python benches/torch_mosi.py --data data/text \
        --bert target/models/all-MiniLM-L6-v2 --threads 2 [--config sdpa-bf16]

Prints the time of each epoch (training and dev evaluation), the test time and the total.
Timing only: the test metrics are printed for a sanity check, not compared (the model tested
is the last epoch's). scripts/mosi-walltime.py runs this beside ours, alternating.
"""
import argparse
import csv
import os
import sys
import time

import torch
from transformers import BertTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_configs import CONFIGS, attention, autocast, build_model, no_grad, optimizer, schedule  # noqa: E402


def read_split(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r["text"] for r in rows], torch.tensor([float(r["label"]) for r in rows])


def encode(tokenizer, texts, max_len):
    ids = torch.zeros(len(texts), max_len, dtype=torch.long)
    mask = torch.zeros(len(texts), max_len)
    for i, text in enumerate(texts):
        tokens = ["[CLS]"] + tokenizer.tokenize(text)[: max_len - 2] + ["[SEP]"]
        ids[i, : len(tokens)] = torch.tensor(tokenizer.convert_tokens_to_ids(tokens))
        mask[i, : len(tokens)] = 1
    return ids, mask


def metrics(scores, labels):
    """Acc2, Acc7, MAE and Corr as docs/MODEL.md §5 defines them (torch.round rounds half to
    even, as NumPy does)."""
    acc2 = ((scores > 0) == (labels > 0)).float().mean().item()
    classes = lambda v: torch.round(v.clamp(-3, 3))  # noqa: E731
    acc7 = (classes(scores) == classes(labels)).float().mean().item()
    mae = (scores - labels).abs().mean().item()
    corr = torch.corrcoef(torch.stack([scores, labels]))[0, 1].item()
    return f"Acc2 {100 * acc2:.1f} Acc7 {100 * acc7:.1f} MAE {mae:.3f} Corr {corr:.3f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="MOSI-text directory: train.tsv, dev.tsv, test.tsv")
    p.add_argument("--bert", required=True, help="a pre-trained BERT directory (config.json, vocab.txt, weights)")
    p.add_argument("--config", choices=CONFIGS, default="paper")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=24)
    p.add_argument("--max-len", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tbert", action="store_true")
    args = p.parse_args()
    needed = [os.path.join(args.data, f"{name}.tsv") for name in ("train", "dev", "test")]
    needed += [os.path.join(args.bert, name) for name in ("config.json", "vocab.txt")]
    missing = [path for path in needed if not os.path.isfile(path)]
    if missing:
        p.error(f"{missing[0]} does not exist (--data needs train.tsv, dev.tsv and test.tsv; "
                "--bert a BERT directory with config.json, vocab.txt and its weights)")
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    tokenizer = BertTokenizer(os.path.join(args.bert, "vocab.txt"), do_lower_case=True)
    splits = {}
    for name in ("train", "dev", "test"):
        texts, labels = read_split(os.path.join(args.data, f"{name}.tsv"))
        splits[name] = (*encode(tokenizer, texts, args.max_len), labels)

    model = build_model(attention(args.config), seed=42, weights=args.bert)
    steps_per_epoch = -(-len(splits["train"][2]) // args.batch)
    t_total = steps_per_epoch * args.epochs
    opt = optimizer(args.config, model, t_total, tbert=args.tbert)
    lr_schedule = schedule(args.config, opt, t_total)

    def evaluate(name):
        ids, mask, labels = splits[name]
        model.eval()
        scores = []
        with no_grad(args.config), autocast(args.config):
            for i in range(0, len(labels), args.batch):
                audio = torch.zeros(ids[i : i + args.batch].shape[0], args.max_len, 5)
                scores.append(model(ids[i : i + args.batch], mask[i : i + args.batch], audio, args.tbert)[0].float())
        return torch.cat(scores), labels

    setup_s = time.perf_counter() - start
    print(f"config {args.config}, {torch.get_num_threads()} threads; setup {setup_s:.1f} s", flush=True)
    ids, mask, labels = splits["train"]
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(len(labels))
        for i in range(0, len(labels), args.batch):
            batch = order[i : i + args.batch]
            audio = torch.zeros(len(batch), args.max_len, 5)
            opt.zero_grad(set_to_none=True)
            with autocast(args.config):
                score = model(ids[batch], mask[batch], audio, args.tbert)[0]
            (0.5 * (score.float() - labels[batch]) ** 2).mean().backward()
            opt.step()
            if lr_schedule is not None:
                lr_schedule.step()
        train_s = time.perf_counter() - epoch_start
        scores, dev_labels = evaluate("dev")
        print(
            f"epoch {epoch}: train {train_s:.1f} s, with dev evaluation "
            f"{time.perf_counter() - epoch_start:.1f} s (dev MAE {(scores - dev_labels).abs().mean().item():.3f})",
            flush=True,
        )
    test_start = time.perf_counter()
    scores, test_labels = evaluate("test")
    print(f"test {time.perf_counter() - test_start:.1f} s (test {metrics(scores, test_labels)})")
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
