#!/usr/bin/env python3
"""PyTorch timings for `cmbert-tui bench`: the same CM-BERT (tests/reference/cmbert_ref.py on
transformers' BertModel), batch and training step (forward, backward, optimiser) as our bench,
in several configurations, so that ours is compared with the best PyTorch and not only with
the paper's code (docs/BENCHMARKS.md, "Speed against PyTorch"): `paper`, `eager`, `sdpa`,
`eager-bf16` and `sdpa-bf16`, built by benches/torch_configs.py (shared with
benches/torch_mosi.py, which times a whole MOSI-text run).

Driven over stdin/stdout so that the Rust bench can alternate A/B in one invocation. The
first line is JSON: {"ready": true, ...the machine...} or {"error": "..."}; then each line
"OP CONFIG" (OP forward or train) runs one and answers {"seconds": S} (or {"error": "..."});
"quit" ends.
Standalone use: python benches/torch_bench.py --size minilm --threads 2 --iters 5
"""
import argparse
import json
import os
import sys
import time

try:
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_configs import CONFIGS, attention, autocast, build_model, check, machine, no_grad, optimizer
except ImportError as err:  # one line for the Rust side to report, not a traceback
    print(json.dumps({"error": f"{err} (install torch and transformers for {sys.executable})"}), flush=True)
    sys.exit(1)

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
    p.add_argument("--configs", default=",".join(CONFIGS[:3]), help="comma-separated, of " + ", ".join(CONFIGS))
    p.add_argument("--weights", help="a pre-trained BERT directory for the encoder, sized by its config "
                   "(else random weights of --size)")
    p.add_argument("--iters", type=int, default=0, help="standalone: run N of each and print medians")
    args = p.parse_args()
    configs = args.configs.split(",")
    error = check(configs)
    if error:
        print(json.dumps({"error": error}), flush=True)
        sys.exit(1)
    torch.set_num_threads(args.threads)

    def build(attn, state):
        return build_model(attn, seed=0, weights=args.weights, size=SIZES[args.size], state=state)

    eager = build("eager", None)
    models = {"eager": eager}
    if any(attention(c) == "sdpa" for c in configs):
        models["sdpa"] = build("sdpa", eager.state_dict())
    optimizers = {}
    if "paper" in configs:
        optimizers["paper"] = optimizer("paper", eager, t_total=1000)
    for attn, model in models.items():
        if any(c != "paper" and attention(c) == attn for c in configs):
            optimizers[attn] = optimizer(attn, model, t_total=1000)

    torch.manual_seed(0)
    ids = torch.randint(5, 30522, (args.batch, args.len))
    mask = torch.zeros(args.batch, args.len)
    for b in range(args.batch):
        n = 10 + (b * 7) % (args.len - 9)
        mask[b, :n] = 1
    ids = ids * mask.long()
    audio = torch.randn(args.batch, args.len, 5)
    labels = torch.randn(args.batch)

    def parts(config):
        model = models[attention(config)]
        opt = optimizers[config if config == "paper" else attention(config)]
        return model, opt, autocast(config)

    def forward(config):
        model, _, cast = parts(config)
        model.eval()
        with no_grad(config), cast:
            model(ids, mask, audio)

    def train(config):
        model, opt, cast = parts(config)
        model.train()
        opt.zero_grad(set_to_none=True)
        with cast:
            score = model(ids, mask, audio)[0]
        (0.5 * (score.float() - labels) ** 2).mean().backward()
        opt.step()

    ops = {"forward": forward, "train": train}

    def timed(op, config):
        start = time.perf_counter()
        ops[op](config)
        return time.perf_counter() - start

    if args.iters:
        print(json.dumps(machine()))
        for config in configs:
            for op in ops:
                times = sorted(timed(op, config) for _ in range(args.iters))
                print(f"{args.size} {config} {op}: median {times[len(times) // 2]:.3f} s")
        return
    print(json.dumps({"ready": True, "configs": configs, **machine()}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["quit"]:
            break
        if len(words) != 2 or words[0] not in ops or words[1] not in configs:
            print(json.dumps({"error": f"expected 'OP CONFIG' (OP forward or train, CONFIG one of {configs}), got {line.strip()!r}"}), flush=True)
            continue
        try:
            print(json.dumps({"seconds": timed(*words)}), flush=True)
        except Exception as err:  # noqa: BLE001 - reported to the Rust side, which stops
            print(json.dumps({"error": f"{words[1]} {words[0]}: {err}"}), flush=True)


if __name__ == "__main__":
    main()
