"""Architecture signature: the numbers a config (or GGUF header, or tensor shapes) fixes.

Class names lie (Yi, DeepSeek-Coder, Falcon3, Granite Code and SmolLM all say
``LlamaForCausalLM``), so the signature that counts is the shape: hidden size, layers, heads,
KV heads, MLP width and vocabulary, which a fine-tune cannot change without retraining.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from modelcustoms.artifacts.gguf import GGUFArray, GGUFFile
from modelcustoms.artifacts.safetensors_header import TensorEntry
from modelcustoms.engines.provenance.metadata import FileRef, Metadata
from modelcustoms.kb import Family, Release

DIMS = ("hidden", "layers", "heads", "kv_heads", "intermediate")
_ALIASES: dict[str, tuple[str, ...]] = {
    "hidden": ("hidden_size", "n_embd", "d_model", "dim"),
    "layers": ("num_hidden_layers", "n_layer", "n_layers", "num_layers"),
    "heads": ("num_attention_heads", "n_head", "n_heads", "num_heads"),
    "kv_heads": ("num_key_value_heads", "n_kv_heads", "multi_query_group_num", "num_kv_heads"),
    "intermediate": (
        "intermediate_size",
        "ffn_hidden_size",
        "n_inner",
        "inner_hidden_size",
        "ffn_dim",
    ),
    "vocab": ("vocab_size", "padded_vocab_size", "n_vocab"),
    "max_position": ("max_position_embeddings", "seq_length", "n_positions", "max_seq_len"),
    "experts": ("n_routed_experts", "num_experts", "num_local_experts", "moe_num_experts"),
}
_ROPE = ("rope_theta", "rotary_emb_base", "rotary_base", "rope_base")
_NESTED = ("text_config", "language_config", "llm_config", "language", "language_model", "text")
_EMBED = re.compile(
    r"(embed_tokens|wte|word_embeddings|embed_in|tok_embeddings|token_embd)\.weight$"
)
_LAYER = re.compile(r"\.(?:layers|h|blocks|layer)\.(\d+)\.")
Fit = Literal["exact", "partial", "mismatch", "none"]


@dataclass(slots=True)
class ArchSignature:
    """What the files say about the model's shape."""

    architectures: tuple[str, ...] = ()
    model_type: str | None = None
    dims: dict[str, float] = field(default_factory=dict)
    """``hidden``, ``layers``, ..., ``vocab``, ``rope_theta``, ``max_position``, ``experts``."""
    config_keys: frozenset[str] = frozenset()
    tensor_names: tuple[str, ...] = ()
    quantized: str | None = None
    source: FileRef | None = None
    pointer: str = ""

    def get(self, key: str) -> float | None:
        """A dimension, when known."""
        return self.dims.get(key)


def extract_signature(meta: Metadata) -> ArchSignature:
    """Merge the config, params.json, GGUF header and tensor shapes into one signature."""
    sig = ArchSignature()
    config, cref = meta.doc("config"), meta.ref("config")
    if config is not None and cref is not None:
        _from_config(sig, config)
        sig.source, sig.pointer = cref, sig.pointer or "/"
    params, pref = meta.doc("params"), meta.ref("params")
    if params is not None and pref is not None and not _has_shape(sig):
        _from_config(sig, params)
        sig.source, sig.pointer = pref, "/"
    if meta.gguf is not None and meta.gguf_ref is not None and not _has_shape(sig):
        _from_gguf(sig, meta.gguf)
        sig.source, sig.pointer = meta.gguf_ref, "general.architecture"
    names = list(meta.weight_names) or [t.name for t in meta.tensors]
    if meta.gguf is not None and not names:
        names = [t.name for t in meta.gguf.tensors]
    sig.tensor_names = tuple(names)
    if meta.tensors:
        _from_tensors(sig, meta.tensors)
        if sig.source is None:
            sig.source, sig.pointer = meta.tensors_ref, "header"
    if names and "layers" not in sig.dims:
        layers = {int(m.group(1)) for n in names if (m := _LAYER.search(n))}
        if layers:
            sig.dims["layers"] = max(layers) + 1
    if any(n.endswith((".absmax", ".qweight", ".scales", ".SCB")) for n in names[:5000]):
        sig.quantized = sig.quantized or "quantized weights in the weight map"
    return sig


def _has_shape(sig: ArchSignature) -> bool:
    return "hidden" in sig.dims and "layers" in sig.dims


