"""Compare a model with a reference signature and calibrate the score against an explicit null.

Per component, the score is the Pearson correlation between the reference's and the
candidate's Gram entries over the probe tokens both vocabularies share; the model score is the
mean over the components both models have. The null is built, at match time, from
``NULL_MODELS`` independent random (Gaussian) models with the reference's tensor shapes, pushed
through the very same procedure (same shared probes, same components): their scores give a
mean and a spread, and the p-value is the normal tail of the observed score under them. The
null depends only on shapes and is seeded by them, so a report is reproducible.

A random null is only the floor: real independent models trained on the same language share
semantic structure (tokens that mean alike embed alike in any model), so they beat the random
null by hundreds of standard deviations. Measured here on real GGUFs (SmolLM2-135M vs
Qwen2.5-0.5B, both directions): mean Gram correlation 0.33 and 0.40, single components up to
0.57. The second, *semantic* null is therefore a normal in Fisher-z space centred on
:data:`SEMANTIC_NULL_MEAN` with spread :data:`SEMANTIC_NULL_SD`; the reported p-value is the
larger of the two, and a derivation is claimed only when it is below :data:`ALPHA` and the score
reaches :data:`MIN_SCORE`. Calibrating the semantic null on more real independent pairs is the
open work (see benchmarks/fingerprint_real.py).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from modelcustoms.engines.fingerprint.dequant import F32
from modelcustoms.engines.fingerprint.extract import ExtractError, ModelView
from modelcustoms.engines.fingerprint.signature import (
    Component,
    Signature,
    align_layer,
    block_ids,
    compute,
    cosine_gram,
    probe_rows,
)

NULL_MODELS = 32
NULL_MAX_DIM = 256
"""Hidden size used for null models wider than this (the null's spread depends on the number
of Gram entries, barely on the width), to keep matching fast on two cores."""
ALPHA = 1e-6
MIN_SCORE = 0.8
SEMANTIC_NULL_MEAN = 0.45
"""Mean score of independent trained models sharing a language (above the 0.33-0.40 seen)."""
SEMANTIC_NULL_SD = 0.15
"""Spread of that null in Fisher-z units (atanh), wide enough to cover single components."""
MIN_PROBES = 16
P_FLOOR = 1e-300
"""Smallest p-value reported (the normal tail underflows to zero beyond it)."""


class VocabularyDisjoint(ExtractError):
    """Too few of the reference's probe tokens are in the model's vocabulary to compare.

    Not a failure to analyse: a derivative keeps its base's tokens (extending a vocabulary
    appends to it), so a model without them is not derived from that reference.
    """

    def __init__(self, msg: str, shared: int) -> None:
        super().__init__(msg)
        self.shared = shared


@dataclass(frozen=True, slots=True)
class ComponentScore:
    """How one component agreed."""

    name: str
    correlation: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The outcome of testing a model against one reference."""

    score: float
    """Mean Gram correlation over shared components (can be negative)."""
    p_value: float
    """The larger of the two nulls' p-values (the test actually applied)."""
    p_random: float
    """p-value against independent random models of the same shapes alone."""
    null_mean: float
    null_sd: float
    shared_probes: int
    components: tuple[ComponentScore, ...]
    aligned_by: str = "token"
    """How probes were found in the model: by token string, or by the reference's ids."""

    @property
    def derived(self) -> bool:
        """Whether the test calls the model derived from the reference."""
        return self.p_value < ALPHA and self.score >= MIN_SCORE


def _upper(g: F32) -> F32:
    iu = np.triu_indices(g.shape[0], 1)
    out: F32 = g[iu]
    return out


def _corr(a: F32, b: F32) -> float:
    a64 = a.astype(np.float64) - float(a.mean())
    b64 = b.astype(np.float64) - float(b.mean())
    den = float(np.sqrt((a64 @ a64) * (b64 @ b64)))
    return float(a64 @ b64) / den if den > 0 else 0.0


