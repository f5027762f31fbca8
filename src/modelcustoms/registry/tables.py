"""The registry's tables (SQLAlchemy 2 ORM), as of the newest migration.

The schema is created and changed only by the Alembic migrations in ``migrations/versions``;
``tests/unit/registry/test_migrations.py`` checks that these classes and the migrated schema
agree. A report is stored whole (its canonical JSON, re-checked against its digest when read)
next to the few columns the inventory filters on; the registry never re-derives a report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the registry tables."""


class Token(Base):
    """An API token: only its sha256 is stored; the secret is shown once at creation."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Model(Base):
    """One model of the inventory; the summary columns follow its newest report."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    """What makes two reports the same model: ``hf:org/name``, ``ollama:tag``, ``path:name``."""
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(500))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    latest_report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latest_created_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    family: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    publisher: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    country: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    decision: Mapped[str] = mapped_column(String(10), index=True)
    """allow, warn, deny, or ``none`` (the report carried no verdict)."""


class ReportRow(Base):
    """One recorded report document."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("model_id", "report_digest", name="uq_report_model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    report_digest: Mapped[str] = mapped_column(String(64), index=True)
    revision: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))
    policy: Mapped[str | None] = mapped_column(String(200), nullable=True)
    findings_count: Mapped[int] = mapped_column(Integer)
    max_severity: Mapped[str | None] = mapped_column(String(10), nullable=True)
    """Added by migration 0002 (backfilled from the stored documents)."""
    document: Mapped[str] = mapped_column(Text)
    """The canonical JSON of the report document, as recorded."""


class ArtifactRow(Base):
    """A top-level file of a report (what a passport binds), for lookups by digest."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)


class PassportRow(Base):
    """A passport (DSSE envelope) whose signature and bindings verified when it was recorded."""

    __tablename__ = "passports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(10))
    policy: Mapped[str] = mapped_column(String(200))
    envelope: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Repository(Base):
    """A codebase scanned by ``customs discover``."""

    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    latest_report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latest_created_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    references_count: Mapped[int] = mapped_column(Integer)


class RepositoryReport(Base):
    """One recorded discover report of a repository."""

    __tablename__ = "repository_reports"
    __table_args__ = (UniqueConstraint("repository_id", "report_digest", name="uq_repo_report"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"), index=True)
    report_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))
    document: Mapped[str] = mapped_column(Text)


class RepositoryRef(Base):
    """One model reference found in a repository (a ``discover.reference`` fact)."""

    __tablename__ = "repository_refs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("repository_reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(500), nullable=True, index=True)
    endpoint: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    publisher: Mapped[str | None] = mapped_column(String(200), nullable=True)
    publisher_country: Mapped[str | None] = mapped_column(String(8), nullable=True)
    host_operator: Mapped[str | None] = mapped_column(String(200), nullable=True)
    host_country: Mapped[str | None] = mapped_column(String(8), nullable=True)
    file: Mapped[str] = mapped_column(String(1000))
    line: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Event(Base):
    """The audit trail: every write that changes what the registry vouches for."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    model_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    """JSON object."""


class Approval(Base):
    """An approver's decision on one report of a model (migration 0002).

    ``approve`` accepts the report as it is; ``waive`` accepts it despite the listed rules
    (a deny verdict or findings), with a reason. Both are bound to the report, so a newer
    report of the same model is not approved until someone approves it.
    """

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    rules: Mapped[str] = mapped_column(Text)
    """JSON list of waived rule ids (empty for an approval)."""
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HostedModel(Base):
    """A model served by an API operator under a name, bound to a registry model (0002)."""

    __tablename__ = "hosted_models"
    __table_args__ = (UniqueConstraint("operator", "model_name", name="uq_hosted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator: Mapped[str] = mapped_column(String(200))
    model_name: Mapped[str] = mapped_column(String(500))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


Index("ix_reports_model_created", ReportRow.model_id, ReportRow.created_at)
