#!/usr/bin/env python3
"""Generate (or verify) the PyTorch reference fixtures under tests/fixtures/reference.

Each case is a tiny, seeded, random model written as an ordinary Hugging Face
folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json)
plus the reference outputs (expected.safetensors, expected.json) computed by
the plain-torch forwards in torch_reference.py.

Usage:
    python3 tests/reference/make_reference.py             # (re)write fixtures
    python3 tests/reference/make_reference.py --check     # verify committed fixtures
    python3 tests/reference/make_reference.py --out DIR   # write elsewhere

Requires torch + numpy (Debian's python3-torch).  If the ``python3`` on PATH
cannot import torch, the script re-executes itself with /usr/bin/python3.
"""

from __future__ import annotations

import os
import sys

try:
    import torch  # noqa: F401
except ImportError:  # pragma: no cover - environment dependent
    _sys_py = "/usr/bin/python3"
    if (
        os.environ.get("SUBSPACE_REFERENCE_REEXEC") != "1"
        and os.path.exists(_sys_py)
        and os.path.realpath(sys.executable) != os.path.realpath(_sys_py)
    ):
        os.environ["SUBSPACE_REFERENCE_REEXEC"] = "1"
        os.execv(_sys_py, [_sys_py] + sys.argv)
    sys.stderr.write("make_reference.py: PyTorch is required (apt install python3-torch)\n")
    sys.exit(2)

import argparse
import json
import shutil
import tempfile
from typing import Dict, List

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep tests/reference free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "reference")

SCHEMA_VERSION = 1
LENGTHS = [7, 5, 3]
SELF_CHECK_TOL = 1e-5  # padded-vs-single logits at real positions
CHECK_ATOL = 1e-6  # --check: |a - b| <= atol + rtol * |b|
CHECK_RTOL = 1e-6
SUGGESTED_RUNTIME_TOL = {"atol": 1e-4, "rtol": 1e-4}
POSITION_IDS_RULE = "clamp(cumsum(attention_mask, -1) - 1, min=0)"
MASK_RULE = (
    "query i may attend key j iff j <= i and attention_mask[j] == 1; "
    "disallowed scores are set to finfo(compute_dtype).min before softmax "
    "(fully masked rows become uniform, never NaN)"
)
NOTES = [
    "Only positions with attention_mask == 1 are meaningful; values at padding "
    "query positions are well defined (see mask_rule) but are not a contract.",
    "For real query rows, attention_pattern is exactly 0 at padding key columns.",
    "Hugging Face equivalence: outputs equal HF's model(input_ids, attention_mask, "
    "position_ids=clamp(cumsum(mask)-1, 0)) in eval mode. Plain HF forward without "
    "position_ids uses arange positions, which differs for left padding.",
    "Reference computed in float64 from the float32 weights, stored as float32.",
]

# ---------------------------------------------------------------------------
# case definitions
# ---------------------------------------------------------------------------


def gpt2_config(*, d, n_layer, n_head, n_pos, vocab, eps, tied, bos, eos):
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": bos,
        "embd_pdrop": 0.1,
        "eos_token_id": eos,
        "initializer_range": 0.02,
        "layer_norm_epsilon": eps,
        "model_type": "gpt2",
        "n_embd": d,
        "n_head": n_head,
        "n_inner": None,
        "n_layer": n_layer,
        "n_positions": n_pos,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "tie_word_embeddings": tied,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": vocab,
    }


