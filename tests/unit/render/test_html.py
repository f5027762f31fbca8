"""HTML report: the digest decides what a reader sees; the page escapes all model data."""

from __future__ import annotations

import re

from modelcustoms.core import (
    ConfidenceLevel,
    Decision,
    EngineRun,
    EngineStatus,
    LineageClaim,
    Relation,
    Verdict,
)
from modelcustoms.render import OutputFormat, renderer_for
from modelcustoms.render.html import digest
from tests.factories import sample_report
from tests.unit.render.provenance_report import deny_verdict, provenance_report


def _html(report, verdict=None) -> str:
    return renderer_for(OutputFormat.HTML).render(report, verdict).decode("utf-8")


def test_digest_summarises_findings_skips_and_artifacts():
    d = digest(sample_report())
    assert d["verdict"] is None
    assert d["result"]["state"] == "critical"
    assert {c["severity"]: c["count"] for c in d["counts"]} == {
        "critical": 1,
        "high": 1,
        "medium": 0,
        "low": 0,
        "info": 0,
    }
    assert d["totals"] == {"artifacts": 3, "files": 2, "findings": 2, "not_verified": 1, "facts": 1}
    assert [f["severity"] for f in d["findings"]] == ["critical", "high"]
    assert d["findings"][0]["where"] == "model.pt!archive/data.pkl [opcode STACK_GLOBAL @12]"
    assert d["not_verified"] == [
        {"artifact": "tokenizer.model", "reason": "unsupported-format", "detail": "format unknown"}
    ]
    assert [(a["name"], a["depth"]) for a in d["artifacts"]] == [
        ("model.pt", 0),
        ("archive/data.pkl", 1),
        ("config.json", 0),
    ]


def test_lineage_is_a_chain_from_the_subject():
    d = digest(provenance_report())
    assert len(d["lineage"]) == 1
    chain = d["lineage"][0]
    assert [n["name"] for n in chain] == ["models/demo", "acme/demo-base", "qwen2.5", "qwen2"]
    assert chain[0]["link"] is None
    assert chain[2]["country"] == "CN"
    assert chain[2]["link"] == {
        "relation": "derived",
        "level": "signatures",
        "method": "config-signature+tokenizer-hash",
        "score": "0.97",
    }


def test_lineage_cycle_is_bounded():
    claims = (
        LineageClaim(
            subject="a",
            base="b",
            relation=Relation.DERIVED,
            level=ConfidenceLevel.DECLARED,
            method="m",
        ),
        LineageClaim(
            subject="b",
            base="a",
            relation=Relation.DERIVED,
            level=ConfidenceLevel.DECLARED,
            method="m",
        ),
    )
    run = EngineRun(engine="provenance", version="0", status=EngineStatus.OK, lineage=claims)
    report = sample_report().model_copy(update={"runs": (run,)})
    chains = digest(report)["lineage"]
    assert chains == [[{"name": "a", "publisher": "", "country": "", "link": None}, *chains[0][1:]]]
    assert [n["name"] for n in chains[0]] == ["a", "b"], "a cycle ends where it loops"


def test_verdict_comes_first_then_findings_then_not_verified():
    report = provenance_report()
    page = _html(report, deny_verdict(report))
    order = [
        page.index(f'id="{s}"')
        for s in ("verdict", "summary", "lineage", "findings", "not-verified", "facts", "artifacts")
    ]
    assert order == sorted(order)
    assert 'class="banner deny"' in page
    assert "origin.covered-nation" in page
    assert "root publisher alibaba is domiciled in CN" in page


def test_without_verdict_the_page_says_so():
    page = _html(sample_report())
    assert 'class="banner none"' in page
    assert "not an approval" in page


def test_no_findings_with_skips_is_not_clean():
    report = sample_report()
    run = report.runs[0].model_copy(update={"findings": ()})
    page = _html(report.model_copy(update={"runs": (run,)}))
    assert 'class="result unverified"' in page
    assert "That is not the same as clean" in page
    assert "tokenizer.model" in page


def test_clean_report_and_engine_error():
    report = sample_report()
    run = report.runs[0].model_copy(update={"findings": (), "skips": (), "status": EngineStatus.OK})
    clean = report.model_copy(update={"runs": (run,)})
    assert digest(clean)["result"]["state"] == "clean"
    broken = clean.model_copy(
        update={
            "runs": (run, EngineRun(engine="fingerprint", version="0", status=EngineStatus.ERROR))
        }
    )
    d = digest(broken)
    assert d["result"]["state"] == "unverified"
    assert d["not_verified"][-1]["reason"] == "engine-error"
    nothing = clean.model_copy(update={"runs": (run.model_copy(update={"analysed": 0}),)})
    assert digest(nothing)["result"]["state"] == "unverified", "analysing nothing is not a pass"


def test_everything_from_the_model_is_escaped():
    report = sample_report()
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    f = report.runs[0].findings[0]
    ev = f.evidence[0].model_copy(update={"excerpt": hostile})
    f = f.model_copy(update={"message": hostile, "evidence": (ev,)})
    skip = report.runs[0].skips[0].model_copy(update={"detail": hostile, "artifact": hostile})
    run = report.runs[0].model_copy(update={"findings": (f,), "skips": (skip,)})
    subject = report.subject.model_copy(update={"name": hostile})
    v = Verdict(decision=Decision.WARN, report_digest="0" * 64, policy=hostile, reasons=(hostile,))
    page = _html(report.model_copy(update={"runs": (run,), "subject": subject}), v)
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_page_is_self_contained():
    page = _html(provenance_report())
    assert "Content-Security-Policy" in page
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "<script" not in page
    assert "@import" not in page and "url(" not in page


def test_page_is_deterministic():
    report = provenance_report()
    assert _html(report, deny_verdict(report)) == _html(report, deny_verdict(report))
