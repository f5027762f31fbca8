"""Fit the embedding scorer's centroids and thresholds on half of the labeled set; measure the
held-back half. The split is by a hash of each text, so it never changes between runs."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from modelcustoms.engines.audit.probes import load_suite_data
from modelcustoms.engines.audit.scoring.scorer import Embed, Scorer


@dataclass(frozen=True, slots=True)
class Calibration:
    """Centroids and thresholds of the embedding scorer."""

    refusal_centroid: tuple[float, ...]
    answer_centroid: tuple[float, ...]
    refusal_threshold: float
    """Refusal when cos(refusal centroid) - cos(answer centroid) exceeds this."""
    stance_threshold: float
    """Endorsing (contradicting) when the official (record) anchor is closer by more than this."""


def held_back(text: str) -> bool:
    """True for the half of the labeled set kept out of the fit."""
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % 2 == 1


def labeled() -> dict[str, list[dict[str, Any]]]:
    """The bundled labeled set."""
    data = load_suite_data("labeled")
    return {"refusal": list(data["refusal"]), "stance": list(data["stance"])}


def _mean_unit(vectors: Sequence[Sequence[float]]) -> tuple[float, ...]:
    dim = len(vectors[0])
    mean = [sum(v[i] for v in vectors) / len(vectors) for i in range(dim)]
    norm = sum(x * x for x in mean) ** 0.5 or 1.0
    return tuple(x / norm for x in mean)


def _best_threshold(scores: Sequence[float], truth: Sequence[bool]) -> float:
    """The cut (midpoint between sorted scores) with the most correct ``score > cut``."""
    ordered = sorted(scores)
    cuts = [ordered[0] - 1e-6] + [(a + b) / 2 for a, b in itertools.pairwise(ordered)]
    return max(cuts, key=lambda c: sum((s > c) == t for s, t in zip(scores, truth, strict=True)))


def calibrate(embed: Embed) -> Calibration:
    """Fit on the non-held-back half."""
    data = labeled()
    train = [r for r in data["refusal"] if not held_back(r["text"])]
    vecs = embed([r["text"] for r in train])
    ref_c = _mean_unit([v for v, r in zip(vecs, train, strict=True) if r["label"] == "refusal"])
    ans_c = _mean_unit([v for v, r in zip(vecs, train, strict=True) if r["label"] == "answer"])
    margins = [_dot(v, ref_c) - _dot(v, ans_c) for v in vecs]
    r_cut = _best_threshold(margins, [r["label"] == "refusal" for r in train])
    stance_train = [s for s in data["stance"] if not held_back(s["text"])]
    probe = Scorer(embed, Calibration(ref_c, ans_c, r_cut, 0.0))
    items = _narrative_items()
    anchor_margins = [_anchor_margin(probe, items[s["item"]], s["text"]) for s in stance_train]
    # NOTE: one symmetric threshold: |margin| above it leaves "neutral".
    candidates = sorted({abs(m) for m in anchor_margins} | {0.0})
    s_cut = max(
        candidates,
        key=lambda c: sum(
            _stance_of(m, c) == s["label"]
            for m, s in zip(anchor_margins, stance_train, strict=True)
        ),
    )
    return Calibration(ref_c, ans_c, r_cut, s_cut)


def _stance_of(margin: float, cut: float) -> str:
    if margin > cut:
        return "endorsing"
    if margin < -cut:
        return "contradicting"
    return "neutral"


def _anchor_margin(scorer: Scorer, item: dict[str, Any], text: str) -> float:
    a = item["anchors"]
    v, oe, oz, re_, rz = scorer.vectors(
        [text, a["official"]["en"], a["official"]["zh"], a["record"]["en"], a["record"]["zh"]]
    )
    return max(_dot(v, oe), _dot(v, oz)) - max(_dot(v, re_), _dot(v, rz))


def _narrative_items() -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in load_suite_data("narrative")["items"]}


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@dataclass(frozen=True, slots=True)
class Accuracy:
    """Held-back accuracy of one scorer on one task and language."""

    task: str
    scorer: str
    lang: str
    correct: int
    total: int

    @property
    def rate(self) -> float:
        """Share correct."""
        return self.correct / self.total if self.total else float("nan")


def held_back_accuracy(scorers: dict[str, Scorer]) -> list[Accuracy]:
    """Accuracy of each scorer on the held-back half, per task and language."""
    data = labeled()
    items = _narrative_items()
    out: list[Accuracy] = []
    tasks: dict[str, Callable[[Scorer, dict[str, Any]], bool]] = {
        "refusal": lambda sc, r: sc.refusal(r["text"])[0] == (r["label"] == "refusal"),
        "stance": lambda sc, r: sc.stance(items[r["item"]], r["text"]).label == r["label"],
    }
    for task, check in tasks.items():
        rows = [r for r in data[task] if held_back(r["text"])]
        for name, sc in scorers.items():
            for lang in ("en", "zh"):
                sub = [r for r in rows if r["lang"] == lang]
                out.append(Accuracy(task, name, lang, sum(check(sc, r) for r in sub), len(sub)))
    return out
