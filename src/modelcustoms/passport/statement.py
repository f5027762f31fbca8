"""The passport's content: an in-toto Statement v1 over the model files and the report.

``subject`` lists every top-level file of the report with its sha256; the predicate binds the
report digest and the verdict. See ``docs/passport.md`` for the exact format.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from modelcustoms.core import Decision, Report, ReportDocument, Severity, Verdict
from modelcustoms.passport.errors import PassportError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://modelcustoms.dev/passport/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
SCAN_DEFAULT_POLICY = "scan-default"


def scan_default_verdict(report: Report) -> Verdict:
    """The verdict used while a report carries none: deny on any finding at high or above.

    Fails closed: a report in which no engine analysed anything is denied too.
    NOTE: a stand-in until the policy engine exists; it replaces this one function.
    """
    worst = [f for f in report.findings if f.severity >= Severity.HIGH]
    rules = tuple(sorted({f.rule_id for f in worst}))
    analysed = any(run.analysed for run in report.runs)
    if worst:
        reason = f"{len(worst)} finding(s) at high or above: {', '.join(rules)}"
    elif not analysed:
        reason = "no engine analysed anything: nothing was verified"
    else:
        reason = "no finding at high or above"
    return Verdict(
        decision=Decision.DENY if worst or not analysed else Decision.ALLOW,
        fired_rules=rules,
        reasons=(reason,),
        report_digest=report.digest(),
        policy=SCAN_DEFAULT_POLICY,
    )


def build_statement(
    doc: ReportDocument, verdict: Verdict, *, now: datetime, tool_version: str
) -> dict[str, Any]:
    """The in-toto statement for ``doc`` judged by ``verdict``.

    Refuses a verdict made for another report, and a report without files (a passport that
    binds nothing would vouch for anything).
    """
    if verdict.report_digest != doc.report_digest:
        msg = (
            f"the verdict was made for report {verdict.report_digest[:16]}…, "
            f"not for this one ({doc.report_digest[:16]}…)"
        )
        raise PassportError(msg)
    tops = [a for a in doc.artifacts if a.parent is None]
    if not tops:
        msg = "the report lists no files: a passport must bind at least one file digest"
        raise PassportError(msg)
    names = [a.path for a in tops]
    if len(set(names)) != len(names):
        msg = "the report lists one file name twice; its passport would be ambiguous"
        raise PassportError(msg)
    when = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": a.path, "digest": {"sha256": a.sha256}} for a in tops],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "report": {
                "digest": {"sha256": doc.report_digest},
                "schemaVersion": doc.schema_version,
                "subject": doc.subject.model_dump(mode="json"),
                "createdAt": _iso(doc.created_at),
                "tool": doc.tool.model_dump(mode="json"),
            },
            "verdict": {
                "decision": verdict.decision.value,
                "policy": verdict.policy,
                "firedRules": list(verdict.fired_rules),
                "reasons": list(verdict.reasons),
            },
            "signer": {"name": "modelcustoms", "version": tool_version},
            "created": _iso(when),
        },
    }


def statement_bytes(statement: dict[str, Any]) -> bytes:
    """The payload that is signed: compact JSON with sorted keys, UTF-8."""
    text = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
