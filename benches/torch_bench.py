#!/usr/bin/env python3
"""PyTorch timings for `cmbert-tui bench`: the same CM-BERT (tests/reference/cmbert_ref.py on
transformers' BertModel), batch and training step (forward, backward, optimiser) as our bench,
in several configurations, so that ours is compared with the best PyTorch and not only with
the paper's code (docs/BENCHMARKS.md, "Speed against PyTorch"):

- `paper`: the paper's code: eager attention, the reference's per-tensor Python BertAdam.
- `eager`, `sdpa`: BertModel with eager or scaled-dot-product attention, AdamW(foreach=True),
  forward under inference_mode.
- `eager-bf16`, `sdpa-bf16`: the same under torch.autocast("cpu", dtype=torch.bfloat16).

Every configuration freezes what ours freezes (the embeddings and CM-BERT's regressor:
param_groups). Driven over stdin/stdout so that the Rust bench can alternate A/B in one
invocation. The first line is JSON: {"ready": true, ...the machine...} or {"error": "..."};
then each line "OP CONFIG" (OP forward or train) runs one and answers {"seconds": S} (or
{"error": "..."}); "quit" ends.
Standalone use: python benches/torch_bench.py --size minilm --threads 2 --iters 5
"""
import argparse
import json
import os
import sys
import time
import warnings

try:
    import torch
    import transformers
    from transformers import BertConfig, BertModel
    transformers.utils.logging.disable_progress_bar()
except ImportError as err:  # one line for the Rust side to report, not a traceback
    print(json.dumps({"error": f"{err} (install torch and transformers for {sys.executable})"}), flush=True)
    sys.exit(1)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from cmbert_ref import BertAdam, CmBert, param_groups  # noqa: E402

# The reference's math.sqrt(torch.norm(...)) warns on every training step.
warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True to a scalar")

SIZES = {
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),
}
CONFIGS = ["paper", "eager", "sdpa", "eager-bf16", "sdpa-bf16"]


def machine():
    bf16 = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "mkldnn_bf16": bool(bf16()) if bf16 else None,
        "threads": torch.get_num_threads(),
    }


def build(args, attn, weights):
    torch.manual_seed(0)
    if args.weights:
        cfg = BertConfig.from_pretrained(args.weights, attn_implementation=attn)
    else:
        cfg = BertConfig(vocab_size=30522, attn_implementation=attn, **SIZES[args.size])
    model = CmBert(cfg, "zero", 5)
    if args.weights:
        model.bert = BertModel.from_pretrained(args.weights, attn_implementation=attn)
    if weights is not None:  # the eager and sdpa models start from the same weights
        model.load_state_dict(weights)
    return model


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
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        print(json.dumps({"error": f"unknown configuration {unknown[0]!r}; expected one of {CONFIGS}"}), flush=True)
        sys.exit(1)
    torch.set_num_threads(args.threads)
    eager = build(args, "eager", None)
    models = {"eager": eager}
    if any(c.startswith("sdpa") for c in configs):
        models["sdpa"] = build(args, "sdpa", eager.state_dict())
    optimizers = {}
    if "paper" in configs:
        optimizers["paper"] = BertAdam(param_groups(eager), lr=2e-5, t_total=1000)
    for attn, model in models.items():
        if any(c.split("-")[0] == attn for c in configs):
            optimizers[attn] = torch.optim.AdamW(param_groups(model), lr=2e-5, foreach=True)

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
        attn, _, precision = config.partition("-")
        attn = "eager" if attn == "paper" else attn
        model = models[attn]
        optimizer = optimizers[config if config == "paper" else attn]
        cast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
        return model, optimizer, cast

    def forward(config):
        model, _, cast = parts(config)
        model.eval()
        # The paper's code evaluates under no_grad; the best configuration under inference_mode.
        guard = torch.no_grad() if config == "paper" else torch.inference_mode()
        with guard, cast:
            model(ids, mask, audio)

    def train(config):
        model, optimizer, cast = parts(config)
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with cast:
            score = model(ids, mask, audio)[0]
        (0.5 * (score.float() - labels) ** 2).mean().backward()
        optimizer.step()

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
