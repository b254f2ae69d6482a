"""Independent plain-PyTorch reference forwards for the Subspace runtime tests.

This module deliberately depends only on ``torch`` and ``numpy`` (no
``transformers``, no ``safetensors`` package).  It provides:

* ``save_safetensors`` / ``load_safetensors`` -- hand-written readers/writers
  for the safetensors container format.
* ``gpt2_forward`` -- Hugging Face ``GPT2LMHeadModel`` semantics.
* ``llama_forward`` -- Hugging Face ``LlamaForCausalLM`` semantics, also used
  for ``qwen2`` (q/k/v biases) and ``mistral`` (identical math to Llama for
  sequences shorter than the sliding window).

Both forwards take a dict of HF-named tensors, the HF ``config.json`` dict,
``input_ids`` [B,T] and ``attention_mask`` [B,T] and return
``(logits, sites)``; ``sites`` maps the site names used by the Subspace
runtime to tensors (in the compute dtype).

Padding semantics (both families): position ids are
``clamp(cumsum(attention_mask) - 1, min=0)`` and a query may attend to key
``j`` iff ``j <= i`` (causal) and ``attention_mask[j] == 1``.  Disallowed
scores are replaced by ``torch.finfo(dtype).min`` (finite), so rows that are
fully masked (padding queries in a left-padded batch) yield a uniform
distribution instead of NaN.  Values at padding query positions are therefore
well defined but carry no meaning; compare only real positions.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Dict, Mapping, Optional, Tuple

import numpy as np
import torch

# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

_ST_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NP_TO_ST = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("int16"): "I16",
    np.dtype("int8"): "I8",
    np.dtype("uint8"): "U8",
    np.dtype("bool"): "BOOL",
}


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(value))


def safetensors_bytes(
    tensors: Mapping[str, object], metadata: Optional[Mapping[str, str]] = None
) -> bytes:
    """Serialise ``tensors`` (name -> numpy array / torch tensor) to bytes.

    Tensors are laid out in sorted-name order, the JSON header is compact and
    padded with spaces so that the data section starts 8-byte aligned.  The
    output is a deterministic function of the input.
    """
    header: Dict[str, object] = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        arr = _to_numpy(tensors[name])
        dtype = _NP_TO_ST.get(arr.dtype)
        if dtype is None:
            raise TypeError(f"unsupported dtype {arr.dtype} for {name}")
        raw = arr.astype(_ST_DTYPES[dtype], copy=False).tobytes(order="C")
        header[name] = {
            "dtype": dtype,
            "shape": [int(s) for s in arr.shape],
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = (-(8 + len(header_bytes))) % 8
    header_bytes += b" " * pad
    return struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(chunks)


def save_safetensors(
    path: str, tensors: Mapping[str, object], metadata: Optional[Mapping[str, str]] = None
) -> None:
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors, metadata))


def parse_safetensors(data: bytes) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Parse safetensors bytes into (name -> numpy array, metadata)."""
    if len(data) < 8:
        raise ValueError("file too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("header length exceeds file size")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    metadata = header.pop("__metadata__", None) or {}
    out: Dict[str, np.ndarray] = {}
    for name, info in header.items():
        dt = _ST_DTYPES.get(info["dtype"])
        if dt is None:
            raise TypeError(f"unsupported safetensors dtype {info['dtype']} ({name})")
        begin, end = info["data_offsets"]
        shape = tuple(int(s) for s in info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if end - begin != count * dt.itemsize or base + end > len(data):
            raise ValueError(f"bad data_offsets for {name}")
        arr = np.frombuffer(data, dtype=dt, count=count, offset=base + begin)
        out[name] = arr.reshape(shape).copy()
    return out, metadata


def load_safetensors(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    with open(path, "rb") as f:
        return parse_safetensors(f.read())


def safetensors_header(path: str) -> Dict[str, object]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n).decode("utf-8"))


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def _tensor(weights: Mapping[str, object], name: str, dtype: torch.dtype) -> torch.Tensor:
    value = weights[name]
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    return torch.from_numpy(np.asarray(value)).to(dtype)


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """clamp(cumsum(mask) - 1, min=0): left padding does not shift positions."""
    return (attention_mask.to(torch.int64).cumsum(-1) - 1).clamp(min=0)


def attention_allowed(attention_mask: torch.Tensor) -> torch.Tensor:
    """[B,1,T,T] boolean: query i may attend key j iff j <= i and mask[j] == 1."""
    t = attention_mask.shape[-1]
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    keys = attention_mask.to(torch.bool)[:, None, None, :]
    return causal[None, None, :, :] & keys


def _attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor, scale: float
) -> Tuple[torch.Tensor, torch.Tensor]:
    """q,k,v: [B,H,T,dh] -> (context [B,H,T,dh], probs [B,H,T,T])."""
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    probs = torch.softmax(scores, dim=-1)
    return torch.matmul(probs, v), probs


