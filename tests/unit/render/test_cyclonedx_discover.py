"""CycloneDX 1.6 of a discover report: models, services with countries, evidence, compositions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from modelcustoms.core import Evidence, Fact, Location
from modelcustoms.pipeline import discover
from modelcustoms.render import OutputFormat, renderer_for
from tests.unit.render.test_cyclonedx import _valid

CORPUS = Path(__file__).resolve().parents[2] / "data" / "discover" / "corpus"
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _bom(path: Path) -> dict:
    report = discover(path, now=NOW)
    return _valid(json.loads(renderer_for(OutputFormat.CYCLONEDX).render(report)))


def test_discovered_models_and_services_validate_against_the_1_6_schema() -> None:
    bom = _bom(CORPUS)
    app, *models = bom["components"]
    assert app["type"] == "application"
    assert not any(p["name"] == "modelcustoms:fact:discover.reference" for p in app["properties"])
    by_name = {m["name"]: m for m in models}
    assert all(m["type"] == "machine-learning-model" for m in models)
    v3 = by_name["deepseek-ai/DeepSeek-V3"]
    assert v3["manufacturer"] == {"name": "deepseek", "address": {"country": "CN"}}
    (occ,) = v3["evidence"]["occurrences"]
    assert occ["location"] == "fastapi_deepseek/settings.py" and occ["line"] >= 1
    services = {s["name"]: s for s in bom["services"]}
    ds = next(s for n, s in services.items() if n.startswith("Hangzhou DeepSeek"))
    assert ds["provider"]["address"] == {"country": "CN"}
    assert "https://api.deepseek.com/v1" in ds["endpoints"]
    (dep,) = bom["dependencies"]
    assert set(dep["dependsOn"]) == {m["bom-ref"] for m in models} | {
        s["bom-ref"] for s in bom["services"]
    }
    assert "vulnerabilities" not in bom  # references are inventory, not vulnerabilities


def test_unresolved_references_are_an_incomplete_composition() -> None:
    bom = _bom(CORPUS)
    (comp,) = bom["compositions"]
    assert comp["aggregate"] == "incomplete"
    refs = {c["bom-ref"]: c for c in bom["components"]} | {s["bom-ref"]: s for s in bom["services"]}
    unresolved = [refs[r] for r in comp["assemblies"]]
    assert any(c["name"] == "nomic-embed-text" for c in unresolved)
    for node in unresolved:
        assert "manufacturer" not in node and "provider" not in node


def test_western_only_app_has_no_incomplete_composition() -> None:
    bom = _bom(CORPUS / "western_app")
    assert "compositions" not in bom
    makers = {c["manufacturer"]["address"]["country"] for c in bom["components"][1:]}
    assert makers and "CN" not in makers


def test_malformed_reference_values_do_not_break_the_bom() -> None:
    report = discover(CORPUS / "western_app", now=NOW)
    ev = Evidence(location=Location(artifact="x.py", sha256="0" * 64, line=3))
    odd = Fact(
        key="discover.reference",
        value={"model": 5, "endpoint": "::bad"},
        engine="discover",
        evidence=(ev,),
    )
    run = report.runs[0].model_copy(update={"facts": (*report.runs[0].facts, odd)})
    report = report.model_copy(update={"runs": (run,)})
    _valid(json.loads(renderer_for(OutputFormat.CYCLONEDX).render(report)))
