"""Discover findings: one per reference, ranked by origin; SARIF and --fail-on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from modelcustoms.cli import main
from modelcustoms.core import Severity
from modelcustoms.core.references import ModelReference, ReferenceKind, Via
from modelcustoms.engines.discover import FACT_KEY, RULES, DiscoverEngine
from modelcustoms.engines.discover.findings import rule_for
from modelcustoms.pipeline import discover
from modelcustoms.render import OutputFormat, renderer_for

CORPUS = Path(__file__).resolve().parents[3] / "data" / "discover" / "corpus"


def _ref(**kw: object) -> ModelReference:
    base: dict[str, object] = {
        "kind": ReferenceKind.HF_MODEL,
        "file": "a.py",
        "line": 1,
        "confidence": 0.9,
        "via": Via.LITERAL,
    }
    return ModelReference.model_validate(base | kw)


def test_rule_ranks_host_first_then_publisher_then_unresolved() -> None:
    cn_host = _ref(model="llama-3", publisher="meta", publisher_country="US", host_country="CN")
    assert rule_for(cn_host).id == "discover.foreign-endpoint"
    hk_model = _ref(model="x/y", publisher="p", publisher_country="HK")
    assert rule_for(hk_model).id == "discover.foreign-model"
    qwen_on_us = _ref(model="q", publisher="alibaba", publisher_country="CN", host_country="US")
    assert rule_for(qwen_on_us).id == "discover.foreign-model"
    unknown = _ref(model="mystery-7b", unresolved="no publisher")
    assert rule_for(unknown).severity is Severity.LOW
    ordinary = _ref(model="meta-llama/Llama-3-8B", publisher="meta", publisher_country="US")
    assert rule_for(ordinary).id == "discover.model-reference"
    assert max(r.severity for r in RULES) is Severity.MEDIUM  # never high by default


def test_one_finding_per_reference_with_the_facts_evidence() -> None:
    result = DiscoverEngine().run(CORPUS)
    run = result.run
    facts = [f for f in run.facts if f.key == FACT_KEY]
    assert len(run.findings) == len(facts) == len(result.references)
    for fact, finding in zip(facts, run.findings, strict=True):
        assert finding.evidence == fact.evidence
    assert {r.id for r in run.rules} == {f.rule_id for f in run.findings}
    western = [f for f in run.findings if f.evidence[0].location.artifact.startswith("western_")]
    assert western and all(f.severity is Severity.INFO for f in western)
    deepseek = [f for f in run.findings if "deepseek-chat" in f.message]
    assert deepseek and all(f.severity is Severity.MEDIUM for f in deepseek)


def test_sarif_has_one_result_per_reference_with_file_and_line() -> None:
    report = discover(CORPUS / "node_dashscope", now=datetime(2026, 11, 28, tzinfo=UTC))
    log = json.loads(renderer_for(OutputFormat.SARIF).render(report))
    (run,) = log["runs"]
    facts = [f for f in report.facts if f.key == FACT_KEY]
    assert len(run["results"]) == len(facts) > 0
    rules = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {res["ruleId"] for res in run["results"]} <= rules
    first = run["results"][0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] in {"index.ts", "package.json"}
    assert first["region"]["startLine"] >= 1


def test_fail_on_medium_gates_covered_nation_references(tmp_path: Path) -> None:
    out = str(tmp_path / "o.txt")
    assert main(["discover", str(CORPUS / "moonshot_env"), "--fail-on", "medium", "-o", out]) == 1
    assert main(["discover", str(CORPUS / "western_app"), "--fail-on", "medium", "-o", out]) == 0
    assert main(["discover", str(CORPUS / "moonshot_env"), "-o", out]) == 0  # default: high