def _check_inputs(input_ids, attention_mask):
    input_ids = torch.as_tensor(np.asarray(input_ids) if not isinstance(input_ids, torch.Tensor) else input_ids)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    attention_mask = torch.as_tensor(
        np.asarray(attention_mask) if not isinstance(attention_mask, torch.Tensor) else attention_mask
    )
    if input_ids.dim() != 2 or attention_mask.shape != input_ids.shape:
        raise ValueError("input_ids and attention_mask must both be [B,T]")
    return input_ids.to(torch.int64), attention_mask.to(torch.int64)


# ---------------------------------------------------------------------------
# GPT-2
# ---------------------------------------------------------------------------


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """HF ``gelu_new`` (tanh approximation), written out explicitly."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, eps: float) -> torch.Tensor:
    """torch.nn.LayerNorm semantics: biased variance, eps inside the sqrt."""
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).pow(2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gpt2_forward(
    weights: Mapping[str, object],
    config: Mapping[str, object],
    input_ids,
    attention_mask=None,
    dtype: torch.dtype = torch.float64,
) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """HF GPT2LMHeadModel forward (eval mode, no cache).

    Position ids are derived from ``attention_mask`` (see module docstring);
    this equals HF called with ``position_ids=clamp(cumsum(mask)-1, 0)``.
    """
    act = config.get("activation_function", "gelu_new")
    if act not in ("gelu_new", "gelu_pytorch_tanh"):
        raise NotImplementedError(f"activation_function {act!r}")
    if config.get("scale_attn_by_inverse_layer_idx", False):
        raise NotImplementedError("scale_attn_by_inverse_layer_idx")
    input_ids, attention_mask = _check_inputs(input_ids, attention_mask)
    d = int(config["n_embd"])
    n_layer = int(config["n_layer"])
    n_head = int(config["n_head"])
    dh = d // n_head
    eps = float(config.get("layer_norm_epsilon", 1e-5))
    scale = 1.0 / math.sqrt(dh) if config.get("scale_attn_weights", True) else 1.0
    B, T = input_ids.shape

    W = lambda name: _tensor(weights, name, dtype)  # noqa: E731

    pos = position_ids_from_mask(attention_mask)
    allowed = attention_allowed(attention_mask)
    wte = W("transformer.wte.weight")
    x = wte[input_ids] + W("transformer.wpe.weight")[pos]
    sites: Dict[str, torch.Tensor] = {"embeddings": x}

    for i in range(n_layer):
        p = f"transformer.h.{i}."
        sites[f"block_input.{i}"] = x
        h = layer_norm(x, W(p + "ln_1.weight"), W(p + "ln_1.bias"), eps)
        qkv = h @ W(p + "attn.c_attn.weight") + W(p + "attn.c_attn.bias")  # Conv1D
        q, k, v = qkv.split(d, dim=-1)
        q, k, v = (t.reshape(B, T, n_head, dh).transpose(1, 2) for t in (q, k, v))
        ctx, probs = _attend(q, k, v, allowed, scale)
        heads = ctx.transpose(1, 2)  # [B,T,H,dh]
        attn_out = heads.reshape(B, T, d) @ W(p + "attn.c_proj.weight") + W(p + "attn.c_proj.bias")
        sites[f"head_output.{i}"] = heads
        sites[f"attention_pattern.{i}"] = probs
        sites[f"attention_output.{i}"] = attn_out
        x = x + attn_out
        h = layer_norm(x, W(p + "ln_2.weight"), W(p + "ln_2.bias"), eps)
        h = gelu_new(h @ W(p + "mlp.c_fc.weight") + W(p + "mlp.c_fc.bias"))
        mlp_out = h @ W(p + "mlp.c_proj.weight") + W(p + "mlp.c_proj.bias")
        sites[f"mlp_output.{i}"] = mlp_out
        x = x + mlp_out
        sites[f"block_output.{i}"] = x

    x = layer_norm(x, W("transformer.ln_f.weight"), W("transformer.ln_f.bias"), eps)
    sites["final_norm"] = x
    tied = config.get("tie_word_embeddings", True)
    lm_head = wte if tied or "lm_head.weight" not in weights else W("lm_head.weight")
    if not tied and "lm_head.weight" not in weights:
        raise KeyError("tie_word_embeddings is false but lm_head.weight is missing")
    logits = x @ lm_head.T
    sites["logits"] = logits
    return logits, sites


# ---------------------------------------------------------------------------
# Llama family (llama, qwen2, mistral)
# ---------------------------------------------------------------------------


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    """HF LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * w, at >= float32 precision."""
    compute = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    xf = x.to(compute)
    var = xf.pow(2).mean(-1, keepdim=True)
    return w * (xf * torch.rsqrt(var + eps)).to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype):
    """Default (unscaled) HF RoPE: returns cos, sin of shape [B,T,head_dim]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = position_ids.to(torch.float64)[..., None] * inv_freq  # [B,T,dh/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def _linear(x, weights, name, dtype, bias: bool):
    y = x @ _tensor(weights, name + ".weight", dtype).T
    if bias:
        y = y + _tensor(weights, name + ".bias", dtype)
    return y


