"""CM-BERT in PyTorch, written from the behaviour docs/MODEL.md describes (§3, §4 and §7),
on top of `transformers`' BertModel. Used by make_fixtures.py (golden values) and
benches/torch_bench.py (PyTorch timings). Attribute names follow the reference
implementation's state dict (`BertFinetun.*`, `classifier.*`)."""
import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertModel

PROJ = 30  # k in docs/MODEL.md §3


class FusionHead(nn.Module):
    """docs/MODEL.md §3, steps 1-9. Attribute names follow the reference's state dict."""

    def __init__(self, d, audio_dim, cls_audio):
        super().__init__()
        self.proj_t = nn.Conv1d(d, PROJ, kernel_size=1, bias=False)
        self.proj_a = nn.Conv1d(audio_dim, PROJ, kernel_size=1, bias=False)
        self.text_weight_1 = nn.Parameter(torch.ones(1))
        self.audio_weight_1 = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))
        self.dense = nn.Linear(d, d)
        self.LayerNorm1 = nn.LayerNorm(d, eps=1e-12)
        self.cls_mode = cls_audio
        if cls_audio == "learned":
            bound = 1 / math.sqrt(audio_dim)
            self.cls_audio = nn.Parameter(torch.empty(audio_dim).uniform_(-bound, bound))

    def audio_with_cls_slot(self, audio, mask):
        words_only = audio.clone()
        words_only[:, 0] = 0
        if self.cls_mode == "zero":
            return words_only
        if self.cls_mode == "learned":
            slot = self.cls_audio.expand(audio.shape[0], -1)
        else:  # mean over word positions: real tokens other than [CLS] and [SEP]
            lengths = mask.sum(1).long()
            word = torch.zeros_like(mask)
            for b, n in enumerate(lengths.tolist()):
                word[b, 1 : n - 1] = 1
            slot = (audio * word[:, :, None]).sum(1) / word.sum(1, keepdim=True).clamp(min=1)
        out = words_only.clone()
        out[:, 0] = slot
        return out

    def forward(self, hidden, audio, mask):
        text = self.proj_t(hidden.transpose(1, 2))  # [B, k, L]
        # math.sqrt of a tensor yields a Python float: the norm is a constant.
        text = text / math.sqrt(torch.norm(text))
        aud = self.proj_a(self.audio_with_cls_slot(audio, mask).transpose(1, 2))
        alpha_t = F.relu(torch.bmm(text.transpose(1, 2), text))
        beta_a = F.relu(torch.bmm(aud.transpose(1, 2), aud))
        w_f = self.text_weight_1 * alpha_t + self.audio_weight_1 * beta_a + self.bias
        pad = 1.0 - mask
        double_mask = -10000.0 * (pad[:, :, None] + pad[:, None, :])
        w_m = F.softmax(w_f + double_mask, dim=-1)
        fused = torch.bmm(w_m, hidden) + hidden
        y = self.LayerNorm1(self.dense(fused))
        return y[:, 0], (alpha_t, beta_a, w_f, w_m)


class CmBert(nn.Module):
    def __init__(self, cfg, cls_audio="zero", audio_dim=5):
        super().__init__()
        self.bert = BertModel(cfg)
        self.BertFinetun = FusionHead(cfg.hidden_size, audio_dim, cls_audio)
        self.classifier = nn.Linear(cfg.hidden_size, 1)

    def forward(self, ids, mask, audio, tbert=False):
        hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        if tbert:
            pooled = self.bert.pooler(hidden)
            return self.classifier(pooled).squeeze(1), hidden, None
        cls, mats = self.BertFinetun(hidden, audio, mask)
        return self.classifier(cls).squeeze(1), hidden, mats


def warmup_linear(x, warmup=0.1):
    return x / warmup if x < warmup else max(1.0 - x, 0.0)


class BertAdam(torch.optim.Optimizer):
    """BERT's Adam as the reference uses it (docs/MODEL.md §4): per-tensor clipping, no bias
    correction, weight decay added to the update, warm-up-linear schedule per parameter."""

    def __init__(self, params, lr, t_total, warmup=0.1, weight_decay=0.01, max_grad_norm=1.0):
        defaults = dict(lr=lr, t_total=t_total, warmup=warmup, weight_decay=weight_decay,
                        max_grad_norm=max_grad_norm)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                torch.nn.utils.clip_grad_norm_(p, group["max_grad_norm"])
                m, v, g = state["m"], state["v"], p.grad
                m.mul_(0.9).add_(g, alpha=0.1)
                v.mul_(0.999).addcmul_(g, g, value=0.001)
                update = m / (v.sqrt() + 1e-6)
                if group["weight_decay"] > 0:
                    update += group["weight_decay"] * p
                lr = group["lr"] * warmup_linear(state["step"] / group["t_total"], group["warmup"])
                p.add_(-lr * update)
                state["step"] += 1


def param_groups(model, tbert=False, lr=2e-5, head_lr=0.01, wd=0.01):
    """The reference's three groups; embeddings (and CM-BERT's regressor) frozen."""
    decay, no_decay, head = [], [], []
    for name, p in model.named_parameters():
        if name.startswith("bert.embeddings.") or (not tbert and name.startswith("classifier.")):
            p.requires_grad_(False)
            continue
        if "bias" in name or (name.startswith("bert.") and "LayerNorm.weight" in name):
            no_decay.append(p)
        elif name.startswith("BertFinetun."):
            head.append(p)
        else:
            decay.append(p)
    return [dict(params=decay, lr=lr, weight_decay=wd), dict(params=no_decay, lr=lr, weight_decay=0.0),
            dict(params=head, lr=head_lr, weight_decay=wd)]
