"""CycloneDX 1.6 ML-BOM: validated against the official schema bundled in cyclonedx-python-lib."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import pytest

from modelcustoms.core import Artifact, Format, Relation, SubjectKind
from modelcustoms.render import OutputFormat, renderer_for
from modelcustoms.render.cyclonedx import SPDX_IDS, build_bom
from tests.factories import SHA_A, SHA_B, sample_report
from tests.unit.render.provenance_report import deny_verdict, provenance_report


@cache
def _validator():
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT7

    pytest.importorskip("cyclonedx.schema._res")
    res = resources.files("cyclonedx.schema._res")

    def load(name: str) -> dict:
        return json.loads(res.joinpath(name).read_text(encoding="utf-8"))

    # NOTE: the BOM schema refers to spdx/jsf by a path relative to its $id; serve them from
    # the package so that validation never reaches the network.
    base = "http://cyclonedx.org/schema/"
    registry = referencing.Registry().with_resources(
        (base + n, referencing.Resource.from_contents(load(n), default_specification=DRAFT7))
        for n in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json")
    )
    schema = load("bom-1.6.SNAPSHOT.schema.json")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(
        schema, registry=registry, format_checker=jsonschema.FormatChecker()
    )


def _valid(bom: dict) -> dict:
    errors = [f"{e.json_path}: {e.message[:200]}" for e in _validator().iter_errors(bom)]
    assert not errors, errors
    refs = _refs(bom)
    assert len(refs) == len(set(refs)), "every bom-ref is unique"
    for v in bom.get("vulnerabilities", []):
        assert {a["ref"] for a in v["affects"]} <= set(refs)
    return bom


def _refs(node: object) -> list[str]:
    out: list[str] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            if isinstance(cur.get("bom-ref"), str):
                out.append(cur["bom-ref"])
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return out


def _rendered(report, verdict=None) -> dict:
    return _valid(json.loads(renderer_for(OutputFormat.CYCLONEDX).render(report, verdict)))


def test_sample_report_is_a_valid_ml_bom():
    bom = _rendered(sample_report())
    assert bom["specVersion"] == "1.6"
    model = bom["components"][0]
    assert model["type"] == "machine-learning-model"
    files = {c["name"]: c for c in model["components"]}
    assert set(files) == {"model.pt", "config.json"}
    member = files["model.pt"]["components"][0]
    assert member["name"] == "model.pt!archive/data.pkl"
    assert member["hashes"] == [{"alg": "SHA-256", "content": SHA_B}]
    assert bom["metadata"]["tools"]["components"][0]["name"] == "modelcustoms"
    props = {p["name"]: p["value"] for p in model["properties"]}
    assert props["modelcustoms:not-analysed"].startswith("tokenizer.model: unsupported-format")


def test_findings_are_vulnerabilities_with_our_severities():
    bom = _rendered(sample_report())
    vulns = bom["vulnerabilities"]
    assert [v["id"] for v in vulns] == ["pickle.dangerous-import", "secrets.credential"]
    assert [v["ratings"][0]["severity"] for v in vulns] == ["critical", "high"]
    assert vulns[0]["affects"] == [{"ref": "file:model.pt!archive/data.pkl"}]
    assert vulns[1]["affects"] == [{"ref": "file:config.json"}]
    assert vulns[0]["advisories"] == [{"url": "https://docs.python.org/3/library/pickle.html"}]
    assert "recommendation" in vulns[0]


def test_lineage_becomes_a_nested_pedigree_chain_with_countries():
    report = provenance_report()
    bom = _rendered(report, deny_verdict(report))
    model = bom["components"][0]
    first = model["pedigree"]["ancestors"]
    assert [a["name"] for a in first] == ["acme/demo-base"], "independent claims are not ancestors"
    assert first[0]["manufacturer"] == {"name": "acme", "address": {"country": "US"}}
    second = first[0]["pedigree"]["ancestors"][0]
    assert second["name"] == "qwen2.5"
    assert second["manufacturer"] == {"name": "Alibaba Cloud", "address": {"country": "CN"}}
    identity = second["evidence"]["identity"][0]
    assert identity["methods"][0]["technique"] == "manifest-analysis"
    assert identity["confidence"] == 0.97
    assert second["pedigree"]["ancestors"][0]["name"] == "qwen2"
    assert "manufacturer" not in model, "a fine-tune is not made by its base's publisher"
    assert model["licenses"] == [{"license": {"id": "Apache-2.0", "acknowledgement": "declared"}}]
    assert model["modelCard"]["modelParameters"] == {
        "architectureFamily": "Qwen2.5",
        "modelArchitecture": "Qwen2ForCausalLM",
    }
    occurrences = model["evidence"]["occurrences"]
    assert {
        "location": "config.json",
        "line": 1,
        "additionalContext": "license.declared: license: apache-2.0",
    } in occurrences
    meta = {p["name"]: p["value"] for p in bom["metadata"]["properties"]}
    assert meta["modelcustoms:verdict"] == "deny"
    assert meta["modelcustoms:report-digest"] == report.digest()


def test_same_release_is_made_by_the_origin_publisher():
    bom = _rendered(provenance_report(Relation.SAME))
    assert bom["components"][0]["manufacturer"] == {
        "name": "Alibaba Cloud",
        "address": {"country": "CN"},
    }


def test_unknown_licence_goes_in_as_a_name():
    report = provenance_report()
    run = report.runs[1]
    facts = tuple(
        f.model_copy(update={"value": "llama3.1"}) if f.key == "license.declared" else f
        for f in run.facts
    )
    report = report.model_copy(
        update={"runs": (report.runs[0], run.model_copy(update={"facts": facts}))}
    )
    licence = _rendered(report)["components"][0]["licenses"][0]["license"]
    assert licence == {"name": "llama3.1", "acknowledgement": "declared"}


def test_spdx_table_only_holds_official_ids():
    pytest.importorskip("cyclonedx.schema._res")
    spdx = json.loads(
        resources.files("cyclonedx.schema._res").joinpath("spdx.SNAPSHOT.schema.json").read_text()
    )
    assert set(spdx["enum"]) >= SPDX_IDS


def test_deterministic_serial_from_digest_and_verdict():
    report = provenance_report()
    a, b = build_bom(report), build_bom(report)
    assert a == b
    assert a["metadata"]["timestamp"] == "2026-11-28T12:00:00Z"
    assert build_bom(report, deny_verdict(report))["serialNumber"] != a["serialNumber"]
    other = report.model_copy(update={"artifacts": report.artifacts[:1]})
    assert build_bom(other)["serialNumber"] != a["serialNumber"]


def test_empty_report_is_still_valid():
    report = sample_report().model_copy(update={"runs": (), "artifacts": ()})
    bom = _rendered(report)
    assert "vulnerabilities" not in bom


def test_hostile_artifact_lists_stay_valid():
    """Duplicate member names and a parent cycle must not break bom-refs or recurse forever."""
    dup = Artifact(
        path="model.pt!archive/data.pkl",
        size=1,
        sha256=SHA_A,
        format=Format.PICKLE,
        parent="model.pt",
    )
    loop_a = Artifact(path="x!a", size=1, sha256=SHA_A, format=Format.ZIP, parent="x!b")
    loop_b = Artifact(path="x!b", size=1, sha256=SHA_A, format=Format.ZIP, parent="x!a")
    report = sample_report()
    report = report.model_copy(update={"artifacts": (*report.artifacts, dup, loop_a, loop_b)})
    bom = _rendered(report)
    names = [c["name"] for c in bom["components"][0]["components"]]
    assert "x!a" in names and "x!b" in names


def test_single_file_subject_carries_its_hash_and_hf_purl():
    report = sample_report()
    subject = report.subject.model_copy(
        update={"kind": SubjectKind.HUGGINGFACE, "name": "Qwen/Qwen2.5-0.5B", "revision": "ABC123"}
    )
    report = report.model_copy(update={"subject": subject, "artifacts": report.artifacts[:2]})
    model = _rendered(report)["components"][0]
    assert model["hashes"] == [{"alg": "SHA-256", "content": SHA_A}]
    assert model["purl"] == "pkg:huggingface/Qwen/Qwen2.5-0.5B@abc123"
    assert model["version"] == "ABC123"


def test_a_real_inspection_of_the_sample_zoo_validates(tmp_path):
    """Hostile member names, nested archives and every engine's output, through the schema."""
    from modelcustoms.pipeline import inspect_paths
    from modelcustoms.samples import build_zoo

    build_zoo(tmp_path, scale="demo")
    report = inspect_paths([tmp_path])
    bom = _rendered(report)
    assert len(bom["vulnerabilities"]) == len(report.findings)
    assert renderer_for(OutputFormat.HTML).render(report).startswith(b"<!DOCTYPE html>")