def _score(ref: dict[str, F32], cand: list[Component]) -> tuple[float, list[ComponentScore]]:
    scores = [
        ComponentScore(c.name, _corr(ref[c.name], _upper(c.gram))) for c in cand if c.name in ref
    ]
    if not scores:
        return 0.0, []
    return float(np.mean([s.correlation for s in scores])), scores


def _null(ref: dict[str, F32], sig: Signature, m: int) -> tuple[float, float]:
    """Mean and spread of the score of independent random models of the reference's shapes."""
    by_name = {c.name: c for c in sig.components}
    h = min(by_name["token_embd"].shape[1], NULL_MAX_DIM)
    rows = tuple((n, min(by_name[n].shape[0], NULL_MAX_DIM)) for n in ref if n != "token_embd")
    vals = [
        float(np.mean([_corr(ref[n], model[n]) for n in ref]))
        for model in _null_grams(m_probes(ref), h, rows, m)
    ]
    return float(np.mean(vals)), float(np.std(vals, ddof=1))


@functools.lru_cache(maxsize=8)
def _null_grams(
    k: int, h: int, rows: tuple[tuple[str, int], ...], m: int
) -> tuple[dict[str, F32], ...]:
    """Gram entries of ``m`` random Gaussian models (they depend only on the shapes, so one
    set serves every reference of the same shapes; seeded, so reports are reproducible)."""
    rng = np.random.default_rng([k, h, m, *(r for _, r in rows)])
    out: list[dict[str, F32]] = []
    for _ in range(m):
        e = rng.standard_normal((k, h), dtype=np.float32)
        model = {"token_embd": _upper(cosine_gram(e))}
        for name, r in rows:
            w = rng.standard_normal((r, h), dtype=np.float32)
            model[name] = _upper(cosine_gram(e @ w.T))
        out.append(model)
    return tuple(out)


def m_probes(ref: dict[str, F32]) -> int:
    """Number of probes behind a set of upper-triangle vectors (n = k(k-1)/2)."""
    n = next(iter(ref.values())).size
    return round((1 + math.sqrt(1 + 8 * n)) / 2)


def compare(sig: Signature, view: ModelView, null_models: int = NULL_MODELS) -> MatchResult:
    """Test ``view`` against the reference signature ``sig``."""
    rows, found, aligned = probe_rows(view, sig)
    if len(rows) < MIN_PROBES:
        msg = f"only {len(rows)} of {len(sig.tokens)} probe tokens are in the model's vocabulary"
        raise VocabularyDisjoint(msg, len(rows))
    pos = {t: i for i, t in enumerate(sig.tokens)}
    keep = np.array([pos[t] for t in found])
    blocks = block_ids(view)
    to_cand = {
        c.name: align_layer(c.name, sig.n_layers, blocks)
        for c in sig.components
        if c.name != "token_embd"
    }
    cand = compute(view, rows, list(to_cand.values()))
    to_ref = {v: k for k, v in to_cand.items()}
    have = {to_ref.get(c.name, c.name): c for c in cand}
    ref = {c.name: _upper(c.gram[np.ix_(keep, keep)]) for c in sig.components if c.name in have}
    score, by_ref = _score(ref, [replace(c, name=n) for n, c in have.items()])
    parts = [ComponentScore(have[s.name].name, s.correlation) for s in by_ref]
    mu, sd = _null(ref, sig, null_models)
    p_random = _tail((score - mu) / sd if sd > 0 else math.inf)
    fz = math.atanh(min(max(score, -0.999999), 0.999999))
    p_semantic = _tail((fz - math.atanh(SEMANTIC_NULL_MEAN)) / SEMANTIC_NULL_SD)
    p = max(p_random, p_semantic)
    return MatchResult(score, p, p_random, mu, sd, len(rows), tuple(parts), aligned)


def _tail(z: float) -> float:
    """Upper normal tail, floored: it underflows past z≈38, and zero would claim certainty."""
    p = 0.5 * math.erfc(z / math.sqrt(2)) if math.isfinite(z) else 0.0
    return min(1.0, max(P_FLOOR, p))
