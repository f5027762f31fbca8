"""The registry's read and write shapes: what the store returns and the HTTP API serves.

These are separate from the core report types: they are views over stored rows (the report
document itself travels unchanged inside :class:`ReportDetail`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from modelcustoms.registry.diff import ReportDiff

_FROZEN = ConfigDict(frozen=True)


def storable(value: str) -> str:
    """Refuse what a database text column cannot hold (NUL, lone surrogates)."""
    if "\x00" in value:
        msg = "NUL characters are not allowed"
        raise ValueError(msg)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = "not valid Unicode text"
        raise ValueError(msg) from exc
    return value


Clean = Annotated[str, AfterValidator(storable)]


class ModelSummary(BaseModel):
    """One row of the inventory."""

    model_config = _FROZEN

    id: int
    key: str
    kind: str
    name: str
    family: str | None
    publisher: str | None
    country: str | None
    """ISO 3166-1 alpha-2 country of the publisher, from the newest report."""
    decision: str
    """Verdict of the newest report: allow, warn, deny or none."""
    first_seen: datetime
    last_seen: datetime
    latest_report_id: int | None
    approval: str | None = None
    """``approved`` or ``waived`` when an approver accepted the newest report."""


class ModelPage(BaseModel):
    """A page of the inventory."""

    model_config = _FROZEN

    items: list[ModelSummary]
    total: int
    limit: int
    offset: int


class Facets(BaseModel):
    """Distinct values of each inventory filter."""

    model_config = _FROZEN

    countries: list[str]
    decisions: list[str]
    families: list[str]
    publishers: list[str]


class InventoryCount(BaseModel):
    """How many models have this origin country and verdict."""

    model_config = _FROZEN

    country: str | None
    decision: str
    count: int


class ReportSummary(BaseModel):
    """One recorded report, without its document."""

    model_config = _FROZEN

    id: int
    model_id: int
    report_digest: str
    revision: str | None
    created_at: datetime
    recorded_at: datetime
    recorded_by: str
    decision: str
    policy: str | None
    findings_count: int
    max_severity: str | None
    has_passport: bool


class LineageLink(BaseModel):
    """One link of a model's lineage chain."""

    model_config = _FROZEN

    subject: str
    base: str
    relation: str
    level: str
    method: str
    score: float | None = None
    publisher: str | None = None
    country: str | None = None


class ApprovalOut(BaseModel):
    """An approval or waiver."""

    model_config = _FROZEN

    id: int
    model_id: int
    report_id: int
    kind: str
    rules: list[str]
    reason: str
    actor: str
    at: datetime


class HostedOut(BaseModel):
    """A served name bound to a registry model."""

    model_config = _FROZEN

    operator: str
    model_name: str
    model_id: int
    created_at: datetime
    created_by: str


class RepositoryUse(BaseModel):
    """A repository whose newest discover report names this model."""

    model_config = _FROZEN

    repository_id: int
    repository: str
    file: str
    line: int | None


class ModelDetail(BaseModel):
    """Everything the registry knows about one model."""

    model_config = _FROZEN

    model: ModelSummary
    lineage: list[LineageLink]
    origin: dict[str, Any]
    """The ``origin.*`` facts of the newest report."""
    reports: list[ReportSummary]
    approvals: list[ApprovalOut]
    hosted: list[HostedOut]
    used_by: list[RepositoryUse]


class PassportOut(BaseModel):
    """A recorded passport."""

    model_config = _FROZEN

    key_id: str
    decision: str
    policy: str
    recorded_at: datetime
    envelope: dict[str, Any]


class ReportDetail(BaseModel):
    """One report with its document, passport and the diff from the report before it."""

    model_config = _FROZEN

    summary: ReportSummary
    model_key: str
    document: dict[str, Any]
    passport: PassportOut | None
    previous_id: int | None
    diff_previous: ReportDiff | None


class ReferenceOut(BaseModel):
    """One model reference in a repository."""

    model_config = _FROZEN

    kind: str
    model: str | None
    endpoint: str | None
    publisher: str | None
    publisher_country: str | None
    host_operator: str | None
    host_country: str | None
    file: str
    line: int | None
    model_id: int | None = None
    """The registry model of that name, when one was inspected."""


class RepositorySummary(BaseModel):
    """A repository scanned by discover."""

    model_config = _FROZEN

    id: int
    key: str
    name: str
    first_seen: datetime
    last_seen: datetime
    references_count: int
    latest_report_id: int | None


class RepositoryDetail(BaseModel):
    """A repository with the references of its newest report."""

    model_config = _FROZEN

    repository: RepositorySummary
    references: list[ReferenceOut]
    reports: int


class EventOut(BaseModel):
    """An audit event."""

    model_config = _FROZEN

    id: int
    at: datetime
    actor: str
    action: str
    model_id: int | None
    report_id: int | None
    reason: str
    detail: dict[str, Any]


class Recorded(BaseModel):
    """The outcome of recording one report."""

    model_config = _FROZEN

    key: str
    report_id: int
    model_id: int | None = None
    repository_id: int | None = None
    created: bool
    """False when this exact report was already recorded (recording is idempotent)."""
    passport: bool


class PassportMatch(BaseModel):
    """A verified passport found for a weights digest or a hosted model, with origin facts."""

    model_config = _FROZEN

    model_id: int
    model_key: str
    model_name: str
    report_id: int
    report_digest: str
    decision: str
    """The passport's verdict."""
    policy: str
    key_id: str
    passport_sha256: str
    """sha256 of the stored passport envelope (the exact document that vouched)."""
    family: str | None
    publisher: str | None
    country: str | None
    chain_countries: list[str]
    """Countries of every publisher on the lineage chain (``origin.chain_countries``)."""
    files: dict[str, str]
    """File name → sha256, as the passport binds them."""
    approval: str | None


class ErrorOut(BaseModel):
    """Every error answer: one human-readable reason."""

    model_config = _FROZEN

    detail: str


class RecordRequest(BaseModel):
    """The body of ``POST /api/v1/reports``."""

    model_config = ConfigDict(extra="forbid")

    report: dict[str, Any] = Field(description="a report document as `customs inspect -f json`")
    passport: dict[str, Any] | None = Field(
        default=None, description="a DSSE passport envelope issued for that report"
    )


class ApproveRequest(BaseModel):
    """The body of an approval or waiver."""

    model_config = ConfigDict(extra="forbid")

    reason: Clean = Field(min_length=1, max_length=2000)
    report_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="default: the newest report"
    )
    rules: list[Annotated[Clean, Field(max_length=200)]] = Field(default=[], max_length=200)
    """Rule ids waived (waivers only)."""


class HostedRequest(BaseModel):
    """The body of ``POST /api/v1/hosted``: serve ``model_key`` as ``operator``/``model_name``."""

    model_config = ConfigDict(extra="forbid")

    operator: Clean = Field(min_length=1, max_length=200)
    model_name: Clean = Field(min_length=1, max_length=500)
    model_key: Clean = Field(min_length=1, max_length=500)
