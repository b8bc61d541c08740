#!/usr/bin/env python3
"""PyTorch's wall time for a paper-preset MOSI-text run, for comparison with
`cmbert-tui train --headless --data DIR --bert DIR` (3 epochs, batch 24, length 50, zero
audio, BERT-Adam with the reference's parameter groups, dev evaluation after each epoch,
test at the end). The model and optimiser are the reference's (tests/reference/cmbert_ref.py).

    python benches/torch_mosi.py --data data/text \
        --bert target/models/all-MiniLM-L6-v2 --threads 2

Prints the time of each epoch (training and dev evaluation), the test time and the total.
Timing only: metrics are printed for a sanity check, not compared.
"""
import argparse
import csv
import os
import sys
import time

import torch
from transformers import BertConfig, BertModel, BertTokenizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from cmbert_ref import BertAdam, CmBert, param_groups  # noqa: E402


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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--bert", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=24)
    p.add_argument("--max-len", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tbert", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    start = time.perf_counter()

    tokenizer = BertTokenizer(os.path.join(args.bert, "vocab.txt"), do_lower_case=True)
    splits = {}
    for name in ("train", "dev", "test"):
        texts, labels = read_split(os.path.join(args.data, f"{name}.tsv"))
        splits[name] = (*encode(tokenizer, texts, args.max_len), labels)

    cfg = BertConfig.from_pretrained(args.bert, attn_implementation="eager")
    model = CmBert(cfg, "zero", 5)
    model.bert.load_state_dict(BertModel.from_pretrained(args.bert, config=cfg).state_dict())
    steps_per_epoch = -(-len(splits["train"][2]) // args.batch)
    optimizer = BertAdam(param_groups(model, tbert=args.tbert), lr=2e-5, t_total=steps_per_epoch * args.epochs)

    def evaluate(name):
        ids, mask, labels = splits[name]
        model.eval()
        scores = []
        with torch.no_grad():
            for i in range(0, len(labels), args.batch):
                audio = torch.zeros(ids[i : i + args.batch].shape[0], args.max_len, 5)
                scores.append(model(ids[i : i + args.batch], mask[i : i + args.batch], audio, args.tbert)[0])
        scores = torch.cat(scores)
        return (scores - labels).abs().mean().item()

    print(f"setup {time.perf_counter() - start:.1f} s", flush=True)
    ids, mask, labels = splits["train"]
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(len(labels))
        for i in range(0, len(labels), args.batch):
            batch = order[i : i + args.batch]
            audio = torch.zeros(len(batch), args.max_len, 5)
            optimizer.zero_grad()
            score = model(ids[batch], mask[batch], audio, args.tbert)[0]
            (0.5 * (score - labels[batch]) ** 2).mean().backward()
            optimizer.step()
        train_s = time.perf_counter() - epoch_start
        dev_mae = evaluate("dev")
        print(
            f"epoch {epoch}: train {train_s:.1f} s, with dev evaluation "
            f"{time.perf_counter() - epoch_start:.1f} s (dev MAE {dev_mae:.3f})",
            flush=True,
        )
    test_start = time.perf_counter()
    test_mae = evaluate("test")
    print(f"test {time.perf_counter() - test_start:.1f} s (test MAE {test_mae:.3f})")
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
