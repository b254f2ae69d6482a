#!/usr/bin/env python3
"""The PyTorch peer of `npm run bench`.

Runs each bench workload the way the standard PyTorch libraries do it, on the
same safetensors weights and the same token ids as Subspace, so the bench can
report peer time / our time from one run on one machine:

- a full forward (every position's logits) for each training step, with plain
  autograd through frozen weights (pyreft, LoFIT, pyvene's DAS trainer);
- one forward per patch for activation patching (TransformerLens'
  per-head sweep), with forward hooks on hook points;
- interventions placed by forward hooks on nn.Modules (pyvene's mechanism).

Protocol: one JSON request per line on stdin, one JSON reply per line on
stdout ({"ok": true, ...} or {"ok": false, "error": ...}); nothing else is
written to stdout. The first line written is a hello with the versions.

    /usr/bin/python3 bench/peer_torch.py --threads 2

OpenBLAS and OpenMP take their thread counts from the environment, so the
caller sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
import time
import traceback
from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True

# ---------------------------------------------------------------------------
# weights and config
# ---------------------------------------------------------------------------

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def load_safetensors(path: str) -> Dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out: Dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[start:end]
        if info["dtype"] == "BF16":
            u16 = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=_DTYPES[info["dtype"]])
        out[name] = torch.from_numpy(arr.astype(np.float32, copy=True).reshape(info["shape"]))
    return out


class Config:
    def __init__(self, folder: str):
        with open(os.path.join(folder, "config.json")) as f:
            c = json.load(f)
        self.family = c["model_type"]
        if self.family == "gpt2":
            self.d = c["n_embd"]
            self.layers = c["n_layer"]
            self.heads = c["n_head"]
            self.kv_heads = self.heads
            self.d_head = self.d // self.heads
            self.d_mlp = c.get("n_inner") or 4 * self.d
            self.eps = c.get("layer_norm_epsilon", 1e-5)
            self.tied = c.get("tie_word_embeddings", True)
        elif self.family in ("llama", "qwen2", "mistral"):
            self.d = c["hidden_size"]
            self.layers = c["num_hidden_layers"]
            self.heads = c["num_attention_heads"]
            self.kv_heads = c.get("num_key_value_heads", self.heads)
            self.d_head = c.get("head_dim") or self.d // self.heads
            self.d_mlp = c["intermediate_size"]
            self.eps = c.get("rms_norm_eps", 1e-6)
            self.theta = c.get("rope_theta", 10000.0)
            self.tied = c.get("tie_word_embeddings", False)
        else:
            raise ValueError(f"peer: model_type {self.family!r} is not supported (gpt2, llama)")
        self.vocab = c["vocab_size"]


# ---------------------------------------------------------------------------
# model: plain nn.Modules with TransformerLens-style hook points
# ---------------------------------------------------------------------------


class HookPoint(nn.Module):
    """Identity module: forward hooks on it read or replace the value (hook_z, hook_resid_post)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def attend(q, k, v, bias):
    # q [B,H,T,dh], k/v [B,H,S,dh]; eager attention, as Hugging Face's GPT-2 and Llama do.
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + bias
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class GPT2Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.ln_1 = nn.LayerNorm(cfg.d, eps=cfg.eps)
        self.c_attn = nn.Linear(cfg.d, 3 * cfg.d)
        self.c_proj = nn.Linear(cfg.d, cfg.d)
        self.ln_2 = nn.LayerNorm(cfg.d, eps=cfg.eps)
        self.c_fc = nn.Linear(cfg.d, cfg.d_mlp)
        self.mlp_proj = nn.Linear(cfg.d_mlp, cfg.d)
        self.hook_z = HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, x, bias, rope=None):
        B, T, _ = x.shape
        H, dh = self.cfg.heads, self.cfg.d_head
        q, k, v = self.c_attn(self.ln_1(x)).split(self.cfg.d, dim=-1)
        split = lambda t: t.view(B, T, H, dh).transpose(1, 2)  # noqa: E731
        z = attend(split(q), split(k), split(v), bias).transpose(1, 2)  # [B,T,H,dh]
        z = self.hook_z(z)
        x = x + self.c_proj(z.reshape(B, T, H * dh))
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return self.hook_resid_post(x)


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        H, Hkv, dh = cfg.heads, cfg.kv_heads, cfg.d_head
        self.input_layernorm = RMSNorm(cfg.d, cfg.eps)
        self.q_proj = nn.Linear(cfg.d, H * dh, bias=False)
        self.k_proj = nn.Linear(cfg.d, Hkv * dh, bias=False)
        self.v_proj = nn.Linear(cfg.d, Hkv * dh, bias=False)
        self.o_proj = nn.Linear(H * dh, cfg.d, bias=False)
        self.post_attention_layernorm = RMSNorm(cfg.d, cfg.eps)
        self.gate_proj = nn.Linear(cfg.d, cfg.d_mlp, bias=False)
        self.up_proj = nn.Linear(cfg.d, cfg.d_mlp, bias=False)
        self.down_proj = nn.Linear(cfg.d_mlp, cfg.d, bias=False)
        self.hook_z = HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, x, bias, rope=None):
        B, T, _ = x.shape
        H, Hkv, dh = self.cfg.heads, self.cfg.kv_heads, self.cfg.d_head
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, H, dh).transpose(1, 2)
        k = self.k_proj(h).view(B, T, Hkv, dh).transpose(1, 2)
        v = self.v_proj(h).view(B, T, Hkv, dh).transpose(1, 2)
        cos, sin = rope
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        g = H // Hkv
        if g > 1:
            k = k.repeat_interleave(g, dim=1)
            v = v.repeat_interleave(g, dim=1)
        z = attend(q, k, v, bias).transpose(1, 2)
        z = self.hook_z(z)
        x = x + self.o_proj(z.reshape(B, T, H * dh))
        h2 = self.post_attention_layernorm(x)
        x = x + self.down_proj(F.silu(self.gate_proj(h2)) * self.up_proj(h2))
        return self.hook_resid_post(x)


