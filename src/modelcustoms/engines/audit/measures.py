"""A measure: one comparison of subject and reference, with its interval, test and power."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from modelcustoms.engines.audit.stats import (
    REFERENCE,
    SUBJECT,
    Obs,
    Term,
    bootstrap,
    mcnemar_exact,
    minimum_detectable_effect,
)


@dataclass(frozen=True, slots=True)
class StatOptions:
    """How intervals are computed."""

    resamples: int = 2000
    level: float = 0.95
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Measure:
    """Subject vs reference on one quantity; ``delta`` is oriented so that negative is worse."""

    suite: str
    name: str
    description: str
    headline: bool
    subject: float
    subject_low: float
    subject_high: float
    reference: float
    delta: float
    delta_low: float
    delta_high: float
    p_value: float
    test: str
    n_subject: int
    n_reference: int
    clusters: int
    mde: float
    p_holm: float = math.nan

    def with_holm(self, p: float) -> Measure:
        """The same measure with its Holm-adjusted p-value."""
        return replace(self, p_holm=p)

    @property
    def worse(self) -> bool:
        """The whole interval lies below zero: the subject is worse than the reference."""
        return not math.isnan(self.delta_high) and self.delta_high < 0.0


@dataclass(frozen=True, slots=True)
class Paired:
    """One item's pass/fail for both models (None: not judgeable)."""

    cluster: str
    item: str
    arm: str
    subject: bool | None
    reference: bool | None


def _obs(rows: Sequence[Paired], arm_of: str | None = None) -> list[Obs]:
    out: list[Obs] = []
    for r in rows:
        arm = arm_of or r.arm
        out.append(Obs(r.cluster, SUBJECT, arm, None if r.subject is None else float(r.subject)))
        out.append(
            Obs(r.cluster, REFERENCE, arm, None if r.reference is None else float(r.reference))
        )
    return out


def paired_rate(
    suite: str,
    name: str,
    description: str,
    rows: Sequence[Paired],
    opts: StatOptions,
    *,
    headline: bool = False,
) -> Measure:
    """Pass rate of subject minus reference over the same items; exact McNemar on the pairs."""
    obs = _obs(rows, "x")
    d = bootstrap(
        obs,
        ((SUBJECT, "x", 1.0), (REFERENCE, "x", -1.0)),
        resamples=opts.resamples,
        level=opts.level,
        seed=opts.seed,
    )
    s = bootstrap(obs, ((SUBJECT, "x", 1.0),), resamples=opts.resamples, level=opts.level)
    r = bootstrap(obs, ((REFERENCE, "x", 1.0),), resamples=0)
    both = [x for x in rows if x.subject is not None and x.reference is not None]
    b = sum(1 for x in both if x.subject and not x.reference)
    c = sum(1 for x in both if x.reference and not x.subject)
    return Measure(
        suite=suite,
        name=name,
        description=description,
        headline=headline,
        subject=s.value,
        subject_low=s.low,
        subject_high=s.high,
        reference=r.value,
        delta=d.value,
        delta_low=d.low,
        delta_high=d.high,
        p_value=mcnemar_exact(b, c),
        test=f"exact McNemar (discordant {b} vs {c})",
        n_subject=sum(1 for x in rows if x.subject is not None),
        n_reference=sum(1 for x in rows if x.reference is not None),
        clusters=d.clusters,
        mde=minimum_detectable_effect(d.se),
    )


def contrast_measure(
    suite: str,
    name: str,
    description: str,
    obs: Sequence[Obs],
    delta_terms: Sequence[Term],
    subject_terms: Sequence[Term],
    reference_terms: Sequence[Term],
    opts: StatOptions,
    *,
    headline: bool = False,
) -> Measure:
    """Any contrast (difference-in-differences), with a bootstrap p-value."""
    d = bootstrap(obs, delta_terms, resamples=opts.resamples, level=opts.level, seed=opts.seed)
    s = bootstrap(obs, subject_terms, resamples=opts.resamples, level=opts.level, seed=opts.seed)
    r = bootstrap(obs, reference_terms, resamples=0)
    return Measure(
        suite=suite,
        name=name,
        description=description,
        headline=headline,
        subject=s.value,
        subject_low=s.low,
        subject_high=s.high,
        reference=r.value,
        delta=d.value,
        delta_low=d.low,
        delta_high=d.high,
        p_value=d.p_boot,
        test="cluster bootstrap",
        n_subject=sum(1 for o in obs if o.model == SUBJECT and o.value is not None),
        n_reference=sum(1 for o in obs if o.model == REFERENCE and o.value is not None),
        clusters=d.clusters,
        mde=minimum_detectable_effect(d.se),
    )
