"""What changed between two reports of the same model.

Findings are matched by (rule id, artifact path): a message may carry varying detail, but the
same rule on the same file is the same problem. Files are matched by path and compared by
digest. Identity, origin, lineage bases and the verdict are compared as values.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field

from modelcustoms.core import Finding, ReportDocument
from modelcustoms.registry.extract import NO_VERDICT, summarise


class Change(BaseModel):
    """One value that differs: what it is, before and after."""

    model_config = ConfigDict(frozen=True)

    what: str
    before: Any
    after: Any


class FindingRef(BaseModel):
    """A finding as the diff lists it."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    severity: str
    artifact: str
    message: str


class ReportDiff(BaseModel):
    """The differences from ``old`` to ``new``."""

    model_config = ConfigDict(frozen=True)

    old_digest: str
    new_digest: str
    changes: list[Change] = []
    new_findings: list[FindingRef] = []
    resolved_findings: list[FindingRef] = []
    files_added: list[str] = []
    files_removed: list[str] = []
    files_changed: list[str] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def empty(self) -> bool:
        """True when nothing the diff tracks changed."""
        return not (
            self.changes
            or self.new_findings
            or self.resolved_findings
            or self.files_added
            or self.files_removed
            or self.files_changed
        )


def _ref(f: Finding) -> FindingRef:
    where = f.evidence[0].location.artifact if f.evidence else ""
    return FindingRef(
        rule_id=f.rule_id, severity=f.severity.value, artifact=where, message=f.message[:500]
    )


def _bases(doc: ReportDocument) -> list[str]:
    return [c.base for run in doc.runs for c in run.lineage]


def diff_reports(old: ReportDocument, new: ReportDocument) -> ReportDiff:
    """Compare two report documents (normally two reports of one model, oldest first)."""
    a, b = summarise(old), summarise(new)
    pairs: list[tuple[str, Any, Any]] = [
        ("revision", a.revision, b.revision),
        ("verdict", a.decision, b.decision),
        ("policy", a.policy, b.policy),
        ("family", a.family, b.family),
        ("publisher", a.publisher, b.publisher),
        ("country", a.country, b.country),
        ("lineage bases", _bases(old), _bases(new)),
        ("worst severity", a.max_severity, b.max_severity),
    ]
    old_f = {(r.rule_id, r.artifact): r for r in map(_ref, old.findings)}
    new_f = {(r.rule_id, r.artifact): r for r in map(_ref, new.findings)}
    old_files = {p: d for p, d, _ in a.files}
    new_files = {p: d for p, d, _ in b.files}
    return ReportDiff(
        old_digest=old.report_digest,
        new_digest=new.report_digest,
        changes=[Change(what=w, before=x, after=y) for w, x, y in pairs if x != y],
        new_findings=[new_f[k] for k in sorted(new_f.keys() - old_f.keys())],
        resolved_findings=[old_f[k] for k in sorted(old_f.keys() - new_f.keys())],
        files_added=sorted(new_files.keys() - old_files.keys()),
        files_removed=sorted(old_files.keys() - new_files.keys()),
        files_changed=sorted(
            p for p in old_files.keys() & new_files.keys() if old_files[p] != new_files[p]
        ),
    )


def headline(d: ReportDiff) -> str:
    """One line for a terminal or a table cell."""
    if d.empty:
        return "no change"
    parts = [f"{c.what}: {_plain(c.before)} → {_plain(c.after)}" for c in d.changes]
    if d.new_findings:
        parts.append(f"{len(d.new_findings)} new finding(s)")
    if d.resolved_findings:
        parts.append(f"{len(d.resolved_findings)} resolved")
    n_files = len(d.files_added) + len(d.files_removed) + len(d.files_changed)
    if n_files:
        parts.append(f"{n_files} file(s) changed")
    return "; ".join(parts)


def _plain(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or NO_VERDICT
    return str(value) if value else NO_VERDICT
