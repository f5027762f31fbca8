"""Read-side queries over one session: the inventory, a model, a report, repositories, events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from modelcustoms.core.load import load_report
from modelcustoms.errors import ReportError
from modelcustoms.registry.diff import diff_reports
from modelcustoms.registry.errors import NotFound, RegistryError
from modelcustoms.registry.extract import lineage_chain
from modelcustoms.registry.record import utc
from modelcustoms.registry.schemas import (
    ApprovalOut,
    EventOut,
    Facets,
    HostedOut,
    InventoryCount,
    LineageLink,
    ModelDetail,
    ModelPage,
    ModelSummary,
    PassportOut,
    ReferenceOut,
    ReportDetail,
    ReportSummary,
    RepositoryDetail,
    RepositorySummary,
    RepositoryUse,
)
from modelcustoms.registry.tables import (
    Approval,
    Event,
    HostedModel,
    Model,
    PassportRow,
    ReportRow,
    Repository,
    RepositoryRef,
    RepositoryReport,
)

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class ModelFilter:
    """Inventory filters; None means any."""

    country: str | None = None
    decision: str | None = None
    family: str | None = None
    publisher: str | None = None
    text: str | None = None
    """Substring of the model's key or name."""

    def apply(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed by every filter that is set."""
        if self.country:
            query = query.where(Model.country == self.country.upper())
        if self.decision:
            query = query.where(Model.decision == self.decision)
        if self.family:
            query = query.where(Model.family == self.family)
        if self.publisher:
            query = query.where(Model.publisher == self.publisher)
        if self.text:
            like = f"%{self.text.lower()}%"
            query = query.where(func.lower(Model.key).like(like))
        return query


def _approval_of(session: Session, model: Model) -> str | None:
    if model.latest_report_id is None:
        return None
    kind = session.execute(
        select(Approval.kind)
        .where(Approval.report_id == model.latest_report_id)
        .order_by(Approval.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return {"approve": "approved", "waive": "waived"}.get(kind or "")


def model_summary(session: Session, m: Model, *, approval: bool = True) -> ModelSummary:
    """The inventory row of ``m``."""
    return ModelSummary(
        id=m.id,
        key=m.key,
        kind=m.kind,
        name=m.name,
        family=m.family,
        publisher=m.publisher,
        country=m.country,
        decision=m.decision,
        first_seen=utc(m.first_seen),
        last_seen=utc(m.last_seen),
        latest_report_id=m.latest_report_id,
        approval=_approval_of(session, m) if approval else None,
    )


def list_models(session: Session, flt: ModelFilter, limit: int, offset: int) -> ModelPage:
    """One page of the inventory, newest first."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    total = session.execute(flt.apply(select(func.count(Model.id)))).scalar_one()
    rows = list(
        session.execute(
            flt.apply(select(Model))
            .order_by(Model.last_seen.desc(), Model.id.desc())
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    approved = _approvals_for(session, [m.latest_report_id for m in rows])
    out = [
        model_summary(session, m, approval=False).model_copy(
            update={"approval": approved.get(m.latest_report_id or -1)}
        )
        for m in rows
    ]
    return ModelPage(items=out, total=total, limit=limit, offset=offset)


def _approvals_for(session: Session, report_ids: list[int | None]) -> dict[int, str]:
    ids = [i for i in report_ids if i is not None]
    if not ids:
        return {}
    rows = session.execute(
        select(Approval.report_id, Approval.kind)
        .where(Approval.report_id.in_(ids))
        .order_by(Approval.id)
    ).all()
    names = {"approve": "approved", "waive": "waived"}
    return {rid: names[kind] for rid, kind in rows if kind in names}


def facets(session: Session) -> Facets:
    """Distinct values for the inventory filters."""

    def distinct(col: Any) -> list[str]:
        rows = session.execute(select(col).where(col.is_not(None)).distinct().order_by(col))
        return [str(v) for v in rows.scalars()]

    return Facets(
        countries=distinct(Model.country),
        decisions=distinct(Model.decision),
        families=distinct(Model.family),
        publishers=distinct(Model.publisher),
    )


def counts(session: Session) -> list[InventoryCount]:
    """Models per (origin country, verdict), for the chart."""
    rows = session.execute(
        select(Model.country, Model.decision, func.count(Model.id))
        .group_by(Model.country, Model.decision)
        .order_by(Model.country, Model.decision)
    ).all()
    return [InventoryCount(country=c, decision=d, count=n) for c, d, n in rows]


def get_model(session: Session, model_id: int) -> Model:
    """The model row, or :class:`NotFound`."""
    m = session.get(Model, model_id)
    if m is None:
        msg = f"no model with id {model_id}"
        raise NotFound(msg)
    return m


def report_summaries(session: Session, model_id: int) -> list[ReportSummary]:
    """Every report of a model, newest first."""
    passports = set(
        session.execute(
            select(PassportRow.report_id)
            .join(ReportRow, ReportRow.id == PassportRow.report_id)
            .where(ReportRow.model_id == model_id)
        ).scalars()
    )
    rows = session.execute(
        select(ReportRow)
        .where(ReportRow.model_id == model_id)
        .order_by(ReportRow.created_at.desc(), ReportRow.id.desc())
    ).scalars()
    return [_report_summary(r, r.id in passports) for r in rows]


def _report_summary(r: ReportRow, has_passport: bool) -> ReportSummary:
    return ReportSummary(
        id=r.id,
        model_id=r.model_id,
        report_digest=r.report_digest,
        revision=r.revision,
        created_at=utc(r.created_at),
        recorded_at=utc(r.recorded_at),
        recorded_by=r.recorded_by,
        decision=r.decision,
        policy=r.policy,
        findings_count=r.findings_count,
        max_severity=r.max_severity,
        has_passport=has_passport,
    )


def load_document(row: ReportRow | RepositoryReport) -> Any:
    """The stored document, re-checked against its digest (a tampered row is an error)."""
    try:
        return load_report(row.document)
    except ReportError as exc:
        msg = f"stored report {row.id} does not verify: {exc.message}"
        raise RegistryError(msg) from exc


def model_detail(session: Session, model_id: int) -> ModelDetail:
    """A model with its lineage chain, origin facts, history, approvals and users."""
    m = get_model(session, model_id)
    lineage: list[LineageLink] = []
    origin: dict[str, Any] = {}
    if m.latest_report_id is not None:
        row = session.get(ReportRow, m.latest_report_id)
        if row is not None:
            doc = load_document(row)
            lineage = [LineageLink.model_validate(c) for c in lineage_chain(doc)]
            for fact in doc.facts:
                if fact.key.startswith("origin.") and fact.key not in origin:
                    origin[fact.key.removeprefix("origin.")] = fact.value
    approvals = [
        ApprovalOut(
            id=a.id,
            model_id=a.model_id,
            report_id=a.report_id,
            kind=a.kind,
            rules=json.loads(a.rules),
            reason=a.reason,
            actor=a.actor,
            at=utc(a.at),
        )
        for a in session.execute(
            select(Approval).where(Approval.model_id == model_id).order_by(Approval.id.desc())
        ).scalars()
    ]
    hosted = [
        HostedOut(
            operator=h.operator,
            model_name=h.model_name,
            model_id=h.model_id,
            created_at=utc(h.created_at),
            created_by=h.created_by,
        )
        for h in session.execute(
            select(HostedModel).where(HostedModel.model_id == model_id)
        ).scalars()
    ]
    return ModelDetail(
        model=model_summary(session, m),
        lineage=lineage,
        origin=origin,
        reports=report_summaries(session, model_id),
        approvals=approvals,
        hosted=hosted,
        used_by=_used_by(session, m),
    )


def _used_by(session: Session, m: Model) -> list[RepositoryUse]:
    bare = m.key.split(":", 1)[1] if ":" in m.key else m.key
    rows = session.execute(
        select(Repository.id, Repository.name, RepositoryRef.file, RepositoryRef.line)
        .join(RepositoryRef, RepositoryRef.report_id == Repository.latest_report_id)
        .where(RepositoryRef.model.in_([bare, m.name]))
        .order_by(Repository.name, RepositoryRef.file)
        .limit(200)
    ).all()
    return [RepositoryUse(repository_id=i, repository=n, file=f, line=ln) for i, n, f, ln in rows]


def report_detail(session: Session, report_id: int, against: int | None = None) -> ReportDetail:
    """A report with its document, passport, and the diff from ``against`` (default: previous)."""
    row = session.get(ReportRow, report_id)
    if row is None:
        msg = f"no report with id {report_id}"
        raise NotFound(msg)
    doc = load_document(row)
    model = get_model(session, row.model_id)
    prow = (
        session.execute(
            select(PassportRow).where(PassportRow.report_id == report_id).order_by(PassportRow.id)
        )
        .scalars()
        .first()
    )
    passport = (
        PassportOut(
            key_id=prow.key_id,
            decision=prow.decision,
            policy=prow.policy,
            recorded_at=utc(prow.recorded_at),
            envelope=json.loads(prow.envelope),
        )
        if prow is not None
        else None
    )
    if against is None:
        prev = (
            session.execute(
                select(ReportRow)
                .where(
                    ReportRow.model_id == row.model_id,
                    (ReportRow.created_at < row.created_at)
                    | ((ReportRow.created_at == row.created_at) & (ReportRow.id < row.id)),
                )
                .order_by(ReportRow.created_at.desc(), ReportRow.id.desc())
                .limit(1)
            )
            .scalars()
            .first()
        )
    else:
        prev = session.get(ReportRow, against)
        if prev is None:
            msg = f"no report with id {against}"
            raise NotFound(msg)
    diff = diff_reports(load_document(prev), doc) if prev is not None else None
    return ReportDetail(
        summary=_report_summary(row, prow is not None),
        model_key=model.key,
        document=json.loads(row.document),
        passport=passport,
        previous_id=prev.id if prev is not None else None,
        diff_previous=diff,
    )


def _repo_summary(r: Repository) -> RepositorySummary:
    return RepositorySummary(
        id=r.id,
        key=r.key,
        name=r.name,
        first_seen=utc(r.first_seen),
        last_seen=utc(r.last_seen),
        references_count=r.references_count,
        latest_report_id=r.latest_report_id,
    )


def list_repositories(session: Session) -> list[RepositorySummary]:
    """Every repository, most recently seen first."""
    rows = session.execute(select(Repository).order_by(Repository.last_seen.desc())).scalars()
    return [_repo_summary(r) for r in rows]


def repository_detail(session: Session, repo_id: int) -> RepositoryDetail:
    """A repository and the model references of its newest discover report."""
    r = session.get(Repository, repo_id)
    if r is None:
        msg = f"no repository with id {repo_id}"
        raise NotFound(msg)
    refs = (
        session.execute(
            select(RepositoryRef)
            .where(RepositoryRef.report_id == r.latest_report_id)
            .order_by(RepositoryRef.file, RepositoryRef.line)
        )
        .scalars()
        .all()
    )
    names = {x.model for x in refs if x.model}
    known: dict[str, int] = {}
    if names:
        for mid, key, name in session.execute(select(Model.id, Model.key, Model.name)).all():
            bare = key.split(":", 1)[1] if ":" in key else key
            for n in (bare, name):
                if n in names:
                    known.setdefault(n, mid)
    n_reports = session.execute(
        select(func.count(RepositoryReport.id)).where(RepositoryReport.repository_id == repo_id)
    ).scalar_one()
    return RepositoryDetail(
        repository=_repo_summary(r),
        references=[
            ReferenceOut(
                kind=x.kind,
                model=x.model,
                endpoint=x.endpoint,
                publisher=x.publisher,
                publisher_country=x.publisher_country,
                host_operator=x.host_operator,
                host_country=x.host_country,
                file=x.file,
                line=x.line,
                model_id=known.get(x.model or ""),
            )
            for x in refs
        ],
        reports=n_reports,
    )


def list_events(session: Session, model_id: int | None, limit: int) -> list[EventOut]:
    """Audit events, newest first."""
    query = select(Event).order_by(Event.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if model_id is not None:
        query = query.where(Event.model_id == model_id)
    return [
        EventOut(
            id=e.id,
            at=utc(e.at),
            actor=e.actor,
            action=e.action,
            model_id=e.model_id,
            report_id=e.report_id,
            reason=e.reason,
            detail=json.loads(e.detail),
        )
        for e in session.execute(query).scalars()
    ]
