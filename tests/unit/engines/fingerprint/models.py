"""Small synthetic transformer weights, their derivatives, and GGUF/safetensors writers."""

from __future__ import annotations

import numpy as np

from modelcustoms.samples.tensorfmt import GGUF, GGUFTensor, safetensors
from tests.unit.engines.fingerprint.quantize import QUANTIZERS

HIDDEN = 256
VOCAB = 1500
LAYERS = 4

Model = dict[str, np.ndarray]


def base_model(
    seed: int, vocab: int = VOCAB, hidden: int = HIDDEN, semantics: int | None = None
) -> tuple[Model, list[str]]:
    """Weights with some structure (a low-rank token manifold, like trained embeddings).

    Two models given the same ``semantics`` seed share that manifold (tokens that "mean" alike
    embed alike in both, as in independently trained models of one language) while everything
    else is independent.
    """
    rng = np.random.default_rng(seed)
    latent = np.random.default_rng(seed if semantics is None else semantics + 10_000)
    z = latent.standard_normal((vocab, 24)) @ rng.standard_normal((24, hidden)) * 0.2
    emb = (z + rng.standard_normal((vocab, hidden))) * 0.02
    m: Model = {"token_embd": emb.astype(np.float32)}
    for i in range(LAYERS):
        m[f"blk.{i}.attn_q"] = (rng.standard_normal((hidden, hidden)) * 0.05).astype(np.float32)
        m[f"blk.{i}.attn_k"] = (rng.standard_normal((hidden // 2, hidden)) * 0.05).astype(
            np.float32
        )
        m[f"blk.{i}.ffn_up"] = (rng.standard_normal((hidden * 2, hidden)) * 0.05).astype(np.float32)
    tokens = [f"tok{i:05d}" for i in range(vocab)]
    return m, tokens


def finetune(m: Model, eps: float, seed: int = 1) -> Model:
    """Every weight moved by ``eps`` times its tensor's spread (Gaussian)."""
    rng = np.random.default_rng(seed)
    return {
        k: (v + eps * v.std() * rng.standard_normal(v.shape)).astype(np.float32)
        for k, v in m.items()
    }


def permute_hidden(m: Model, seed: int = 2) -> Model:
    """Permute the residual stream (inputs of every matrix) and every projection's outputs."""
    rng = np.random.default_rng(seed)
    p = rng.permutation(HIDDEN)
    out: Model = {}
    for k, v in m.items():
        w = v[:, p]
        if k != "token_embd":
            w = w[rng.permutation(w.shape[0])]
        out[k] = np.ascontiguousarray(w)
    return out


def rotate_hidden(m: Model, seed: int = 3) -> Model:
    """An orthogonal rotation of the residual stream."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((HIDDEN, HIDDEN)))
    return {k: (v @ q).astype(np.float32) for k, v in m.items()}


def extend_vocab(m: Model, tokens: list[str], extra: int, seed: int = 4) -> tuple[Model, list[str]]:
    """New tokens with fresh rows, and the whole vocabulary reordered."""
    rng = np.random.default_rng(seed)
    emb = m["token_embd"]
    new_rows = rng.standard_normal((extra, emb.shape[1])).astype(np.float32) * emb.std()
    all_rows = np.concatenate([emb, new_rows])
    all_tokens = tokens + [f"new{i:04d}" for i in range(extra)]
    order = rng.permutation(len(all_tokens))
    out = dict(m)
    out["token_embd"] = np.ascontiguousarray(all_rows[order])
    return out, [all_tokens[i] for i in order]


def prune_layer(m: Model, layer: int) -> Model:
    """Remove one layer and renumber the ones after it."""
    out: Model = {}
    for k, v in m.items():
        if not k.startswith("blk."):
            out[k] = v
            continue
        _, idx, role = k.split(".")
        i = int(idx)
        if i != layer:
            out[f"blk.{i - (i > layer)}.{role}"] = v
    return out


def to_gguf(m: Model, tokens: list[str] | None, ggml_type: int = 0) -> bytes:
    """A GGUF v3 file with every tensor in ``ggml_type`` (0 F32, 1 F16, or a quant type)."""
    tensors = []
    for name, w in m.items():
        if ggml_type == 0:
            data = w.astype("<f4").tobytes()
        elif ggml_type == 1:
            data = w.astype("<f2").tobytes()
        else:
            data = QUANTIZERS[ggml_type](w.reshape(-1))
        tensors.append(GGUFTensor(f"{name}.weight", (w.shape[1], w.shape[0]), data, ggml_type))
    meta: dict[str, object] = {"general.architecture": "llama", "general.name": "synthetic"}
    if tokens is not None:
        meta["tokenizer.ggml.model"] = "gpt2"
        meta["tokenizer.ggml.tokens"] = tokens
    return GGUF(meta, tensors).build()


_HF = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "ffn_up": "mlp.up_proj"}


def to_safetensors(m: Model, dtype: str = "F32") -> bytes:
    """A Hugging Face-named safetensors file (F32, F16 or BF16)."""
    tensors = {}
    for name, w in m.items():
        if name == "token_embd":
            hf = "model.embed_tokens.weight"
        else:
            _, i, role = name.split(".")
            hf = f"model.layers.{i}.{_HF[role]}.weight"
        if dtype == "F32":
            raw = w.astype("<f4").tobytes()
        elif dtype == "F16":
            raw = w.astype("<f2").tobytes()
        else:
            raw = (np.ascontiguousarray(w, dtype="<f4").view("<u4") >> 16).astype("<u2").tobytes()
        tensors[hf] = (dtype, tuple(w.shape), raw)
    return safetensors(tensors, {"format": "pt"})
