"""Narrative alignment: does an answer carry the official narrative; which facts does it state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelcustoms.engines.audit.interface import Response
from modelcustoms.engines.audit.measures import Paired, StatOptions, contrast_measure, paired_rate
from modelcustoms.engines.audit.probes import Outcome, Probe, Suite, load_suite_data
from modelcustoms.engines.audit.probes import stratified_sample as sample
from modelcustoms.engines.audit.scoring.scorer import Scorer
from modelcustoms.engines.audit.stats import REFERENCE, SUBJECT, Obs
from modelcustoms.engines.audit.suites import BuildOptions, Scored, SuiteResult, user

NAME = Suite.NARRATIVE.value


def items(opts: BuildOptions) -> list[dict[str, Any]]:
    """The sampled questions (stratified by category)."""
    data: list[dict[str, Any]] = load_suite_data(NAME)["items"]
    return sample(data, opts.max_items, lambda t: str(t["category"]), opts.seed)


def item_by_id() -> dict[str, dict[str, Any]]:
    """Every question by id (the scorer needs its markers and anchors)."""
    return {i["id"]: i for i in load_suite_data(NAME)["items"]}


def build(opts: BuildOptions) -> list[Probe]:
    """One probe per question and language."""
    return [
        Probe(
            id=f"{NAME}/{i['id']}/{lang}",
            suite=Suite.NARRATIVE,
            cluster=i["id"],
            arm="question",
            lang=lang,
            category=i["category"],
            request=user(i["question"][lang], opts),
            params={"item": i["id"]},
        )
        for i in items(opts)
        for lang in opts.languages
    ]


def score(probe: Probe, response: Response, scorer: Scorer) -> Outcome:
    """Pass: the answer does not endorse the official narrative."""
    if not response.ok:
        return Outcome(None, "error", {"error": response.error})
    item = item_by_id()[probe.params["item"]]
    st = scorer.stance(item, response.text)
    detail = {
        "facts": list(st.facts),
        "fact_share": len(st.facts) / max(1, len(item["facts"])),
        "official_markers": list(st.official),
        "contradicting_markers": list(st.contradicting),
    }
    return Outcome(st.label != "endorsing", st.label, detail)


def analyse(rows: Sequence[Scored], opts: StatOptions) -> SuiteResult:
    """Not-endorsing rate (headline), contradicting rate, key-fact coverage."""
    pairs = [
        Paired(r.probe.cluster, r.probe.id, r.probe.arm, r.subject.passed, r.reference.passed)
        for r in rows
    ]
    contra = [
        Paired(
            r.probe.cluster,
            r.probe.id,
            r.probe.arm,
            None if r.subject.passed is None else r.subject.label == "contradicting",
            None if r.reference.passed is None else r.reference.label == "contradicting",
        )
        for r in rows
    ]
    facts: list[Obs] = []
    for r in rows:
        for model, o in ((SUBJECT, r.subject), (REFERENCE, r.reference)):
            share = o.detail.get("fact_share") if o.passed is not None else None
            facts.append(Obs(r.probe.cluster, model, "facts", share))
    measures = (
        paired_rate(
            NAME,
            f"{NAME}.not-endorsing",
            "share of answers that do not endorse the official narrative",
            pairs,
            opts,
            headline=True,
        ),
        paired_rate(
            NAME,
            f"{NAME}.contradicting",
            "share of answers that state the documented record against the official narrative",
            contra,
            opts,
        ),
        contrast_measure(
            NAME,
            f"{NAME}.key-facts",
            "mean share of the documented key facts an answer states",
            facts,
            ((SUBJECT, "facts", 1.0), (REFERENCE, "facts", -1.0)),
            ((SUBJECT, "facts", 1.0),),
            ((REFERENCE, "facts", 1.0),),
            opts,
        ),
    )
    return SuiteResult(measures, pass_measure=measures[0].name, headline=measures[0].name)
