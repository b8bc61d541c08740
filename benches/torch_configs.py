"""The PyTorch configurations we time ourselves against, shared by benches/torch_bench.py
(single steps, `cmbert-tui bench --torch`) and benches/torch_mosi.py (a whole MOSI-text run),
so that both measure the same thing (docs/BENCHMARKS.md, "Speed against PyTorch"):

- `paper`: the paper's code: eager attention, the reference's per-tensor Python BertAdam,
  evaluation under no_grad.
- `eager`, `sdpa`: transformers' BertModel with eager or scaled-dot-product attention,
  AdamW(foreach=True), evaluation under inference_mode.
- `eager-bf16`, `sdpa-bf16`: the same under torch.autocast("cpu", dtype=torch.bfloat16).

Every configuration is CM-BERT (tests/reference/cmbert_ref.py) and freezes what ours freezes
(the embeddings and CM-BERT's regressor: param_groups).
"""
import os
import sys
import warnings

import torch
import transformers
from transformers import BertConfig, BertModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from cmbert_ref import BertAdam, CmBert, param_groups, warmup_linear  # noqa: E402

transformers.utils.logging.disable_progress_bar()
# The reference's math.sqrt(torch.norm(...)) warns on every training step.
warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True to a scalar")

CONFIGS = ["paper", "eager", "sdpa", "eager-bf16", "sdpa-bf16"]
LR = 2e-5


def attention(config):
    """The attention implementation of a configuration: eager or sdpa."""
    name = config.partition("-")[0]
    return "eager" if name == "paper" else name


def is_bf16(config):
    return config.endswith("-bf16")


def check(configs):
    """The first configuration not in CONFIGS, as an error message, or None."""
    for config in configs:
        if config not in CONFIGS:
            return f"unknown configuration {config!r}; expected one of {CONFIGS}"
    return None


def build_model(attn, seed, weights=None, size=None, state=None):
    """CM-BERT on BertModel with attention `attn`, zero audio of width 5, its head initialised
    from `seed`; the encoder from the pre-trained directory `weights`, else random of the
    BertConfig keywords `size`; then `state` (a state dict) when given, so that the eager
    and sdpa models of one process start from the same weights."""
    torch.manual_seed(seed)
    if weights:
        cfg = BertConfig.from_pretrained(weights, attn_implementation=attn)
    else:
        cfg = BertConfig(vocab_size=30522, attn_implementation=attn, **size)
    model = CmBert(cfg, "zero", 5)
    if weights:
        model.bert = BertModel.from_pretrained(weights, attn_implementation=attn)
    if state is not None:
        model.load_state_dict(state)
    return model


def optimizer(config, model, t_total, tbert=False):
    """The optimiser of a configuration over the reference's parameter groups (which also
    freeze the embeddings and the regressor): the paper's BertAdam, whose warm-up-linear
    schedule over `t_total` steps is built in, or AdamW(foreach=True) (see `schedule`)."""
    groups = param_groups(model, tbert=tbert, lr=LR)
    if config == "paper":
        return BertAdam(groups, lr=LR, t_total=t_total)
    return torch.optim.AdamW(groups, lr=LR, foreach=True)


def schedule(config, opt, t_total):
    """For a whole run: the paper's warm-up-linear learning rate for AdamW (step it after
    each optimiser step), as BertAdam applies it inside; None for `paper`."""
    if config == "paper":
        return None
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: warmup_linear(step / t_total))


def autocast(config):
    """The precision context: bf16 CPU autocast for the -bf16 configurations, else a no-op."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=is_bf16(config))


def no_grad(config):
    """The paper's code evaluates under no_grad; the other configurations under inference_mode."""
    return torch.no_grad() if config == "paper" else torch.inference_mode()


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
