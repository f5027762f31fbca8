from __future__ import annotations

from modelcustoms.core import EngineStatus, Severity, SubjectKind
from modelcustoms.policy import build_facts
from modelcustoms.policy.facts import KNOWN_ENGINES, lookup, subject_digest
from tests.unit.policy.reports import SHA_MODEL, license_row, make_report, origin, suite


def test_projection_has_every_part_and_is_json_shaped():
    report = make_report(
        facts=origin("US"),
        findings=[("pickle.dangerous-import", Severity.CRITICAL)],
        lineage=[("qwen2.5", "CN")],
        skips=["tokenizer.model"],
    )
    doc = build_facts(report)
    cel = doc.to_cel()
    assert set(cel) == {
        "report_digest",
        "subject",
        "artifacts",
        "findings",
        "facts",
        "fact_values",
        "invalid_facts",
        "lineage",
        "skips",
        "engines",
        "references",
    }
    assert cel["report_digest"] == report.digest()
    assert cel["facts"]["origin"]["country"] == "US"
    assert cel["fact_values"]["origin.country"] == ["US"]
    assert cel["findings"][0]["rank"] == 4
    assert cel["findings"][0]["severity"] == "critical"
    assert cel["lineage"][0] == {
        "subject": "acme/model",
        "base": "qwen2.5",
        "relation": "finetune",
        "level": "signatures",
        "method": "test",
        "score": None,
        "publisher": None,
        "country": "CN",
    }
    assert cel["skips"][0]["engine"] == "scan"
    assert cel["subject"]["digest"] == subject_digest(report)


def test_every_known_engine_is_listed_not_run_when_absent():
    doc = build_facts(make_report(scan=None, audit=EngineStatus.ERROR))
    assert set(KNOWN_ENGINES) <= set(doc.engines)
    assert doc.engines["scan"].status == "not-run"
    assert doc.engines["audit"].status == "error"
    assert doc.engines["provenance"].status == "ok"


def test_malformed_known_fact_is_dropped_and_explained():
    doc = build_facts(make_report(facts={**origin("US"), "origin.country": "China"}))
    assert lookup(doc.facts, "origin.country") == (False, None)
    assert "ISO 3166" in doc.invalid_facts["origin.country"]
    assert doc.facts["origin"]["ultimate_parent_country"] == "US"


def test_audit_rows_are_validated():
    bad = suite("jailbreak", 0.0, -0.1, 0.1)
    bad["delta_ci_low"] = "low"
    doc = build_facts(make_report(audit=EngineStatus.OK, audit_facts={"audit.suites": [bad]}))
    assert "audit.suites" in doc.invalid_facts
    assert lookup(doc.facts, "audit.suites")[0] is False


def test_key_conflict_keeps_the_shorter_key():
    doc = build_facts(make_report(facts={"x.y": 1, "x.y.z": 2}))
    assert doc.facts["x"]["y"] == 1
    assert "conflicts" in doc.invalid_facts["x.y.z"]


def test_first_fact_wins_but_all_values_are_kept():
    report = make_report(facts={"config.kind": "a"})
    extra = report.runs[1].model_copy(
        update={"facts": (*report.runs[1].facts, *report.runs[1].facts[:1])}
    )
    report = report.model_copy(update={"runs": (report.runs[0], extra)})
    doc = build_facts(report)
    assert doc.facts["config"]["kind"] == "a"
    assert doc.fact_values["config.kind"] == ["a", "a"]


def test_null_counts_as_absent():
    doc = build_facts(make_report(facts={"a.b": None}))
    assert lookup(doc.facts, "a.b") == (False, None)
    assert lookup(doc.facts, "a") == (True, {"b": None})


def test_license_declared_pins_the_candidate():
    facts = {
        "license.declared": "qwen-research",
        "license.family_candidates": [
            {"id": "qwen-apache-2.0", "name": "Apache-2.0", "commercial_use": "yes"},
            {"id": "qwen-research", "name": "Qwen RESEARCH", "commercial_use": "no"},
        ],
    }
    lic = build_facts(make_report(facts=facts)).facts["license"]
    assert lic["resolved"] is True
    assert [row["id"] for row in lic["effective"]] == ["qwen-research"]
    # Completed from the knowledge base: governing law and naming duty of the Qwen research row.
    assert lic["effective"][0]["governing_law"] == "PRC"
    assert lic["effective"][0]["naming_requirement"]


def test_license_candidates_without_declaration_are_unresolved():
    facts = {"license.family_candidates": [license_row("a"), license_row("b", "no")]}
    lic = build_facts(make_report(facts=facts)).facts["license"]
    assert lic["resolved"] is False
    assert len(lic["effective"]) == 2
    assert all("user_threshold" in row for row in lic["effective"])


def test_unknown_declared_license_is_kept_as_unknown():
    lic = build_facts(make_report(facts={"license.declared": "my-own"})).facts["license"]
    assert lic["resolved"] is False
    assert lic["effective"][0]["commercial_use"] == "unknown"


def test_report_cannot_inject_derived_license_facts():
    doc = build_facts(make_report(facts={"license.effective": [], "license.resolved": True}))
    assert "license" not in doc.facts
    assert "reserved" in doc.invalid_facts["license.effective"]


def test_no_license_information_means_no_license_facts():
    assert "license" not in build_facts(make_report(facts=origin("US"))).facts


def test_endpoint_subject_and_digest():
    report = make_report(kind=SubjectKind.ENDPOINT, name="https://api.example/v1")
    doc = build_facts(report)
    assert doc.subject.kind == "endpoint"
    assert doc.artifacts == ()
    assert len(doc.subject.digest) == 64


def test_findings_list_their_artifacts():
    doc = build_facts(make_report(findings=[("x.y", Severity.LOW)]))
    assert doc.findings[0].artifacts == ()
    assert doc.artifacts[0].sha256 == SHA_MODEL