def llama_family_config(
    *, model_type, d, n_layer, heads, kv_heads, inter, vocab, eps, theta, tied, bos, eos,
    max_pos=64, head_dim=None
):
    arch = {
        "llama": "LlamaForCausalLM",
        "qwen2": "Qwen2ForCausalLM",
        "mistral": "MistralForCausalLM",
    }[model_type]
    cfg = {
        "architectures": [arch],
        "attention_dropout": 0.0,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "hidden_act": "silu",
        "hidden_size": d,
        "initializer_range": 0.02,
        "intermediate_size": inter,
        "max_position_embeddings": max_pos,
        "model_type": model_type,
        "num_attention_heads": heads,
        "num_hidden_layers": n_layer,
        "num_key_value_heads": kv_heads,
        "rms_norm_eps": eps,
        "rope_theta": float(theta),
        "tie_word_embeddings": tied,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": vocab,
    }
    if head_dim is not None:
        cfg["head_dim"] = head_dim
    if model_type == "llama":
        cfg.update(attention_bias=False, mlp_bias=False, pretraining_tp=1, rope_scaling=None)
    elif model_type == "qwen2":
        cfg.update(max_window_layers=n_layer, rope_scaling=None, sliding_window=4096, use_sliding_window=False)
    elif model_type == "mistral":
        cfg.update(sliding_window=None)
    return cfg


# Tokenizer layouts. "words" are "t0".."t{n-1}"; specials are placed first
# (Llama-2 / Mistral style: <unk>=0, <s>=1, </s>=2) or last (GPT-2 / Qwen2 /
# Llama-3 style).
CASES: List[Dict] = [
    {
        "name": "gpt2-tied",
        "seed": 1001,
        "description": "GPT-2, tied embeddings, 4 heads",
        "n_words": 64,
        "specials": ["<|endoftext|>"],
        "specials_first": False,
        "tok": {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "unk": "<|endoftext|>", "pad": "<|endoftext|>"},
        "config": lambda ids: gpt2_config(
            d=32, n_layer=2, n_head=4, n_pos=32, vocab=65, eps=1e-5, tied=True,
            bos=ids["<|endoftext|>"], eos=ids["<|endoftext|>"],
        ),
    },
    {
        "name": "gpt2-untied",
        "seed": 1002,
        "description": "GPT-2, separate lm_head, 2 heads of 16, layer_norm_epsilon 1e-6",
        "n_words": 71,
        "specials": ["<|endoftext|>"],
        "specials_first": False,
        "tok": {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "unk": "<|endoftext|>", "pad": "<|endoftext|>"},
        "config": lambda ids: gpt2_config(
            d=32, n_layer=2, n_head=2, n_pos=24, vocab=72, eps=1e-6, tied=False,
            bos=ids["<|endoftext|>"], eos=ids["<|endoftext|>"],
        ),
    },
    {
        "name": "llama-gqa",
        "seed": 1003,
        "description": "Llama, GQA 4 query / 2 kv heads, untied, rope_theta 1e4, 3 layers, no head_dim key",
        "n_words": 64,
        "specials": ["<unk>", "<s>", "</s>"],
        "specials_first": True,
        "tok": {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "pad": "<unk>"},
        "config": lambda ids: llama_family_config(
            model_type="llama", d=32, n_layer=3, heads=4, kv_heads=2, inter=64, vocab=67,
            eps=1e-6, theta=10000.0, tied=False, bos=ids["<s>"], eos=ids["</s>"],
        ),
    },
    {
        "name": "llama-tied",
        "seed": 1004,
        "description": "Llama, tied embeddings, MHA, rope_theta 5e5, explicit head_dim 16 != hidden/heads (8)",
        "n_words": 64,
        "specials": ["<|begin_of_text|>", "<|end_of_text|>"],
        "specials_first": False,
        "tok": {
            "bos": "<|begin_of_text|>", "eos": "<|end_of_text|>",
            "unk": "<|end_of_text|>", "pad": "<|end_of_text|>",
        },
        "config": lambda ids: llama_family_config(
            model_type="llama", d=32, n_layer=2, heads=4, kv_heads=4, inter=64, vocab=66,
            eps=1e-5, theta=500000.0, tied=True, head_dim=16,
            bos=ids["<|begin_of_text|>"], eos=ids["<|end_of_text|>"],
        ),
    },
    {
        "name": "qwen2-bias",
        "seed": 1005,
        "description": "Qwen2, q/k/v biases, GQA 4/2, rope_theta 1e6, model vocab 96 > tokenizer vocab 67",
        "n_words": 64,
        "specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        "specials_first": False,
        "tok": {"bos": None, "eos": "<|endoftext|>", "unk": "<|endoftext|>", "pad": "<|endoftext|>"},
        "config": lambda ids: llama_family_config(
            model_type="qwen2", d=32, n_layer=2, heads=4, kv_heads=2, inter=80, vocab=96,
            eps=1e-6, theta=1000000.0, tied=False,
            bos=ids["<|endoftext|>"], eos=ids["<|endoftext|>"],
        ),
    },
    {
        "name": "mistral",
        "seed": 1006,
        "description": "Mistral, GQA 8 query / 2 kv heads (head_dim 4), untied, rope_theta 1e6",
        "n_words": 64,
        "specials": ["<unk>", "<s>", "</s>"],
        "specials_first": True,
        "tok": {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "pad": "<unk>"},
        "config": lambda ids: llama_family_config(
            model_type="mistral", d=32, n_layer=2, heads=8, kv_heads=2, inter=64, vocab=67,
            eps=1e-5, theta=1000000.0, tied=False, bos=ids["<s>"], eos=ids["</s>"],
        ),
    },
]


