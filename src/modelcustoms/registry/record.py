"""Recording one report (and its passport) in one transaction, safely under concurrent writers.

Rows that several writers may create at once (a model, a repository, a report recorded twice)
are inserted with ``ON CONFLICT DO NOTHING`` and then read back, so two writers racing on the
same model both succeed and neither duplicates it. The model's summary follows its newest
report by ``created_at``, updated with a conditional ``UPDATE`` that an older report recorded
late cannot win.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from modelcustoms.core import ReportDocument
from modelcustoms.passport import Passport
from modelcustoms.registry.extract import Summary, clean
from modelcustoms.registry.schemas import Recorded
from modelcustoms.registry.tables import (
    ArtifactRow,
    Base,
    Event,
    Model,
    PassportRow,
    ReportRow,
    Repository,
    RepositoryRef,
    RepositoryReport,
)


def _insert(session: Session, table: type[Base]) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` on both SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def utc(when: datetime) -> datetime:
    """Aware UTC (naive values are taken as UTC)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def canonical(doc: ReportDocument) -> str:
    """The stored form of a document (sorted keys, compact)."""
    return json.dumps(doc.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def record_model(
    session: Session,
    doc: ReportDocument,
    summary: Summary,
    passport: tuple[Passport, dict[str, Any]] | None,
    actor: str,
    now: datetime,
) -> Recorded:
    """Store a model report; returns ids and whether the report is new."""
    created = utc(doc.created_at)
    session.execute(
        _insert(session, Model)
        .values(
            key=summary.key,
            kind=summary.kind,
            name=summary.name,
            first_seen=now,
            last_seen=now,
            decision=summary.decision,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    model_id = session.execute(select(Model.id).where(Model.key == summary.key)).scalar_one()
    report_id = session.execute(
        _insert(session, ReportRow)
        .values(
            model_id=model_id,
            report_digest=doc.report_digest,
            revision=summary.revision,
            created_at=created,
            recorded_at=now,
            recorded_by=actor,
            decision=summary.decision,
            policy=summary.policy,
            findings_count=summary.findings_count,
            max_severity=summary.max_severity,
            document=canonical(doc),
        )
        .on_conflict_do_nothing(index_elements=["model_id", "report_digest"])
        .returning(ReportRow.id)
    ).scalar_one_or_none()
    is_new = report_id is not None
    if report_id is None:
        report_id = session.execute(
            select(ReportRow.id).where(
                ReportRow.model_id == model_id, ReportRow.report_digest == doc.report_digest
            )
        ).scalar_one()
    else:
        session.add_all(
            ArtifactRow(report_id=report_id, path=p, sha256=d, size=s) for p, d, s in summary.files
        )
        session.execute(
            update(Model)
            .where(
                Model.id == model_id,
                or_(Model.latest_created_at.is_(None), Model.latest_created_at <= created),
            )
            .values(
                latest_report_id=report_id,
                latest_created_at=created,
                name=summary.name,
                family=summary.family,
                publisher=summary.publisher,
                country=summary.country,
                decision=summary.decision,
            )
        )
    session.execute(update(Model).where(Model.id == model_id).values(last_seen=now))
    has_passport = False
    if passport is not None:
        verified, envelope = passport
        has_passport = True
        known = session.execute(
            select(PassportRow.id).where(
                PassportRow.report_id == report_id, PassportRow.key_id == verified.key_id
            )
        ).first()
        if known is None:
            session.add(
                PassportRow(
                    report_id=report_id,
                    key_id=verified.key_id,
                    decision=str(verified.verdict.get("decision")),
                    policy=str(verified.verdict.get("policy", "")),
                    envelope=json.dumps(envelope, sort_keys=True),
                    recorded_at=now,
                )
            )
    if is_new or has_passport:
        session.add(
            Event(
                at=now,
                actor=actor,
                action="record",
                model_id=model_id,
                report_id=report_id,
                reason="",
                detail=json.dumps(
                    {
                        "digest": doc.report_digest,
                        "decision": summary.decision,
                        "passport": has_passport,
                    }
                ),
            )
        )
    return Recorded(
        key=summary.key,
        report_id=report_id,
        model_id=model_id,
        created=is_new,
        passport=has_passport,
    )


def record_repository(
    session: Session, doc: ReportDocument, summary: Summary, actor: str, now: datetime
) -> Recorded:
    """Store a discover report of a repository and its model references."""
    created = utc(doc.created_at)
    session.execute(
        _insert(session, Repository)
        .values(
            key=summary.key,
            name=summary.name,
            first_seen=now,
            last_seen=now,
            references_count=0,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    repo_id = session.execute(
        select(Repository.id).where(Repository.key == summary.key)
    ).scalar_one()
    report_id = session.execute(
        _insert(session, RepositoryReport)
        .values(
            repository_id=repo_id,
            report_digest=doc.report_digest,
            created_at=created,
            recorded_at=now,
            recorded_by=actor,
            decision=summary.decision,
            document=canonical(doc),
        )
        .on_conflict_do_nothing(index_elements=["repository_id", "report_digest"])
        .returning(RepositoryReport.id)
    ).scalar_one_or_none()
    is_new = report_id is not None
    if report_id is None:
        report_id = session.execute(
            select(RepositoryReport.id).where(
                RepositoryReport.repository_id == repo_id,
                RepositoryReport.report_digest == doc.report_digest,
            )
        ).scalar_one()
    else:
        session.add_all(_ref_row(report_id, ref) for ref in summary.references)
        session.execute(
            update(Repository)
            .where(
                Repository.id == repo_id,
                or_(
                    Repository.latest_created_at.is_(None),
                    Repository.latest_created_at <= created,
                ),
            )
            .values(
                latest_report_id=report_id,
                latest_created_at=created,
                references_count=len(summary.references),
            )
        )
        session.add(
            Event(
                at=now,
                actor=actor,
                action="record-repository",
                model_id=None,
                report_id=report_id,
                reason="",
                detail=json.dumps({"digest": doc.report_digest, "repository": summary.key}),
            )
        )
    session.execute(update(Repository).where(Repository.id == repo_id).values(last_seen=now))
    return Recorded(
        key=summary.key, report_id=report_id, repository_id=repo_id, created=is_new, passport=False
    )


def _short(value: object, limit: int) -> str | None:
    return clean(value, limit) or None if isinstance(value, str) and value else None


def _ref_row(report_id: int, ref: dict[str, Any]) -> RepositoryRef:
    line = ref.get("line")
    return RepositoryRef(
        report_id=report_id,
        kind=_short(ref.get("kind"), 40) or "unknown",
        model=_short(ref.get("model"), 500),
        endpoint=_short(ref.get("endpoint"), 1000),
        publisher=_short(ref.get("publisher"), 200),
        publisher_country=_short(ref.get("publisher_country"), 8),
        host_operator=_short(ref.get("host_operator"), 200),
        host_country=_short(ref.get("host_country"), 8),
        file=_short(ref.get("file"), 1000) or "",
        line=line if isinstance(line, int) else None,
    )
