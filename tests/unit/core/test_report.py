from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from modelcustoms.core import ReportDocument, Severity
from modelcustoms.core.load import load_report
from modelcustoms.errors import ReportError
from tests.factories import sample_report


def test_severity_order_is_total():
    assert [s.rank for s in Severity] == [0, 1, 2, 3, 4]
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert max(Severity) is Severity.CRITICAL
    assert Severity.HIGH >= Severity.HIGH


def test_digest_is_stable_and_content_bound():
    r = sample_report()
    assert r.digest() == sample_report().digest()
    changed = r.model_copy(update={"subject": r.subject.model_copy(update={"name": "other"})})
    assert changed.digest() != r.digest()


def test_document_roundtrip_preserves_everything():
    r = sample_report()
    doc = ReportDocument.of(r)
    loaded = load_report(doc.model_dump_json())
    assert loaded.report() == r
    assert loaded.report_digest == r.digest()
    assert loaded.report().max_severity() is Severity.CRITICAL


def test_load_rejects_edited_report():
    raw = json.loads(ReportDocument.of(sample_report()).model_dump_json())
    raw["runs"][0]["findings"] = []
    with pytest.raises(ReportError, match="modified"):
        load_report(json.dumps(raw))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not a JSON document"),
        (b"[1, 2]", "JSON object"),
        (b'{"schema_version": "2.0"}', "unsupported report schema version"),
        (b'{"schema_version": "1.0", "tool": 3}', "invalid report document"),
    ],
)
def test_load_errors_are_explained(data, message):
    with pytest.raises(ReportError, match=message):
        load_report(data)


def test_models_are_frozen_and_strict():
    r = sample_report()
    with pytest.raises(ValidationError):
        r.subject.name = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        type(r.subject)(kind="path", ref="x", name="x", extra_field=1)  # type: ignore[call-arg]