# ---------------------------------------------------------------------------
# tokenizer files
# ---------------------------------------------------------------------------


def build_vocab(case) -> List[str]:
    words = [f"t{i}" for i in range(case["n_words"])]
    specials = list(case["specials"])
    return specials + words if case["specials_first"] else words + specials


def tokenizer_json(case, vocab: List[str]) -> Dict:
    ids = {tok: i for i, tok in enumerate(vocab)}
    added = [
        {
            "id": ids[s],
            "content": s,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for s in sorted(case["specials"], key=lambda s: ids[s])
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": ids, "unk_token": case["tok"]["unk"]},
    }


def tokenizer_config_json(case, vocab: List[str], max_len: int) -> Dict:
    ids = {tok: i for i, tok in enumerate(vocab)}
    decoder = {
        str(ids[s]): {
            "content": s,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for s in sorted(case["specials"], key=lambda s: ids[s])
    }
    tok = case["tok"]
    return {
        "added_tokens_decoder": decoder,
        "bos_token": tok["bos"],
        "clean_up_tokenization_spaces": False,
        "eos_token": tok["eos"],
        "model_max_length": max_len,
        "pad_token": tok["pad"],
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": tok["unk"],
    }


# ---------------------------------------------------------------------------
# weights (numpy RandomState: a stream that numpy guarantees stable)
# ---------------------------------------------------------------------------


class _Init:
    def __init__(self, seed: int):
        self.rng = np.random.RandomState(seed)

    def normal(self, shape, std) -> np.ndarray:
        return (self.rng.standard_normal(size=shape) * std).astype(np.float32)

    def matrix(self, shape, fan_in) -> np.ndarray:
        return self.normal(shape, 1.0 / np.sqrt(fan_in))

    def norm_weight(self, n) -> np.ndarray:
        return (1.0 + self.rng.standard_normal(size=(n,)) * 0.1).astype(np.float32)

    def bias(self, n) -> np.ndarray:
        return self.normal((n,), 0.1)


def make_gpt2_weights(cfg, seed) -> Dict[str, np.ndarray]:
    init = _Init(seed)
    d, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    inner = cfg["n_inner"] or 4 * d
    w = {
        "transformer.wte.weight": init.normal((V, d), 0.3),
        "transformer.wpe.weight": init.normal((P, d), 0.1),
    }
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"] = init.norm_weight(d)
        w[p + "ln_1.bias"] = init.bias(d)
        w[p + "attn.c_attn.weight"] = init.matrix((d, 3 * d), d)
        w[p + "attn.c_attn.bias"] = init.bias(3 * d)
        w[p + "attn.c_proj.weight"] = init.matrix((d, d), d)
        w[p + "attn.c_proj.bias"] = init.bias(d)
        w[p + "ln_2.weight"] = init.norm_weight(d)
        w[p + "ln_2.bias"] = init.bias(d)
        w[p + "mlp.c_fc.weight"] = init.matrix((d, inner), d)
        w[p + "mlp.c_fc.bias"] = init.bias(inner)
        w[p + "mlp.c_proj.weight"] = init.matrix((inner, d), inner)
        w[p + "mlp.c_proj.bias"] = init.bias(d)
    w["transformer.ln_f.weight"] = init.norm_weight(d)
    w["transformer.ln_f.bias"] = init.bias(d)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = init.matrix((V, d), d)
    return w


def make_llama_weights(cfg, seed) -> Dict[str, np.ndarray]:
    init = _Init(seed)
    mt = cfg["model_type"]
    d, V, inter = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh = cfg.get("head_dim") or d // H
    qkv_bias = mt == "qwen2" or (mt == "llama" and cfg.get("attention_bias", False))
    o_bias = mt == "llama" and cfg.get("attention_bias", False)
    mlp_bias = mt == "llama" and cfg.get("mlp_bias", False)
    w = {"model.embed_tokens.weight": init.normal((V, d), 0.4)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = init.norm_weight(d)
        for name, out in (("q_proj", H * dh), ("k_proj", Hkv * dh), ("v_proj", Hkv * dh)):
            w[p + f"self_attn.{name}.weight"] = init.matrix((out, d), d)
            if qkv_bias:
                # generous q/k biases so that the bias visibly shapes the pattern
                w[p + f"self_attn.{name}.bias"] = init.normal((out,), 0.3)
        w[p + "self_attn.o_proj.weight"] = init.matrix((d, H * dh), H * dh)
        if o_bias:
            w[p + "self_attn.o_proj.bias"] = init.bias(d)
        w[p + "post_attention_layernorm.weight"] = init.norm_weight(d)
        w[p + "mlp.gate_proj.weight"] = init.matrix((inter, d), d)
        w[p + "mlp.up_proj.weight"] = init.matrix((inter, d), d)
        w[p + "mlp.down_proj.weight"] = init.matrix((d, inter), inter)
        if mlp_bias:
            for name, n in (("gate_proj", inter), ("up_proj", inter), ("down_proj", d)):
                w[p + f"mlp.{name}.bias"] = init.bias(n)
    w["model.norm.weight"] = init.norm_weight(d)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = init.matrix((V, d), d)
    return w


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------


def make_sequences(case, vocab: List[str], seed: int) -> List[List[int]]:
    ids = {tok: i for i, tok in enumerate(vocab)}
    word_ids = np.array([ids[f"t{i}"] for i in range(case["n_words"])])
    rng = np.random.RandomState(seed + 7919)
    seqs = [[int(t) for t in rng.choice(word_ids, size=n)] for n in LENGTHS]
    bos = case["tok"]["bos"]
    if bos is not None:
        seqs[0][0] = ids[bos]  # exercise an added special token (and pad==bos for GPT-2)
    return seqs


def pad_batch(seqs, pad_id, side):
    T = max(len(s) for s in seqs)
    ids = np.full((len(seqs), T), pad_id, dtype=np.int32)
    mask = np.zeros((len(seqs), T), dtype=np.int32)
    for b, s in enumerate(seqs):
        if side == "right":
            ids[b, : len(s)] = s
            mask[b, : len(s)] = 1
        else:
            ids[b, T - len(s) :] = s
            mask[b, T - len(s) :] = 1
    return ids, mask


def real_slice(side, T, n):
    return slice(0, n) if side == "right" else slice(T - n, T)


# ---------------------------------------------------------------------------
# self checks
# ---------------------------------------------------------------------------


def self_check(case_name, cfg, weights, variants, runs):
    """Padded runs must match each sequence run alone, at real positions."""
    worst = {}
    for dtype in (torch.float64, torch.float32):
        singles = [
            ref.forward(weights, cfg, variants[f"single{k}"]["ids"], variants[f"single{k}"]["mask"], dtype)
            for k in range(len(LENGTHS))
        ]
        for side in ("right", "left"):
            v = variants[side]
            logits, sites = ref.forward(weights, cfg, v["ids"], v["mask"], dtype)
            T = v["ids"].shape[1]
            for b, n in enumerate(LENGTHS):
                sl = real_slice(side, T, n)
                s_logits, s_sites = singles[b]
                diff = (logits[b, sl] - s_logits[0]).abs().max().item()
                worst[(dtype, side)] = max(worst.get((dtype, side), 0.0), diff)
                if diff > SELF_CHECK_TOL:
                    raise AssertionError(
                        f"{case_name}: {side}-padded logits of sequence {b} differ from the "
                        f"single run by {diff:.3g} ({dtype})"
                    )
                if dtype != torch.float64:
                    continue
                for name, val in sites.items():
                    other = s_sites[name][0]
                    if name.startswith("attention_pattern"):
                        got = val[b][:, sl][:, :, sl]
                        masked = val[b][:, sl].sum(-1) - got.sum(-1)
                        if masked.abs().max().item() > 1e-12:
                            raise AssertionError(f"{case_name}: attention leaks onto padding ({name})")
                    else:
                        got = val[b, sl]
                    d = (got - other).abs().max().item()
                    if d > 1e-9:
                        raise AssertionError(
                            f"{case_name}: {side}-padded site {name} of sequence {b} differs by {d:.3g}"
                        )
    # float32 torch vs the float64 reference (informative)
    f32_err = 0.0
    for side in ("right", "left"):
        v = variants[side]
        l32, _ = ref.forward(weights, cfg, v["ids"], v["mask"], torch.float32)
        l64 = runs[side][0]
        m = torch.from_numpy(v["mask"]).bool()
        f32_err = max(f32_err, (l32.double() - l64)[m].abs().max().item())
    return worst, f32_err


def describe(sites, mask) -> str:
    m = torch.from_numpy(mask).bool()
    logits = sites["logits"][m]
    pats = [v for k, v in sites.items() if k.startswith("attention_pattern")]
    # mean max-probability over real query rows with >= 3 visible keys
    rows = []
    T = mask.shape[1]
    for p in pats:
        for b in range(mask.shape[0]):
            for i in range(T):
                if mask[b, i] and mask[b, : i + 1].sum() >= 3:
                    rows.append(p[b, :, i].max(-1).values.mean().item())
    return (
        f"logit std {logits.std().item():.3f}, logit range "
        f"[{logits.min().item():.2f}, {logits.max().item():.2f}], "
        f"mean max attention prob (>=3 keys) {np.mean(rows):.3f}"
    )


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def dump_json(path, obj, sort_keys=False):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n")


def tensor_entry(name, arr):
    dtype = {np.dtype("int32"): "I32", np.dtype("float32"): "F32"}[arr.dtype]
    return {"name": name, "dtype": dtype, "shape": [int(s) for s in arr.shape]}


def generate_case(case, out_root, verbose=True) -> Dict:
    name = case["name"]
    folder = os.path.join(out_root, name)
    os.makedirs(folder, exist_ok=True)
    vocab = build_vocab(case)
    tok_ids = {t: i for i, t in enumerate(vocab)}
    cfg = case["config"](tok_ids)
    mt = cfg["model_type"]
    if mt == "gpt2":
        weights = make_gpt2_weights(cfg, case["seed"])
        n_layers, H, Hkv = cfg["n_layer"], cfg["n_head"], cfg["n_head"]
        d = cfg["n_embd"]
        dh = d // H
        max_len = cfg["n_positions"]
    else:
        weights = make_llama_weights(cfg, case["seed"])
        n_layers, H = cfg["num_hidden_layers"], cfg["num_attention_heads"]
        Hkv = cfg["num_key_value_heads"]
        d = cfg["hidden_size"]
        dh = cfg.get("head_dim") or d // H
        max_len = cfg["max_position_embeddings"]
    if len(vocab) > cfg["vocab_size"]:
        raise ValueError(f"{name}: tokenizer vocab larger than model vocab")

    dump_json(os.path.join(folder, "config.json"), cfg, sort_keys=True)
    ref.save_safetensors(os.path.join(folder, "model.safetensors"), weights, {"format": "pt"})
    dump_json(os.path.join(folder, "tokenizer.json"), tokenizer_json(case, vocab))
    dump_json(os.path.join(folder, "tokenizer_config.json"), tokenizer_config_json(case, vocab, max_len))

    # round-trip through our own reader so the forward sees exactly the file
    weights, _ = ref.load_safetensors(os.path.join(folder, "model.safetensors"))

    pad_token = case["tok"]["pad"]
    pad_id = tok_ids[pad_token]
    seqs = make_sequences(case, vocab, case["seed"])
    variants = {}
    for side in ("right", "left"):
        ids, mask = pad_batch(seqs, pad_id, side)
        variants[side] = {"ids": ids, "mask": mask, "pad_side": side, "indices": [0, 1, 2]}
    for k, s in enumerate(seqs):
        ids = np.array([s], dtype=np.int32)
        variants[f"single{k}"] = {
            "ids": ids, "mask": np.ones_like(ids), "pad_side": None, "indices": [k],
        }

    runs = {vn: ref.forward(weights, cfg, v["ids"], v["mask"], torch.float64) for vn, v in variants.items()}
    worst, f32_err = self_check(name, cfg, weights, variants, runs)

    site_list = ref.site_names(n_layers)
    tensors: Dict[str, np.ndarray] = {}
    variant_meta = {}
    for vn, v in variants.items():
        store_sites = v["pad_side"] is not None
        entries = {}
        for key, arr in (("input_ids", v["ids"]), ("attention_mask", v["mask"])):
            tname = f"{vn}.{key}"
            tensors[tname] = arr.astype(np.int32)
            entries[key] = tensor_entry(tname, tensors[tname])
        _, sites = runs[vn]
        for site in site_list if store_sites else ["logits"]:
            tname = f"{vn}.{site}"
            tensors[tname] = sites[site].to(torch.float32).numpy()
            entries[site] = tensor_entry(tname, tensors[tname])
        variant_meta[vn] = {
            "pad_side": v["pad_side"],
            "sequence_indices": v["indices"],
            "lengths": [LENGTHS[i] for i in v["indices"]],
            "shape": [int(s) for s in v["ids"].shape],
            "sites_stored": store_sites,
            "tensors": entries,
        }
    ref.save_safetensors(
        os.path.join(folder, "expected.safetensors"),
        tensors,
        {"format": "subspace-reference", "case": name, "schema_version": str(SCHEMA_VERSION)},
    )

    expected = {
        "schema_version": SCHEMA_VERSION,
        "case": name,
        "description": case["description"],
        "model_type": mt,
        "generator": "tests/reference/make_reference.py",
        "seed": case["seed"],
        "compute_dtype": "float64",
        "stored_dtype": "float32",
        "files": {
            "config": "config.json",
            "weights": "model.safetensors",
            "tokenizer": "tokenizer.json",
            "tokenizer_config": "tokenizer_config.json",
            "tensors": "expected.safetensors",
        },
        "model": {
            "hidden_size": d,
            "num_layers": n_layers,
            "num_heads": H,
            "num_kv_heads": Hkv,
            "head_dim": dh,
            "vocab_size": cfg["vocab_size"],
            "tokenizer_vocab_size": len(vocab),
            "tie_word_embeddings": cfg["tie_word_embeddings"],
        },
        "pad_token": pad_token,
        "pad_token_id": pad_id,
        "position_ids_rule": POSITION_IDS_RULE,
        "mask_rule": MASK_RULE,
        "tolerance": {
            "self_check_padded_vs_single_logits": SELF_CHECK_TOL,
            "fixture_check": {"atol": CHECK_ATOL, "rtol": CHECK_RTOL},
            "suggested_runtime_float32": SUGGESTED_RUNTIME_TOL,
        },
        "sequences": seqs,
        "texts": [" ".join(vocab[t] for t in s) for s in seqs],
        "sites": site_list,
        "variants": variant_meta,
        "notes": NOTES,
    }
    dump_json(os.path.join(folder, "expected.json"), expected)

    if verbose:
        pad_err = max(v for (dt, _), v in worst.items() if dt == torch.float32)
        print(
            f"{name:12s} {describe(runs['right'][1], variants['right']['mask'])}; "
            f"float32 padded-vs-single {pad_err:.1e}; float32-vs-float64 logits {f32_err:.1e}"
        )
    return {
        "name": name,
        "model_type": mt,
        "dir": name,
        "description": case["description"],
        "num_layers": n_layers,
    }


def generate_all(out_root, verbose=True):
    os.makedirs(out_root, exist_ok=True)
    torch.set_num_threads(1)  # stable reduction order
    index = {
        "schema_version": SCHEMA_VERSION,
        "generator": "tests/reference/make_reference.py",
        "variants": ["right", "left"] + [f"single{k}" for k in range(len(LENGTHS))],
        "lengths": LENGTHS,
        "position_ids_rule": POSITION_IDS_RULE,
        "mask_rule": MASK_RULE,
        "tolerance": {
            "self_check_padded_vs_single_logits": SELF_CHECK_TOL,
            "fixture_check": {"atol": CHECK_ATOL, "rtol": CHECK_RTOL},
            "suggested_runtime_float32": SUGGESTED_RUNTIME_TOL,
        },
        "cases": [generate_case(c, out_root, verbose) for c in CASES],
    }
    dump_json(os.path.join(out_root, "index.json"), index)


# ---------------------------------------------------------------------------
# --check
# ---------------------------------------------------------------------------


def _list_files(root):
    out = set()
    for dirpath, _, files in os.walk(root):
        for f in files:
            out.add(os.path.relpath(os.path.join(dirpath, f), root))
    return out


def compare_safetensors(path_a, path_b) -> List[str]:
    a, meta_a = ref.load_safetensors(path_a)
    b, meta_b = ref.load_safetensors(path_b)
    problems = []
    if meta_a != meta_b:
        problems.append("metadata differs")
    if set(a) != set(b):
        problems.append(f"tensor names differ: {sorted(set(a) ^ set(b))}")
    for name in sorted(set(a) & set(b)):
        x, y = a[name], b[name]
        if x.dtype != y.dtype or x.shape != y.shape:
            problems.append(f"{name}: {x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}")
            continue
        if x.dtype.kind == "f":
            x64, y64 = x.astype(np.float64), y.astype(np.float64)
            bad = ~(np.abs(x64 - y64) <= CHECK_ATOL + CHECK_RTOL * np.abs(y64))
            if bad.any():
                problems.append(f"{name}: max abs diff {np.abs(x64 - y64).max():.3g}")
        elif not np.array_equal(x, y):
            problems.append(f"{name}: integer values differ")
    return problems


def check(committed_root) -> int:
    if not os.path.isdir(committed_root):
        print(f"missing fixture directory {committed_root}", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="subspace-reference-")
    try:
        generate_all(tmp, verbose=False)
        fresh, committed = _list_files(tmp), _list_files(committed_root)
        problems = []
        for rel in sorted(fresh - committed):
            problems.append(f"{rel}: missing from committed fixtures")
        for rel in sorted(committed - fresh):
            problems.append(f"{rel}: not produced by the generator")
        for rel in sorted(fresh & committed):
            pa, pb = os.path.join(tmp, rel), os.path.join(committed_root, rel)
            with open(pa, "rb") as fa, open(pb, "rb") as fb:
                if fa.read() == fb.read():
                    continue
            if rel.endswith("expected.safetensors"):
                problems += [f"{rel}: {p}" for p in compare_safetensors(pa, pb)]
            else:
                problems.append(f"{rel}: content differs")
        if problems:
            print("reference fixtures are out of date:", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            print("regenerate with: npm run fixtures:reference", file=sys.stderr)
            return 1
        print(f"reference fixtures OK ({len(fresh)} files in {committed_root})")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify the committed fixtures instead of writing")
    parser.add_argument("--out", default=DEFAULT_OUT, help="fixture root (default: tests/fixtures/reference)")
    args = parser.parse_args(argv)
    if args.check:
        return check(args.out)
    generate_all(args.out)
    print(f"wrote {len(CASES)} cases to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
