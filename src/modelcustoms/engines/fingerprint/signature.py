"""Weight signatures invariant to what derivatives do to a model.

A signature is a set of *components*, each a k×k cosine-similarity (Gram) matrix over the same
k probe tokens:

- ``token_embd``: the embedding rows of the probes, ``cos(E_i, E_j)``;
- ``blk.N.attn_q`` etc.: the probes pushed through one projection, ``cos(E_i Wᵀ, E_j Wᵀ)``.

Why these survive derivation: a permutation or orthogonal rotation Q of the hidden units maps
E→EQ and W→WQ, so ``E Wᵀ`` and every Gram entry are unchanged; any permutation of a
projection's output units (heads, llama.cpp's rope reordering) leaves ``H Hᵀ`` unchanged;
cosines remove scaling. Probes are chosen by token *string* (the k strings with the smallest
sha256), so an extended or reordered vocabulary still finds the same rows. Fine-tuning and
quantization move the Gram entries a little; an independent model (even one of the same shape)
gives entries unrelated to the reference's, which the null in :mod:`match` quantifies.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import numpy as np

from modelcustoms.engines.fingerprint.dequant import F32
from modelcustoms.engines.fingerprint.extract import ExtractError, ModelView

PROBES = 128
"""Probe tokens per fingerprint (k); a component stores k(k-1)/2 int8 entries."""
ROLES = ("attn_q", "attn_k")
"""Projections fingerprinted per selected layer (small ones: few bytes read)."""
QUANT = 127.0


@dataclass(frozen=True, slots=True)
class Component:
    """One Gram matrix of a signature, stored as int8 upper-triangle entries."""

    name: str
    gram: F32
    """Full k×k cosine matrix (float32); decoded ones are scaled, which correlations ignore."""
    shape: tuple[int, int]
    """(rows, cols) of the projection (or embedding) it came from, for the null."""

    def encode(self) -> str:
        """Base64 of the int8-quantized strict upper triangle.

        Entries are scaled by their largest magnitude first: only correlations between Gram
        entries are ever computed, and those ignore scale, so the int8 steps stay fine even
        for wide models whose cosines are all small.
        """
        iu = np.triu_indices(self.gram.shape[0], 1)
        vals = self.gram[iu]
        peak = float(np.max(np.abs(vals))) if vals.size else 0.0
        q = np.clip(np.rint(vals / (peak or 1.0) * QUANT), -127, 127).astype(np.int8)
        return base64.b64encode(q.tobytes()).decode("ascii")

    @classmethod
    def decode(cls, name: str, k: int, data: str, shape: tuple[int, int]) -> Component:
        """Inverse of :meth:`encode` (entries come back scaled, see :meth:`encode`)."""
        raw = base64.b64decode(data.encode("ascii"), validate=True)
        iu = np.triu_indices(k, 1)
        if len(raw) != iu[0].size:
            msg = f"component {name}: {len(raw)} entries, expected {iu[0].size}"
            raise ValueError(msg)
        vals = np.frombuffer(raw, dtype=np.int8).astype(np.float32) / QUANT
        g = np.eye(k, dtype=np.float32)
        g[iu] = vals
        g[(iu[1], iu[0])] = vals
        return cls(name, g, shape)


@dataclass(frozen=True, slots=True)
class Signature:
    """The probe tokens and the components computed over them."""

    tokens: tuple[str, ...]
    components: tuple[Component, ...]
    n_layers: int = 0
    """Transformer blocks in the reference (0: unknown); aligns layers of pruned models."""
    ids: tuple[int, ...] = ()
    """Token id of each probe in the reference, for candidates stripped of their vocabulary."""


def select_probes(keys: list[str], k: int = PROBES) -> list[int]:
    """Row ids of the k keys with the smallest sha256 (stable under vocab extension)."""
    seen: set[str] = set()
    ranked: list[tuple[bytes, int]] = []
    for i, key in enumerate(keys):
        if key in seen or not key:
            continue
        seen.add(key)
        ranked.append((hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest(), i))
    ranked.sort()
    return sorted(i for _, i in ranked[:k])


def cosine_gram(x: F32) -> F32:
    """k×k cosine similarities of the rows of ``x`` (zero rows give zero similarity)."""
    x64 = x.astype(np.float64)
    norms = np.linalg.norm(x64, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    u = x64 / norms
    g: F32 = (u @ u.T).astype(np.float32)
    return g


def layer_names(view: ModelView, roles: tuple[str, ...] = ROLES) -> list[str]:
    """The projections to fingerprint: first, middle and last layer, each role present."""
    layers = block_ids(view)
    if not layers:
        return []
    picked = sorted({layers[0], layers[len(layers) // 2], layers[-1]})
    return [f"blk.{i}.{r}" for i in picked for r in roles if f"blk.{i}.{r}" in view.tensors]


MIN_SHARED = 16
"""Fewest probe tokens a comparison by token string needs."""


def probe_rows(view: ModelView, sig: Signature) -> tuple[list[int], list[str], str]:
    """Embedding row of each probe in ``view``, the probe strings found, and how they aligned.

    Probes align by token string (``"token"``). A candidate whose file carries no vocabulary
    (metadata stripped), or whose token strings share too few probes with the reference
    (tokens renamed to hide a base), is read at the reference's token ids instead (``"id"``):
    vocabulary extensions append tokens, so ids survive them, and an unrelated model read at
    those ids simply scores as independent.
    """
    emb = view.tensors.get("token_embd")
    if emb is None:
        msg = "no token embedding tensor"
        raise ExtractError(msg)
    found: list[tuple[int, str]] = []
    if view.vocab is not None:
        index: dict[str, int] = {}
        for i, key in enumerate(view.token_keys(emb.rows)):
            index.setdefault(key, i)
        found = [(index[t], t) for t in sig.tokens if t in index]
    if len(found) >= MIN_SHARED or len(sig.ids) != len(sig.tokens):
        return [r for r, _ in found], [t for _, t in found], "token"
    pairs = [(i, t) for i, t in zip(sig.ids, sig.tokens, strict=True) if i < emb.rows]
    return [r for r, _ in pairs], [t for _, t in pairs], "id"


def compute(view: ModelView, rows: list[int], names: list[str]) -> list[Component]:
    """Components for the given probe rows and projection names (missing ones are left out)."""
    emb = view.tensors["token_embd"]
    e = view.read_rows(emb, rows)
    out = [Component("token_embd", cosine_gram(e), (emb.rows, emb.cols))]
    for name in names:
        ref = view.tensors.get(name)
        if ref is None or ref.cols != emb.cols:
            continue
        w = view.read_all(ref)
        out.append(Component(name, cosine_gram(e @ w.T), (ref.rows, ref.cols)))
    return out


def build_signature(view: ModelView, k: int = PROBES) -> Signature:
    """The reference signature of a model."""
    emb = view.tensors.get("token_embd")
    if emb is None:
        msg = "no token embedding tensor"
        raise ExtractError(msg)
    keys = view.token_keys(emb.rows)
    rows = select_probes(keys, k)
    if len(rows) < 16:
        msg = f"only {len(rows)} probe tokens"
        raise ExtractError(msg)
    comps = compute(view, rows, layer_names(view))
    tokens = tuple(keys[r] for r in rows)
    return Signature(tokens, tuple(comps), len(block_ids(view)), tuple(rows))


def block_ids(view: ModelView) -> list[int]:
    """Sorted indices of the transformer blocks that have fingerprintable tensors."""
    return sorted({int(n.split(".")[1]) for n in view.tensors if n.startswith("blk.")})


def align_layer(name: str, ref_layers: int, cand: list[int]) -> str:
    """The candidate tensor at the same relative depth as reference tensor ``name``.

    A model with layers removed (pruned) keeps its first and last blocks; matching by
    relative depth pairs those exactly and the middle approximately. The reference's middle
    block (the one :func:`layer_names` picks) maps to the candidate's middle block, so every
    reference of a library reads the same three candidate blocks, whatever its depth.
    """
    if not name.startswith("blk.") or not cand or ref_layers in (0, len(cand)):
        return name
    _, idx, role = name.split(".", 2)
    i = int(idx)
    if i == ref_layers // 2:
        return f"blk.{cand[len(cand) // 2]}.{role}"
    j = cand[round(i * (len(cand) - 1) / max(1, ref_layers - 1))] if ref_layers > 1 else cand[0]
    return f"blk.{j}.{role}"