def _from_config(sig: ArchSignature, config: dict[str, Any]) -> None:
    archs = config.get("architectures")
    if isinstance(archs, list):
        sig.architectures = tuple(str(a)[:200] for a in archs[:16])
    if isinstance(config.get("model_type"), str):
        sig.model_type = config["model_type"][:200]
    sig.config_keys = frozenset(str(k) for k in list(config)[:2000])
    body, ptr = config, "/"
    if not any(k in config for k in _ALIASES["hidden"] + _ALIASES["layers"]):
        for key in _NESTED:
            sub = config.get(key)
            if isinstance(sub, dict) and any(k in sub for k in _ALIASES["layers"]):
                body, ptr = sub, f"/{key}"
                break
    sig.pointer = ptr
    if body is not config and not sig.architectures and isinstance(body.get("architectures"), list):
        sig.architectures = tuple(str(a)[:200] for a in body["architectures"][:16])
    if body is not config and isinstance(body.get("model_type"), str) and sig.model_type is None:
        sig.model_type = body["model_type"][:200]
    for dim, keys in _ALIASES.items():
        value = _first_number(body, keys)
        if value is None and body is not config:
            value = _first_number(config, keys)
        if value is not None:
            sig.dims[dim] = value
    if "kv_heads" not in sig.dims and "heads" in sig.dims:
        # NOTE: HF configs omit the KV head count for multi-head attention (transformers then
        # uses num_attention_heads); "multi_query" configs (Falcon-7B, GPTBigCode) use one.
        sig.dims["kv_heads"] = 1.0 if body.get("multi_query") is True else sig.dims["heads"]
    if "dim" in body and "hidden_dim" in body and "intermediate" not in sig.dims:
        # params.json / llama-style native configs call the MLP width hidden_dim.
        value = _first_number(body, ("hidden_dim",))
        if value is not None:
            sig.dims["intermediate"] = value
    rope = _first_number(body, _ROPE)
    params = body.get("rope_parameters")
    if rope is None and isinstance(params, dict):
        rope = _first_number(params, ("rope_theta",))
    if rope is not None:
        sig.dims["rope_theta"] = rope
    scaling = body.get("rope_scaling")
    if isinstance(scaling, dict):
        factor = _first_number(scaling, ("factor",))
        if factor is not None:
            sig.dims["rope_scaling_factor"] = factor
    if config.get("quantization_config") or config.get("quantization"):
        sig.quantized = "quantization block in config"


def _first_number(body: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for k in keys:
        v = body.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1e15:
            return float(v)
    return None


def _from_gguf(sig: ArchSignature, gguf: GGUFFile) -> None:
    arch = gguf.get("general.architecture")
    if not isinstance(arch, str):
        return
    sig.model_type = arch[:100]
    keys = {
        "hidden": "embedding_length",
        "layers": "block_count",
        "heads": "attention.head_count",
        "kv_heads": "attention.head_count_kv",
        "intermediate": "feed_forward_length",
        "rope_theta": "rope.freq_base",
        "max_position": "context_length",
        "experts": "expert_count",
        "vocab": "vocab_size",
    }
    for dim, suffix in keys.items():
        v = gguf.get(f"{arch}.{suffix}")
        if isinstance(v, int | float) and not isinstance(v, bool) and v > 0:
            sig.dims[dim] = float(v)
    tokens = gguf.get("tokenizer.ggml.tokens")
    if "vocab" not in sig.dims and isinstance(tokens, GGUFArray):
        sig.dims["vocab"] = float(tokens.count)
    ftype = gguf.get("general.file_type")
    if isinstance(ftype, int) and ftype not in (0, 1, 32):
        sig.quantized = f"GGUF file_type {ftype}"


def _from_tensors(sig: ArchSignature, tensors: list[TensorEntry]) -> None:
    for t in tensors:
        if _EMBED.search(t.name) and len(t.shape) == 2:
            sig.dims.setdefault("vocab", float(t.shape[0]))
            sig.dims.setdefault("hidden", float(t.shape[1]))
            return


@dataclass(frozen=True, slots=True)
class ReleaseFit:
    """How the observed shape fits a family's releases."""

    fit: Fit
    release: Release | None = None
    soft: int = 0
    """Tie-breakers that also agree (rope base, context, rope scaling, vocab)."""
    fused: bool = False
    """The MLP width matched only as a fused (2x) projection: weaker than a plain match."""


def match_release(sig: ArchSignature, family: Family) -> ReleaseFit:
    """How well the shape fits the family's best release."""
    known = [d for d in DIMS if d in sig.dims]
    if len(known) < 2 or not family.releases:
        return ReleaseFit("none")
    best: tuple[int, int, int, Release] | None = None
    partial: Release | None = None
    for rel in family.releases:
        agree, clash, fused = _compare(sig, rel)
        if clash == 0 and agree >= 3 and {"hidden", "layers"} <= set(known):
            key = (agree - fused, _soft(sig, rel), -fused)
            if best is None or key > best[:3]:
                best = (*key, rel)
        elif partial is None and _same(sig, rel, "hidden") and _same(sig, rel, "layers"):
            partial = rel
    if best is not None:
        return ReleaseFit("exact", best[3], best[1], fused=best[2] < 0)
    if partial is not None:
        return ReleaseFit("partial", partial)
    return ReleaseFit("mismatch")


def _same(sig: ArchSignature, rel: Release, dim: str) -> bool:
    ours, theirs = sig.get(dim), getattr(rel, dim)
    return ours is not None and theirs is not None and int(ours) == int(theirs)


def _compare(sig: ArchSignature, rel: Release) -> tuple[int, int, int]:
    agree = clash = fused = 0
    for dim in DIMS:
        ours, theirs = sig.get(dim), getattr(rel, dim)
        if ours is None or theirs is None:
            continue
        # Fused gate/up projections (OLMo-style) report twice the MLP width.
        if int(ours) == int(theirs):
            agree += 1
        elif dim == "intermediate" and int(ours) == 2 * int(theirs):
            agree += 1
            fused = 1
        else:
            clash += 1
    ours_e, theirs_e = sig.get("experts"), rel.experts
    if ours_e is not None and theirs_e is not None and int(ours_e) != int(theirs_e):
        clash += 1
    return agree, clash, fused


def _soft(sig: ArchSignature, rel: Release) -> int:
    """Tie-breakers a fine-tune may change: rope base, context length, rope scaling, vocab."""
    score = 0
    for dim, value in (
        ("rope_theta", rel.rope_theta),
        ("max_position", rel.max_position),
        ("rope_scaling_factor", rel.rope_scaling_factor),
        ("vocab", rel.vocab),
    ):
        ours = sig.get(dim)
        if ours is not None and value is not None and abs(ours - value) <= 1e-6 * max(1.0, value):
            score += 1
    return score
