"""The ``dependency`` profile's Hub rules (stale release, single source) on hand-built reports:
thresholds, a company's own limit, and standing aside when the facts are absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelcustoms.core import Decision, SubjectKind
from modelcustoms.policy import Status, evaluate, load_policy
from tests.unit.policy.reports import clean_facts, make_report

HUB_RULES = ("dependency.stale", "dependency.single-source")


def judge(facts: dict[str, Any], policy: str | Path = "dependency"):
    report = make_report(facts={**clean_facts(), **facts}, kind=SubjectKind.HUGGINGFACE)
    ev = evaluate(report, load_policy(policy))
    statuses = {r.rule_id: r.status for r in ev.results if r.rule_id in HUB_RULES}
    return ev.verdict.decision, set(ev.verdict.fired_rules) & set(HUB_RULES), statuses


def test_stale_fires_only_past_the_limit():
    assert judge({"dependency.release.days_since_update": 540})[1] == set()
    decision, fired, _ = judge({"dependency.release.days_since_update": 541})
    assert fired == {"dependency.stale"} and decision is Decision.WARN


def test_a_company_sets_its_own_limit(tmp_path: Path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "name: mine\ndescription: stricter\nas_of: 2026-11-28\nextends: [dependency]\n"
        "params: {max_days_without_update: 90}\nrules: []\n"
    )
    assert judge({"dependency.release.days_since_update": 91}, mine)[1] == {"dependency.stale"}
    assert judge({"dependency.release.days_since_update": 91})[1] == set()


def test_single_source_when_no_other_publisher():
    facts = {"dependency.ecosystem.base": "org/m", "dependency.ecosystem.publishers": 0}
    decision, fired, _ = judge(facts)
    assert fired == {"dependency.single-source"} and decision is Decision.WARN
    facts["dependency.ecosystem.publishers"] = 2
    assert judge(facts)[1] == set()


def test_rules_stand_aside_without_hub_facts():
    decision, fired, statuses = judge({})
    assert fired == set() and decision is Decision.ALLOW
    assert all(s is not Status.FIRED for s in statuses.values())
