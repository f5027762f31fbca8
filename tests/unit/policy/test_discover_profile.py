"""The discover-origin profile over the ``references`` the facts document exposes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from modelcustoms.core import Decision, Fact
from modelcustoms.pipeline import discover
from modelcustoms.policy import Status, build_facts, evaluate, load_policy

CORPUS = Path(__file__).resolve().parents[2] / "data" / "discover" / "corpus"
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _judge(path: Path, extra: tuple[Fact, ...] = ()):
    report = discover(path, now=NOW)
    if extra:
        run = report.runs[0].model_copy(update={"facts": (*report.runs[0].facts, *extra)})
        report = report.model_copy(update={"runs": (run,)})
    ev = evaluate(report, load_policy("discover-origin"))
    return ev.verdict.decision, set(ev.verdict.fired_rules), {r.rule_id: r for r in ev.results}


def test_references_are_exposed_to_rules_with_every_field() -> None:
    doc = build_facts(discover(CORPUS / "moonshot_env", now=NOW))
    assert doc.references and all("host_country" in r for r in doc.references)
    assert {r["publisher_country"] for r in doc.references} == {"CN"}
    assert "references" in doc.to_cel()


def test_denies_models_and_services_from_a_covered_nation() -> None:
    decision, fired, results = _judge(CORPUS / "langchain_tongyi")
    assert decision is Decision.DENY
    assert {"discover.publisher-country", "discover.host-country"} <= fired
    assert "chain.py qwen-max (CN)" in results["discover.publisher-country"].message


def test_allows_a_western_only_app() -> None:
    decision, fired, _ = _judge(CORPUS / "western_app")
    assert (decision, fired) == (Decision.ALLOW, set())


def test_unknown_origin_warns_and_malformed_reference_denies() -> None:
    odd = {"kind": "hf-model", "model": "acme/x", "file": "a.py", "publisher_country": "China"}
    unknown = {"kind": "model-string", "model": "mystery-7b", "file": "b.py"}
    facts = tuple(
        Fact(key="discover.reference", value=v, engine="discover") for v in (unknown, odd)
    )
    decision, fired, _ = _judge(CORPUS / "western_app", facts)
    assert decision is Decision.DENY
    assert {"discover.origin-unknown", "discover.reference-invalid"} <= fired


def test_not_applicable_without_the_discover_engine() -> None:
    from tests.unit.policy.reports import make_report, origin

    ev = evaluate(make_report(facts=origin("CN")), load_policy("discover-origin"))
    assert ev.verdict.decision is Decision.ALLOW
    assert {r.status for r in ev.results} == {Status.NOT_APPLICABLE}