class Model(nn.Module):
    def __init__(self, folder: str):
        super().__init__()
        cfg = self.cfg = Config(folder)
        w = load_safetensors(os.path.join(folder, "model.safetensors"))
        self.wte = nn.Embedding(cfg.vocab, cfg.d)
        if cfg.family == "gpt2":
            p = "transformer." if "transformer.wte.weight" in w else ""
            self.wpe = nn.Embedding(w[p + "wpe.weight"].shape[0], cfg.d)
            self.blocks = nn.ModuleList([GPT2Block(cfg) for _ in range(cfg.layers)])
            self.ln_f: nn.Module = nn.LayerNorm(cfg.d, eps=cfg.eps)
            self.wte.weight.data = w[p + "wte.weight"]
            self.wpe.weight.data = w[p + "wpe.weight"]
            for l, b in enumerate(self.blocks):
                q = f"{p}h.{l}."
                b.ln_1.weight.data, b.ln_1.bias.data = w[q + "ln_1.weight"], w[q + "ln_1.bias"]
                b.ln_2.weight.data, b.ln_2.bias.data = w[q + "ln_2.weight"], w[q + "ln_2.bias"]
                # GPT-2's Conv1D stores [in, out]; nn.Linear wants [out, in].
                for lin, name in ((b.c_attn, "attn.c_attn"), (b.c_proj, "attn.c_proj"), (b.c_fc, "mlp.c_fc"), (b.mlp_proj, "mlp.c_proj")):
                    lin.weight.data = w[q + name + ".weight"].t().contiguous()
                    lin.bias.data = w[q + name + ".bias"]
            self.ln_f.weight.data, self.ln_f.bias.data = w[p + "ln_f.weight"], w[p + "ln_f.bias"]
        else:
            self.blocks = nn.ModuleList([LlamaBlock(cfg) for _ in range(cfg.layers)])
            self.ln_f = RMSNorm(cfg.d, cfg.eps)
            self.wte.weight.data = w["model.embed_tokens.weight"]
            names = ["q_proj", "k_proj", "v_proj", "o_proj"]
            for l, b in enumerate(self.blocks):
                q = f"model.layers.{l}."
                b.input_layernorm.weight.data = w[q + "input_layernorm.weight"]
                b.post_attention_layernorm.weight.data = w[q + "post_attention_layernorm.weight"]
                for n in names:
                    getattr(b, n).weight.data = w[q + "self_attn." + n + ".weight"]
                for n in ("gate_proj", "up_proj", "down_proj"):
                    getattr(b, n).weight.data = w[q + "mlp." + n + ".weight"]
            self.ln_f.weight.data = w["model.norm.weight"]
        head = w.get("lm_head.weight")
        self.unembed = self.wte.weight if head is None or cfg.tied else nn.Parameter(head)
        self.requires_grad_(False)  # frozen, as every intervention library keeps the model
        self.eval()

    def forward(self, ids: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits at every position [B, T, V] (Hugging Face's *ForCausalLM forward)."""
        B, T = ids.shape
        if mask is None:
            mask = torch.ones(B, T, dtype=torch.long)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        allowed = causal[None, None] & mask[:, None, None, :].bool()
        bias = torch.zeros(B, 1, T, T).masked_fill(~allowed, torch.finfo(torch.float32).min)
        x = self.wte(ids)
        rope = None
        if self.cfg.family == "gpt2":
            x = x + self.wpe(pos)
        else:
            dh = self.cfg.d_head
            inv = 1.0 / (self.cfg.theta ** (torch.arange(0, dh, 2, dtype=torch.float32) / dh))
            ang = pos[..., None].float() * inv  # [B,T,dh/2]
            emb = torch.cat((ang, ang), dim=-1)[:, None]  # [B,1,T,dh]
            rope = (emb.cos(), emb.sin())
        for b in self.blocks:
            x = b(x, bias, rope)
        return F.linear(self.ln_f(x), self.unembed)


_models: Dict[str, Model] = {}


def model(folder: str) -> Model:
    if folder not in _models:
        _models[folder] = Model(folder)
    return _models[folder]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def clear_peak() -> None:
    """Reset the peak resident size (Linux), so each workload reports its own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def median(xs: List[float]) -> float:
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def lm_loss(logits: torch.Tensor, target_positions: List[List[int]], targets: List[List[int]]) -> torch.Tensor:
    """Hugging Face's causal-LM loss: labels at every position (-100 ignored), shifted by one,
    cross-entropy over the whole [B, T-1, V] block."""
    B, T, V = logits.shape
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b in range(B):
        for p, t in zip(target_positions[b], targets[b]):
            if p >= 0 and t >= 0:
                labels[b, p + 1] = t
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)


def tensor_ids(rows: List[List[int]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long)


# ---------------------------------------------------------------------------
# workloads
# ---------------------------------------------------------------------------


def op_matmul(req):
    M, K, N = req["shape"]
    g = torch.Generator().manual_seed(1)
    a = torch.randn(M, K, generator=g)
    b = torch.randn(K, N, generator=g)
    min_ms = req.get("minMs", 1000)
    torch.matmul(a, b)
    times: List[float] = []
    start = time.perf_counter()
    while len(times) < 3 or (ms_since(start) < min_ms and len(times) < 50):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        times.append(ms_since(t0))
    ms = median(times)
    return {"msPerRun": ms, "gflops": 2 * M * K * N / (ms * 1e6)}


def op_forward(req):
    m = model(req["model"])
    ids = tensor_ids(req["ids"])
    runs = req.get("runs", 3)
    with torch.no_grad():
        logits = m(ids)  # warm-up
        check = logits[:, -1, :8].tolist()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            m(ids)
            times.append(ms_since(t0))
    return {"msPerForward": median(times), "times": times, "check": check}


def orthogonal_rotation(d: int, r: int, seed: int):
    """A seeded [r, d] map kept orthonormal by torch's parametrization (the rotation of LoReFT and DAS)."""
    torch.manual_seed(seed)
    rot = nn.Linear(d, r, bias=False)
    nn.init.orthogonal_(rot.weight)
    return torch.nn.utils.parametrizations.orthogonal(rot)


class LoReFT(nn.Module):
    """pyreft's LoreftIntervention: h + Rᵀ(W h + b − R h), R orthonormal by torch's parametrization."""

    def __init__(self, d: int, r: int, seed: int):
        super().__init__()
        self.rotate = orthogonal_rotation(d, r, seed)
        self.learned_source = nn.Linear(d, r)

    def forward(self, h):
        R = self.rotate.weight  # [r, d], orthonormal rows
        return h + torch.matmul(self.learned_source(h) - torch.matmul(h, R.t()), R)


def train_steps(m: Model, params: List[torch.Tensor], batches, steps: int, lr: float, loss_fn) -> List[float]:
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    times = []
    for s in range(steps):
        b = batches[s % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loss.item()
        times.append(ms_since(t0))
    return times


def op_reft(req):
    """LoReFT at one layer's block output, at one position per sequence; full forward per step."""
    m = model(req["model"])
    layer, rank = req["layer"], req["rank"]
    interv = LoReFT(m.cfg.d, rank, req.get("seed", 42))
    state: Dict[str, Any] = {}

    def hook(_mod, _inp, out):
        pos = state["positions"]
        rows = torch.arange(out.shape[0])
        out = out.clone()
        out[rows, pos] = interv(out[rows, pos])
        return out

    handle = m.blocks[layer].hook_resid_post.register_forward_hook(hook)
    try:

        def loss_fn(b):
            state["positions"] = torch.tensor(b["positions"], dtype=torch.long)
            logits = m(tensor_ids(b["ids"]), tensor_ids(b["mask"]))
            return lm_loss(logits, b["targetPositions"], b["targets"])

        times = train_steps(m, list(interv.parameters()), req["batches"], req["steps"], req.get("lr", 1e-3), loss_fn)
    finally:
        handle.remove()
    return {"stepMs": times}


def op_lofit(req):
    """LoFIT step 1 (a scale per head on every layer, L1) or step 2 (an offset per selected head)."""
    m = model(req["model"])
    cfg = m.cfg
    H, dh = cfg.heads, cfg.d_head
    handles = []
    torch.manual_seed(req.get("seed", 42))
    if req["step"] == 1:
        scales = [nn.Parameter(torch.randn(H, dh) * 1e-3) for _ in range(cfg.layers)]
        params = scales
        for l, A in enumerate(scales):
            handles.append(m.blocks[l].hook_z.register_forward_hook(lambda _m, _i, z, A=A: z * (1 + A)))
        l1 = req.get("l1", 1e-3)
        penalty = lambda: l1 * sum(A.abs().sum() for A in scales)  # noqa: E731
    else:
        heads = req["heads"]
        offsets = [nn.Parameter(torch.randn(dh) * 1e-3) for _ in heads]
        params = offsets
        by_layer: Dict[int, List[Any]] = {}
        for (l, h), v in zip(heads, offsets):
            by_layer.setdefault(l, []).append((h, v))

        def make(items):
            def hook(_m, _i, z):
                z = z.clone()
                for h, v in items:
                    z[:, :, h] = z[:, :, h] + v
                return z

            return hook

        for l, items in by_layer.items():
            handles.append(m.blocks[l].hook_z.register_forward_hook(make(items)))
        penalty = None
    try:

        def loss_fn(b):
            logits = m(tensor_ids(b["ids"]), tensor_ids(b["mask"]))
            loss = lm_loss(logits, b["targetPositions"], b["targets"])
            return loss + penalty() if penalty else loss

        batches = req["batches"]
        train_steps(m, params, batches, 1, req.get("lr", 1e-2), loss_fn)  # warm-up
        times = train_steps(m, params, batches, len(batches), req.get("lr", 1e-2), loss_fn)
    finally:
        for h in handles:
            h.remove()
    return {"epochMs": sum(times), "stepMs": times}


def logit_diff(logits, rows, last, correct, wrong):
    final = logits[rows, last]  # [B, V]
    return (final[rows, correct] - final[rows, wrong]).mean()


def op_patch_heads(req):
    """TransformerLens' per-head activation patching: the corrupted head output patched into the
    clean run, one forward per (layer, head), metric = mean logit difference at the last token.
    `heads` (optional) limits the sweep to those heads of every layer (the caller scales up)."""
    m = model(req["model"])
    cfg = m.cfg
    clean = tensor_ids(req["clean"])
    corrupt = tensor_ids(req["corrupt"])
    mask = tensor_ids(req["mask"]) if req.get("mask") else None
    B = clean.shape[0]
    rows = torch.arange(B)
    last = torch.tensor(req["last"], dtype=torch.long)
    correct = torch.tensor(req["correct"], dtype=torch.long)
    wrong = torch.tensor(req["wrong"], dtype=torch.long)
    heads = req.get("heads") or list(range(cfg.heads))
    with torch.no_grad():
        m(clean, mask)  # warm-up
        t0 = time.perf_counter()
        cache: Dict[int, torch.Tensor] = {}
        hs = [b.hook_z.register_forward_hook(lambda _m, _i, z, l=l: cache.__setitem__(l, z.detach())) for l, b in enumerate(m.blocks)]
        m(corrupt, mask)
        for h in hs:
            h.remove()
        base = logit_diff(m(clean, mask), rows, last, correct, wrong).item()
        ref_ms = ms_since(t0)
        t1 = time.perf_counter()
        out = np.full((cfg.layers, cfg.heads), np.nan)
        for l in range(cfg.layers):
            for h in heads:

                def hook(_m, _i, z, l=l, h=h):
                    z = z.clone()
                    z[:, :, h] = cache[l][:, :, h]
                    return z

                handle = m.blocks[l].hook_z.register_forward_hook(hook)
                try:
                    out[l, h] = logit_diff(m(clean, mask), rows, last, correct, wrong).item()
                finally:
                    handle.remove()
        patch_ms = ms_since(t1)
    measured = cfg.layers * len(heads)
    return {
        "refMs": ref_ms,
        "patchMs": patch_ms,
        "measuredPatches": measured,
        "msPerPatch": patch_ms / measured,
        "sweepMs": ref_ms + patch_ms / measured * cfg.layers * cfg.heads,
        "clean": base,
        "effects": np.where(np.isnan(out), None, out).tolist(),
    }


class LowRankRotatedSpace(nn.Module):
    """pyvene's LowRankRotatedSpaceIntervention: base + Rᵀ(R source − R base), R orthonormal."""

    def __init__(self, d: int, r: int, seed: int):
        super().__init__()
        self.rotate = orthogonal_rotation(d, r, seed)

    def forward(self, base, source):
        R = self.rotate.weight  # [r, d]
        return base + torch.matmul(torch.matmul(source - base, R.t()), R)


def op_das(req):
    """DAS training step with pyvene's recipe: a forward of the source run for its activations, a
    full forward of the base run with the interchange at one layer and position, plain autograd."""
    m = model(req["model"])
    layer = req["layer"]
    site = req.get("site", "block_output")
    if site != "block_output":
        raise ValueError(f"peer: DAS site {site!r} is not supported (block_output)")
    interv = LowRankRotatedSpace(m.cfg.d, req["rank"], req.get("seed", 42))
    state: Dict[str, Any] = {}

    def read(_mod, _inp, out):
        state["source"] = out

    def write(_mod, _inp, out):
        rows = torch.arange(out.shape[0])
        src = state["source"][rows, state["sourcePositions"]]
        out = out.clone()
        out[rows, state["basePositions"]] = interv(out[rows, state["basePositions"]], src)
        return out

    point = m.blocks[layer].hook_resid_post

    def loss_fn(b):
        state["basePositions"] = torch.tensor(b["basePositions"], dtype=torch.long)
        state["sourcePositions"] = torch.tensor(b["sourcePositions"], dtype=torch.long)
        h = point.register_forward_hook(read)
        try:
            m(tensor_ids(b["source"]), tensor_ids(b["sourceMask"]))
        finally:
            h.remove()
        h = point.register_forward_hook(write)
        try:
            logits = m(tensor_ids(b["base"]), tensor_ids(b["baseMask"]))
        finally:
            h.remove()
        # pyvene's DAS recipe: cross-entropy of the counterfactual label against the logits
        # at the position that predicts it (no shifted labels: it is the prompt's last).
        rows = torch.arange(logits.shape[0])
        pos = torch.tensor([p[0] for p in b["targetPositions"]], dtype=torch.long)
        labels = torch.tensor([t[0] for t in b["targets"]], dtype=torch.long)
        return F.cross_entropy(logits[rows, pos], labels)

    times = train_steps(m, list(interv.parameters()), req["batches"], req["steps"], req.get("lr", 1e-3), loss_fn)
    return {"stepMs": times}


OPS = {
    "matmul": op_matmul,
    "forward": op_forward,
    "reft": op_reft,
    "lofit": op_lofit,
    "patch_heads": op_patch_heads,
    "das": op_das,
}


def blas_library() -> str:
    """The BLAS shared library this process mapped (after a product has run)."""
    torch.matmul(torch.ones(64, 64), torch.ones(64, 64))
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        return ", ".join(sorted(os.path.realpath(p) for p in libs if p.startswith("/"))) or "none found"
    except OSError:
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = sys.stdout

    def send(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    send({"ok": True, "hello": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library(), "python": sys.version.split()[0]})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            clear_peak()
            t0 = time.perf_counter()
            res = OPS[req["op"]](req)
            res.update({"ok": True, "wallMs": ms_since(t0), "peakRssBytes": peak_rss_bytes()})
            send(res)
        except Exception as e:  # noqa: BLE001 - reported to the caller
            send({"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)})


if __name__ == "__main__":
    main()
