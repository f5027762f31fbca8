"""The report document: one subject, its artifacts, and what each engine found.

The JSON form of :class:`Report` is the canonical, schema-versioned document every output,
the policy gate and the registry are built on. Loaders reject unknown major versions.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelcustoms.core.artifact import Artifact
from modelcustoms.core.catalog import Rule
from modelcustoms.core.facts import Fact
from modelcustoms.core.findings import Finding
from modelcustoms.core.lineage import LineageClaim
from modelcustoms.core.severity import Severity
from modelcustoms.core.subject import Subject
from modelcustoms.core.verdict import Verdict

SCHEMA_VERSION = "1.0"
"""Version of the report document. Readers accept the same major version only."""


class EngineStatus(StrEnum):
    """How an engine run ended."""

    OK = "ok"
    """Everything it was given was analysed."""
    PARTIAL = "partial"
    """Some artifacts could not be analysed (see skips and findings)."""
    ERROR = "error"
    """The engine failed; its absence of findings means nothing."""
    NOT_RUN = "not-run"
    """The engine was not requested or did not apply."""


class Skip(BaseModel):
    """Something an engine did not analyse, and why. Skips are data, shown by every renderer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact: str
    reason: str
    """Short machine-friendly reason, e.g. ``unsupported-format``, ``too-large``."""
    detail: str = ""


class ToolInfo(BaseModel):
    """The tool that produced the document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "modelcustoms"
    version: str


class EngineRun(BaseModel):
    """The output of one engine over one subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str
    version: str
    status: EngineStatus
    findings: tuple[Finding, ...] = ()
    facts: tuple[Fact, ...] = ()
    skips: tuple[Skip, ...] = ()
    lineage: tuple[LineageClaim, ...] = ()
    """Lineage claims (provenance and fingerprint engines)."""
    rules: tuple[Rule, ...] = ()
    """Catalog entries for every rule id used by the findings, so the document explains itself."""
    analysed: int = Field(default=0, ge=0)
    """How many artifacts the engine actually analysed (0 is never a pass)."""
    duration_s: float = Field(default=0.0, ge=0.0)


class Report(BaseModel):
    """Everything known about one subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: str = SCHEMA_VERSION
    tool: ToolInfo
    created_at: datetime
    subject: Subject
    artifacts: tuple[Artifact, ...] = ()
    runs: tuple[EngineRun, ...] = ()

    @field_validator("schema_version")
    @classmethod
    def _same_major(cls, value: str) -> str:
        if value.split(".", 1)[0] != SCHEMA_VERSION.split(".", 1)[0]:
            msg = f"unsupported report schema version {value!r} (this tool reads {SCHEMA_VERSION})"
            raise ValueError(msg)
        return value

    @property
    def findings(self) -> tuple[Finding, ...]:
        """All findings of all engines."""
        return tuple(f for run in self.runs for f in run.findings)

    @property
    def facts(self) -> tuple[Fact, ...]:
        """All facts of all engines."""
        return tuple(f for run in self.runs for f in run.facts)

    @property
    def skips(self) -> tuple[Skip, ...]:
        """All skips of all engines."""
        return tuple(s for run in self.runs for s in run.skips)

    def rule(self, rule_id: str) -> Rule | None:
        """Catalog entry for ``rule_id`` as carried by the runs."""
        for run in self.runs:
            for rule in run.rules:
                if rule.id == rule_id:
                    return rule
        return None

    def max_severity(self) -> Severity | None:
        """The worst severity among all findings, or None without findings."""
        worst: Severity | None = None
        for f in self.findings:
            if worst is None or f.severity > worst:
                worst = f.severity
        return worst

    def to_document(self) -> dict[str, Any]:
        """The canonical JSON document (a plain dict)."""
        doc: dict[str, Any] = self.model_dump(mode="json")
        return doc

    def digest(self) -> str:
        """sha256 over the canonical JSON (sorted keys, no whitespace): what passports sign."""
        canonical = json.dumps(
            self.to_document(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ReportDocument(Report):
    """The report as written to disk: the report, its digest, and the verdict when there is one.

    The digest is computed over the :class:`Report` fields only, so a reader can check that a
    stored document was not edited after it was produced.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    report_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    """:meth:`Report.digest` of the report fields."""
    verdict: Verdict | None = None

    @classmethod
    def of(cls, report: Report, verdict: Verdict | None = None) -> ReportDocument:
        """Wrap ``report`` with its digest (and verdict)."""
        return cls(**dict(report), report_digest=report.digest(), verdict=verdict)

    def report(self) -> Report:
        """The bare report (without digest and verdict)."""
        fields = {k: v for k, v in self if k not in ("report_digest", "verdict")}
        return Report(**fields)