LLAMA_FAMILY = ("llama", "qwen2", "mistral")


def llama_forward(
    weights: Mapping[str, object],
    config: Mapping[str, object],
    input_ids,
    attention_mask=None,
    dtype: torch.dtype = torch.float64,
) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """HF LlamaForCausalLM / Qwen2ForCausalLM / MistralForCausalLM forward.

    * qwen2: q/k/v have biases, o_proj has none.
    * llama: ``attention_bias`` -> biases on q/k/v/o; ``mlp_bias`` -> biases
      on gate/up/down.
    * mistral: no biases; sliding window must be None or >= sequence length.
    """
    mt = config.get("model_type", "llama")
    if mt not in LLAMA_FAMILY:
        raise ValueError(f"llama_forward does not handle model_type {mt!r}")
    if config.get("hidden_act", "silu") != "silu":
        raise NotImplementedError(f"hidden_act {config.get('hidden_act')!r}")
    if config.get("rope_scaling"):
        raise NotImplementedError("rope_scaling")
    input_ids, attention_mask = _check_inputs(input_ids, attention_mask)
    B, T = input_ids.shape
    d = int(config["hidden_size"])
    n_layer = int(config["num_hidden_layers"])
    H = int(config["num_attention_heads"])
    Hkv = int(config.get("num_key_value_heads") or H)
    dh = int(config.get("head_dim") or d // H)
    if H % Hkv:
        raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
    n_rep = H // Hkv
    eps = float(config.get("rms_norm_eps", 1e-6))
    theta = float(config.get("rope_theta", 10000.0))
    window = config.get("sliding_window")
    if mt == "mistral" and window is not None and int(window) < T:
        raise NotImplementedError("sliding window shorter than the sequence")
    if mt == "qwen2" and config.get("use_sliding_window", False):
        raise NotImplementedError("qwen2 use_sliding_window")

    if mt == "qwen2":
        qkv_bias, o_bias = True, False
    elif mt == "llama":
        qkv_bias = o_bias = bool(config.get("attention_bias", False))
    else:
        qkv_bias = o_bias = False
    mlp_bias = mt == "llama" and bool(config.get("mlp_bias", False))

    W = lambda name: _tensor(weights, name, dtype)  # noqa: E731

    pos = position_ids_from_mask(attention_mask)
    allowed = attention_allowed(attention_mask)
    cos, sin = rope_cos_sin(pos, dh, theta, dtype)
    cos, sin = cos[:, None], sin[:, None]  # [B,1,T,dh]
    scale = dh ** -0.5

    embed = W("model.embed_tokens.weight")
    x = embed[input_ids]
    sites: Dict[str, torch.Tensor] = {"embeddings": x}

    for i in range(n_layer):
        p = f"model.layers.{i}."
        sites[f"block_input.{i}"] = x
        h = rms_norm(x, W(p + "input_layernorm.weight"), eps)
        q = _linear(h, weights, p + "self_attn.q_proj", dtype, qkv_bias)
        k = _linear(h, weights, p + "self_attn.k_proj", dtype, qkv_bias)
        v = _linear(h, weights, p + "self_attn.v_proj", dtype, qkv_bias)
        q = q.reshape(B, T, H, dh).transpose(1, 2)
        k = k.reshape(B, T, Hkv, dh).transpose(1, 2)
        v = v.reshape(B, T, Hkv, dh).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: query head h uses kv head h // n_rep
        k = k.repeat_interleave(n_rep, dim=1)
        v = v.repeat_interleave(n_rep, dim=1)
        ctx, probs = _attend(q, k, v, allowed, scale)
        heads = ctx.transpose(1, 2)  # [B,T,H,dh]
        attn_out = _linear(heads.reshape(B, T, H * dh), weights, p + "self_attn.o_proj", dtype, o_bias)
        sites[f"head_output.{i}"] = heads
        sites[f"attention_pattern.{i}"] = probs
        sites[f"attention_output.{i}"] = attn_out
        x = x + attn_out
        h = rms_norm(x, W(p + "post_attention_layernorm.weight"), eps)
        gate = _linear(h, weights, p + "mlp.gate_proj", dtype, mlp_bias)
        up = _linear(h, weights, p + "mlp.up_proj", dtype, mlp_bias)
        mlp_out = _linear(torch.nn.functional.silu(gate) * up, weights, p + "mlp.down_proj", dtype, mlp_bias)
        sites[f"mlp_output.{i}"] = mlp_out
        x = x + mlp_out
        sites[f"block_output.{i}"] = x

    x = rms_norm(x, W("model.norm.weight"), eps)
    sites["final_norm"] = x
    tied = bool(config.get("tie_word_embeddings", False))
    if tied:
        lm_head = embed
    elif "lm_head.weight" in weights:
        lm_head = W("lm_head.weight")
    else:
        raise KeyError("tie_word_embeddings is false but lm_head.weight is missing")
    logits = x @ lm_head.T
    sites["logits"] = logits
    return logits, sites


def forward(weights, config, input_ids, attention_mask=None, dtype=torch.float64):
    """Dispatch on ``config['model_type']``."""
    mt = config.get("model_type")
    if mt == "gpt2":
        return gpt2_forward(weights, config, input_ids, attention_mask, dtype)
    if mt in LLAMA_FAMILY:
        return llama_forward(weights, config, input_ids, attention_mask, dtype)
    raise ValueError(f"unsupported model_type {mt!r}")


def site_names(n_layers: int):
    """All site names recorded by the forwards, in a stable order."""
    names = ["embeddings"]
    for i in range(n_layers):
        names += [
            f"block_input.{i}",
            f"attention_pattern.{i}",
            f"head_output.{i}",
            f"attention_output.{i}",
            f"mlp_output.{i}",
            f"block_output.{i}",
        ]
    return names + ["final_norm", "logits"]
