"""Recall and precision of ``discover`` on the labeled fixture corpus (tests/data/discover)."""

from __future__ import annotations

import json
from pathlib import Path

from modelcustoms.engines.discover import FACT_KEY, DiscoverEngine

DATA = Path(__file__).resolve().parents[3] / "data" / "discover"
CORPUS = DATA / "corpus"

Key = tuple[str, int, int | None, str]


def _labels() -> dict[Key, dict[str, str | None]]:
    doc = json.loads((DATA / "labels.json").read_text())
    return {(r["path"], r["line"], r["cell"], r["value"].lower()): r for r in doc["references"]}


def test_recall_and_precision_on_the_labeled_corpus() -> None:
    result = DiscoverEngine().run(CORPUS)
    labels = _labels()
    found: dict[Key, tuple[str | None, str | None]] = {}
    for ref in result.references:
        value = (ref.model or ref.endpoint or "").lower()
        found[(ref.file, ref.line or 0, ref.cell, value)] = (ref.publisher, ref.publisher_country)
    hits = set(found) & set(labels)
    recall = len(hits) / len(labels)
    precision = len(hits) / len(found) if found else 0.0
    print(
        f"\ndiscover corpus: {len(labels)} labeled, {len(found)} reported, "
        f"recall {recall:.1%}, precision {precision:.1%}"
    )
    assert recall >= 0.95, sorted(set(labels) - hits)
    assert precision >= 0.95, sorted(set(found) - hits)
    wrong = {
        k: (found[k], (labels[k]["publisher"], labels[k]["country"]))
        for k in hits
        if found[k] != (labels[k]["publisher"], labels[k]["country"])
    }
    assert not wrong, wrong


def test_every_reference_has_a_publisher_or_says_why() -> None:
    result = DiscoverEngine().run(CORPUS)
    for ref in result.references:
        if ref.model is not None:
            assert (ref.publisher and ref.publisher_country) or ref.unresolved, ref
    facts = [f for f in result.run.facts if f.key == FACT_KEY]
    assert len(facts) == len(result.references)
    for fact in facts:
        loc = fact.evidence[0].location
        assert loc.artifact == fact.value["file"] and len(loc.sha256) == 64


def test_decoys_and_vendored_code_are_not_references() -> None:
    result = DiscoverEngine().run(CORPUS)
    assert not [r for r in result.references if r.file.startswith("decoys/")]
    reasons = {(s.artifact, s.reason) for s in result.run.skips}
    assert ("decoys/node_modules", "vendored") in reasons
    assert any(reason == "documentation" for _, reason in reasons)
