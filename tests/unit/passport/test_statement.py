from __future__ import annotations

import json

import pytest

from modelcustoms.core import Decision, ReportDocument, Severity, Verdict
from modelcustoms.passport import (
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    PassportError,
    build_statement,
    scan_default_verdict,
)
from modelcustoms.passport.statement import statement_bytes
from tests.factories import SHA_A, SHA_C, sample_report
from tests.unit.passport.conftest import NOW


def test_scan_default_denies_on_high_findings():
    v = scan_default_verdict(sample_report())
    assert v.decision is Decision.DENY
    assert v.policy == "scan-default"
    assert v.fired_rules == ("pickle.dangerous-import", "secrets.credential")
    assert v.report_digest == sample_report().digest()


def test_scan_default_allows_below_high_and_denies_nothing_analysed():
    report = sample_report()
    low = tuple(f.model_copy(update={"severity": Severity.MEDIUM}) for f in report.runs[0].findings)
    run = report.runs[0].model_copy(update={"findings": low})
    assert (
        scan_default_verdict(report.model_copy(update={"runs": (run,)})).decision is Decision.ALLOW
    )
    empty = run.model_copy(update={"findings": (), "analysed": 0})
    v = scan_default_verdict(report.model_copy(update={"runs": (empty,)}))
    assert v.decision is Decision.DENY
    assert "nothing was verified" in v.reasons[0]


def test_statement_binds_top_level_files_report_and_verdict():
    doc = ReportDocument.of(sample_report())
    verdict = scan_default_verdict(doc.report())
    st = build_statement(doc, verdict, now=NOW, tool_version="9.9")
    assert st["_type"] == STATEMENT_TYPE
    assert st["predicateType"] == PREDICATE_TYPE
    assert st["subject"] == [
        {"name": "model.pt", "digest": {"sha256": SHA_A}},
        {"name": "config.json", "digest": {"sha256": SHA_C}},
    ]
    pred = st["predicate"]
    assert pred["report"]["digest"] == {"sha256": doc.report_digest}
    assert pred["verdict"]["decision"] == "deny"
    assert pred["verdict"]["firedRules"] == ["pickle.dangerous-import", "secrets.credential"]
    assert pred["created"] == "2026-11-28T13:00:00Z"
    assert pred["signer"] == {"name": "modelcustoms", "version": "9.9"}
    assert json.loads(statement_bytes(st)) == st
    assert b" " not in statement_bytes({"a": [1, 2]})


def test_refuses_a_verdict_for_another_report():
    doc = ReportDocument.of(sample_report())
    other = Verdict(decision=Decision.ALLOW, report_digest="0" * 64, policy="p")
    with pytest.raises(PassportError, match="verdict was made for report 0000"):
        build_statement(doc, other, now=NOW, tool_version="0")


def test_refuses_a_report_without_files():
    doc = ReportDocument.of(sample_report().model_copy(update={"artifacts": ()}))
    with pytest.raises(PassportError, match="no files"):
        build_statement(doc, scan_default_verdict(doc.report()), now=NOW, tool_version="0")
