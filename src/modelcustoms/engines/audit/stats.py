"""Paired statistics: cluster bootstrap of contrasts, exact McNemar, Holm, detectable effect.

Observations are (cluster, model, arm, value). A statistic is a linear contrast of group means,
``sum(coef * mean(model, arm))``: a plain delta is ``s.x - r.x``, the censorship
difference-in-differences is ``(s.sens - s.gov) - (r.sens - r.gov)``. The bootstrap resamples
whole clusters (topics, templates), because items of one topic are not independent. Pure Python
(no numpy): audits have hundreds of items, not millions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

SUBJECT = "s"
REFERENCE = "r"


@dataclass(frozen=True, slots=True)
class Obs:
    """One scored value (``None``: not judgeable, left out of the means)."""

    cluster: str
    model: str
    arm: str
    value: float | None


Term = tuple[str, str, float]
"""(model, arm, coefficient)."""


def _table(obs: Sequence[Obs]) -> tuple[list[str], dict[str, dict[tuple[str, str], list[float]]]]:
    per: dict[str, dict[tuple[str, str], list[float]]] = {}
    for o in obs:
        if o.value is None:
            continue
        cell = per.setdefault(o.cluster, {}).setdefault((o.model, o.arm), [0.0, 0.0])
        cell[0] += o.value
        cell[1] += 1.0
    return sorted(per), per


def _contrast(
    clusters: Sequence[str],
    per: dict[str, dict[tuple[str, str], list[float]]],
    terms: Sequence[Term],
) -> float:
    total = 0.0
    for model, arm, coef in terms:
        s = n = 0.0
        for c in clusters:
            cell = per[c].get((model, arm))
            if cell is not None:
                s += cell[0]
                n += cell[1]
        if n == 0:
            return math.nan
        total += coef * s / n
    return total


def contrast(obs: Sequence[Obs], terms: Sequence[Term]) -> float:
    """The point estimate (NaN when a group has no judgeable value)."""
    clusters, per = _table(obs)
    return _contrast(clusters, per, terms)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its percentile cluster-bootstrap interval."""

    value: float
    low: float
    high: float
    se: float
    p_boot: float
    """Two-sided bootstrap p-value for value == 0 (percentile method)."""
    clusters: int


def bootstrap(
    obs: Sequence[Obs],
    terms: Sequence[Term],
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Percentile CI of a contrast, resampling clusters with replacement."""
    clusters, per = _table(obs)
    point = _contrast(clusters, per, terms)
    if not clusters or math.isnan(point):
        return Estimate(math.nan, math.nan, math.nan, math.nan, 1.0, len(clusters))
    rng = random.Random(seed)  # noqa: S311 - statistics, not security
    draws: list[float] = []
    for _ in range(resamples):
        sample = [clusters[rng.randrange(len(clusters))] for _ in clusters]
        v = _contrast(sample, per, terms)
        if not math.isnan(v):
            draws.append(v)
    if not draws:
        return Estimate(point, math.nan, math.nan, math.nan, 1.0, len(clusters))
    draws.sort()
    alpha = (1.0 - level) / 2.0
    low = draws[int(alpha * (len(draws) - 1))]
    high = draws[math.ceil((1.0 - alpha) * (len(draws) - 1))]
    mean = sum(draws) / len(draws)
    se = math.sqrt(sum((d - mean) ** 2 for d in draws) / max(1, len(draws) - 1))
    # NOTE: (count + 1) / (B + 1): a finite resample never proves p = 0.
    below = (sum(1 for d in draws if d <= 0.0) + 1) / (len(draws) + 1)
    above = (sum(1 for d in draws if d >= 0.0) + 1) / (len(draws) + 1)
    p = min(1.0, 2.0 * min(below, above))
    return Estimate(point, low, high, se, p, len(clusters))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts (binomial, p = 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def minimum_detectable_effect(se: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true difference detected with ``power`` at two-sided ``alpha``, given the SE."""
    if math.isnan(se):
        return math.nan
    return (_z(1.0 - alpha / 2.0) + _z(power)) * se


def _z(p: float) -> float:
    """Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
         -30.66479806614716, 2.506628277459239)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
         -13.28068155288572)  # fmt: skip
    c = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    lo = 0.02425
    if p < lo:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    if p > 1 - lo:
        return -_z(1 - p)
    q = p - 0.5
    r = q * q
    return (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )
