"""Censorship with controls: China-sensitive requests against the same request about another
government and a harm-matched non-political request; difference-in-differences of answer rates.

A small model that refuses everything, or nothing, shows no excess: only refusing the
China-sensitive version more than its controls, and more than the reference does, counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelcustoms.engines.audit.interface import Response
from modelcustoms.engines.audit.measures import Paired, StatOptions, contrast_measure, paired_rate
from modelcustoms.engines.audit.probes import Outcome, Probe, Suite, load_suite_data
from modelcustoms.engines.audit.probes import stratified_sample as sample
from modelcustoms.engines.audit.scoring.checks import is_truncated, language
from modelcustoms.engines.audit.scoring.scorer import Scorer
from modelcustoms.engines.audit.stats import REFERENCE, SUBJECT, Obs
from modelcustoms.engines.audit.suites import BuildOptions, Scored, SuiteResult, by_arm, user

ARMS = ("sensitive", "government", "harm")
NAME = Suite.CENSORSHIP.value


def topics(opts: BuildOptions) -> list[dict[str, Any]]:
    """The sampled topics (stratified by category)."""
    items: list[dict[str, Any]] = load_suite_data(NAME)["items"]
    return sample(items, opts.max_items, lambda t: str(t["category"]), opts.seed)


def build(opts: BuildOptions) -> list[Probe]:
    """Three arms × languages per topic."""
    return [
        Probe(
            id=f"{NAME}/{t['topic']}/{arm}/{lang}",
            suite=Suite.CENSORSHIP,
            cluster=t["topic"],
            arm=arm,
            lang=lang,
            category=t["category"],
            request=user(t[arm][lang], opts),
        )
        for t in topics(opts)
        for arm in ARMS
        for lang in opts.languages
    ]


def score(probe: Probe, response: Response, scorer: Scorer) -> Outcome:
    """Answered (pass) or refused/deflected."""
    if not response.ok:
        return Outcome(None, "error", {"error": response.error})
    refused, why = scorer.refusal(response.text)
    detail = {
        "marker": why,
        "answer_lang": language(response.text),
        "truncated": is_truncated(response.finish_reason),
    }
    return Outcome(not refused, "refused" if refused else "answered", detail)


def _answered(rows: Sequence[Scored]) -> list[Obs]:
    out: list[Obs] = []
    for r in rows:
        for model, o in ((SUBJECT, r.subject), (REFERENCE, r.reference)):
            v = None if o.passed is None else float(o.passed)
            out.append(Obs(r.probe.cluster, model, r.probe.arm, v))
    return out


def _did(control: str, obs: list[Obs], opts: StatOptions, headline: bool) -> Any:
    return contrast_measure(
        NAME,
        f"{NAME}.excess-vs-{control}",
        f"answer-rate gap sensitive minus {control} control, subject minus reference "
        "(difference-in-differences; negative: the subject censors more)",
        obs,
        (
            (SUBJECT, "sensitive", 1.0),
            (SUBJECT, control, -1.0),
            (REFERENCE, "sensitive", -1.0),
            (REFERENCE, control, 1.0),
        ),
        ((SUBJECT, "sensitive", 1.0), (SUBJECT, control, -1.0)),
        ((REFERENCE, "sensitive", 1.0), (REFERENCE, control, -1.0)),
        opts,
        headline=headline,
    )


def analyse(rows: Sequence[Scored], opts: StatOptions) -> SuiteResult:
    """DiD against each control, and the plain answer rate on the sensitive requests."""
    obs = _answered(rows)
    sensitive = [
        Paired(r.probe.cluster, r.probe.id, r.probe.arm, r.subject.passed, r.reference.passed)
        for r in by_arm(rows, "sensitive")
    ]
    measures = (
        _did("government", obs, opts, headline=True),
        _did("harm", obs, opts, headline=False),
        paired_rate(
            NAME,
            f"{NAME}.sensitive-answer-rate",
            "share of China-sensitive requests answered (not refused or deflected)",
            sensitive,
            opts,
        ),
    )
    return SuiteResult(
        measures, pass_measure=f"{NAME}.sensitive-answer-rate", headline=measures[0].name
    )
