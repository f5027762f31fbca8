"""What the registry indexes from a report document: read, never re-derived.

The identity, origin and verdict columns are copies of facts and of the verdict the report
already carries; a report with no verdict is ``none``, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelcustoms.core import ReportDocument, SubjectKind

DISCOVER_ENGINE = "discover"
REFERENCE_FACT = "discover.reference"
NO_VERDICT = "none"


@dataclass(frozen=True, slots=True)
class Summary:
    """The indexed columns of one report."""

    key: str
    kind: str
    name: str
    revision: str | None
    is_repository: bool
    decision: str
    policy: str | None
    family: str | None
    publisher: str | None
    country: str | None
    findings_count: int
    max_severity: str | None
    files: tuple[tuple[str, str, int], ...]
    """Top-level files: (path, sha256, size)."""
    references: tuple[dict[str, Any], ...]
    """``discover.reference`` fact values (repository reports)."""


def model_key(doc: ReportDocument) -> str:
    """Two reports with the same key are the same model (or repository) at two times.

    A hub repo or Ollama tag is named without its revision (revisions are the history); a
    local path is named by its last component, since the same model sits at different
    absolute paths on different machines.
    """
    subject = doc.subject
    if subject.kind is SubjectKind.PATH:
        return f"path:{subject.name}"
    ref = subject.ref
    if subject.kind is SubjectKind.HUGGINGFACE:
        ref = ref.removeprefix("hf:").split("@", 1)[0]
        return f"hf:{ref}"
    return ref if ref.startswith(f"{subject.kind.value}:") else f"{subject.kind.value}:{ref}"


def summarise(doc: ReportDocument) -> Summary:
    """The columns the inventory filters and sorts on."""
    facts: dict[str, Any] = {}
    for fact in doc.facts:
        facts.setdefault(fact.key, fact.value)
    worst = doc.max_severity()
    verdict = doc.verdict
    is_repo = any(run.engine == DISCOVER_ENGINE for run in doc.runs)
    refs = tuple(
        f.value for f in doc.facts if f.key == REFERENCE_FACT and isinstance(f.value, dict)
    )
    return Summary(
        key=clean(model_key(doc)),
        kind=doc.subject.kind.value,
        name=clean(doc.subject.name),
        revision=clean(doc.subject.revision, 200) if doc.subject.revision else None,
        is_repository=is_repo,
        decision=verdict.decision.value if verdict is not None else NO_VERDICT,
        policy=clean(verdict.policy, 200) if verdict is not None else None,
        family=_text(facts.get("identity.family")),
        publisher=_text(facts.get("origin.publisher")),
        country=_text(facts.get("origin.country")),
        findings_count=len(doc.findings),
        max_severity=worst.value if worst is not None else None,
        files=tuple(
            (clean(a.path, 1000), a.sha256, a.size) for a in doc.artifacts if a.parent is None
        ),
        references=refs,
    )


def lineage_chain(doc: ReportDocument) -> list[dict[str, Any]]:
    """The lineage claims of every engine, in report order (nearest base first)."""
    return [
        claim.model_dump(mode="json", exclude={"evidence"})
        for run in doc.runs
        for claim in run.lineage
    ]


def clean(value: str, limit: int = 500) -> str:
    """A string any database column takes: no NUL, no lone surrogate, bounded."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit]


def _text(value: object) -> str | None:
    return clean(value, 200) or None if isinstance(value, str) and value else None
