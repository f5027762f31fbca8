"""``RegistryStore``: the registry's one entry point for the web service, the CLI and the gateway.

Opening a store migrates its database to the newest schema. Every write is one transaction;
SQLite writers take the lock at BEGIN and wait for each other, PostgreSQL writers race safely
through ``ON CONFLICT DO NOTHING`` (see ``record.py``). Reads never write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from modelcustoms.core import ReportDocument
from modelcustoms.core.load import load_report
from modelcustoms.errors import ReportError
from modelcustoms.passport import PublicKey
from modelcustoms.registry import queries
from modelcustoms.registry.auth import Role, new_token, token_hash
from modelcustoms.registry.db import default_url, migrate, open_engine, writer
from modelcustoms.registry.diff import ReportDiff, diff_reports
from modelcustoms.registry.errors import Conflict, InvalidSubmission, NotFound, RegistryError
from modelcustoms.registry.extract import summarise
from modelcustoms.registry.lookup import find_by_digest, find_hosted
from modelcustoms.registry.passports import check_passport
from modelcustoms.registry.record import record_model, record_repository, utc
from modelcustoms.registry.schemas import (
    ApprovalOut,
    EventOut,
    Facets,
    HostedOut,
    InventoryCount,
    ModelDetail,
    ModelPage,
    PassportMatch,
    Recorded,
    ReportDetail,
    RepositoryDetail,
    RepositorySummary,
)
from modelcustoms.registry.tables import Approval, Event, HostedModel, Model, ReportRow, Token

T = TypeVar("T")
MAX_REPORT_BYTES = 32 * 1024 * 1024
_RETRIES = 5


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token belongs to."""

    name: str
    role: Role


class RegistryStore:
    """The registry database: record reports, read the inventory, approve, look up passports."""

    def __init__(
        self,
        url: str | None = None,
        *,
        trusted_keys: Sequence[PublicKey] = (),
        migrate_schema: bool = True,
    ) -> None:
        self.url = url or default_url()
        self.engine = open_engine(self.url)
        self._writer = writer(self.engine)
        self.trusted_keys = tuple(trusted_keys)
        if migrate_schema:
            migrate(self.engine)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> RegistryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- sessions ------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self.engine) as session:
            yield session

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction, retrying transient conflicts."""
        for attempt in range(_RETRIES):
            try:
                with Session(self._writer) as session, session.begin():
                    return work(session)
            except IntegrityError:
                raise
            except (OperationalError, DBAPIError) as exc:
                if attempt == _RETRIES - 1 or not _transient(exc):
                    msg = f"registry database error: {exc.orig}"
                    raise RegistryError(msg) from exc
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- recording -----------------------------------------------------------------------

    def record(
        self,
        document: bytes | str | dict[str, Any] | ReportDocument,
        passport: dict[str, Any] | None = None,
        *,
        actor: str,
    ) -> Recorded:
        """Validate and store one report (and its passport).

        Raises :class:`InvalidSubmission` (nothing stored) for a document that does not load,
        whose digest does not match, or a passport that does not verify for it.
        """
        doc = parse_document(document)
        summary = summarise(doc)
        verified = None
        if passport is not None:
            if summary.is_repository:
                msg = "passport: a discover report of a repository cannot carry a passport"
                raise InvalidSubmission(msg)
            verified = (check_passport(passport, doc, self.trusted_keys), passport)
        now = datetime.now(UTC)
        if summary.is_repository:
            return self._write(lambda s: record_repository(s, doc, summary, actor, now))
        return self._write(lambda s: record_model(s, doc, summary, verified, actor, now))

    # -- tokens ----------------------------------------------------------------------------

    def create_token(self, name: str, role: Role) -> str:
        """A new token (returned once; only its hash is stored)."""
        secret = new_token()

        def work(s: Session) -> None:
            if s.execute(select(Token.id).where(Token.name == name)).first() is not None:
                msg = f"a token named {name!r} exists already"
                raise Conflict(msg, hint="revoke it first or choose another name")
            now = datetime.now(UTC)
            s.add(Token(name=name, role=role.value, token_hash=token_hash(secret), created_at=now))
            s.add(
                _event(
                    now, "admin", "token-create", None, None, "", {"name": name, "role": role.value}
                )
            )

        self._write(work)
        return secret

    def revoke_token(self, name: str) -> None:
        """Revoke a token by name."""

        def work(s: Session) -> None:
            now = datetime.now(UTC)
            done = s.execute(
                update(Token)
                .where(Token.name == name, Token.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                msg = f"no active token named {name!r}"
                raise NotFound(msg)
            s.add(_event(now, "admin", "token-revoke", None, None, "", {"name": name}))

        self._write(work)

    def tokens(self) -> list[dict[str, Any]]:
        """Every token's name, role and state (never the secret)."""
        with self.reading() as s:
            return [
                {
                    "name": t.name,
                    "role": t.role,
                    "created_at": t.created_at.isoformat(),
                    "revoked": t.revoked_at is not None,
                }
                for t in s.execute(select(Token).order_by(Token.id)).scalars()
            ]

    def authenticate(self, token: str) -> Principal | None:
        """The principal of an active token; None for an unknown or revoked one."""
        with self.reading() as s:
            row = s.execute(
                select(Token.name, Token.role).where(
                    Token.token_hash == token_hash(token), Token.revoked_at.is_(None)
                )
            ).first()
        return Principal(row[0], Role(row[1])) if row is not None else None

    # -- approvals -----------------------------------------------------------------------

    def approve(
        self,
        model_id: int,
        *,
        actor: str,
        reason: str,
        report_id: int | None = None,
        waive_rules: Sequence[str] | None = None,
    ) -> ApprovalOut:
        """Approve (or, with ``waive_rules``, waive) a report of a model; an audit event."""
        kind = "approve" if waive_rules is None else "waive"
        rules = list(waive_rules or ())
        if not reason.strip():
            msg = f"an {kind} needs a reason"
            raise InvalidSubmission(msg)

        def work(s: Session) -> ApprovalOut:
            model = queries.get_model(s, model_id)
            rid = report_id if report_id is not None else model.latest_report_id
            row = s.get(ReportRow, rid) if rid is not None else None
            if row is None or row.model_id != model_id:
                msg = f"model {model_id} has no report {rid}"
                raise NotFound(msg)
            if kind == "approve" and row.decision == "deny":
                msg = "this report's verdict is deny: it cannot be approved, only waived"
                raise Conflict(msg, hint="use waive with the rule ids you accept and a reason")
            now = datetime.now(UTC)
            a = Approval(
                model_id=model_id,
                report_id=row.id,
                kind=kind,
                rules=json.dumps(rules),
                reason=reason,
                actor=actor,
                at=now,
            )
            s.add(a)
            s.add(_event(now, actor, kind, model_id, row.id, reason, {"rules": rules}))
            s.flush()
            return ApprovalOut(
                id=a.id,
                model_id=model_id,
                report_id=row.id,
                kind=kind,
                rules=rules,
                reason=reason,
                actor=actor,
                at=now,
            )

        return self._write(work)

    def bind_hosted(self, operator: str, model_name: str, model_key: str, *, actor: str) -> None:
        """Declare that ``operator`` serves registry model ``model_key`` as ``model_name``."""

        def work(s: Session) -> None:
            mid = s.execute(select(Model.id).where(Model.key == model_key)).scalar_one_or_none()
            if mid is None:
                msg = f"no model with key {model_key!r}"
                raise NotFound(msg)
            existing = s.execute(
                select(HostedModel).where(
                    HostedModel.operator == operator, HostedModel.model_name == model_name
                )
            ).scalar_one_or_none()
            now = datetime.now(UTC)
            if existing is None:
                s.add(
                    HostedModel(
                        operator=operator,
                        model_name=model_name,
                        model_id=mid,
                        created_at=now,
                        created_by=actor,
                    )
                )
            else:
                existing.model_id = mid
            detail = {"operator": operator, "model_name": model_name}
            s.add(_event(now, actor, "bind-hosted", mid, None, "", detail))

        self._write(work)

    # -- reads ---------------------------------------------------------------------------

    def list_models(
        self, flt: queries.ModelFilter | None = None, limit: int = 100, offset: int = 0
    ) -> ModelPage:
        """One page of the inventory."""
        with self.reading() as s:
            return queries.list_models(s, flt or queries.ModelFilter(), limit, offset)

    def facets(self) -> Facets:
        """Distinct filter values."""
        with self.reading() as s:
            return queries.facets(s)

    def counts(self) -> list[InventoryCount]:
        """Models per origin country and verdict."""
        with self.reading() as s:
            return queries.counts(s)

    def model(self, model_id: int) -> ModelDetail:
        """One model with its lineage, history and approvals."""
        with self.reading() as s:
            return queries.model_detail(s, model_id)

    def model_id(self, key: str) -> int:
        """The id of the model with ``key``."""
        with self.reading() as s:
            mid = s.execute(select(Model.id).where(Model.key == key)).scalar_one_or_none()
        if mid is None:
            msg = f"no model with key {key!r}"
            raise NotFound(msg)
        return mid

    def report(self, report_id: int, against: int | None = None) -> ReportDetail:
        """One report with its document, passport and diff from the previous one."""
        with self.reading() as s:
            return queries.report_detail(s, report_id, against)

    def diff(self, old_id: int, new_id: int) -> ReportDiff:
        """The diff between two stored reports."""
        with self.reading() as s:
            docs = []
            for rid in (old_id, new_id):
                row = s.get(ReportRow, rid)
                if row is None:
                    msg = f"no report with id {rid}"
                    raise NotFound(msg)
                docs.append(queries.load_document(row))
        return diff_reports(docs[0], docs[1])

    def repositories(self) -> list[RepositorySummary]:
        """Every repository scanned by discover."""
        with self.reading() as s:
            return queries.list_repositories(s)

    def repository(self, repo_id: int) -> RepositoryDetail:
        """One repository and the references of its newest report."""
        with self.reading() as s:
            return queries.repository_detail(s, repo_id)

    def events(self, model_id: int | None = None, limit: int = 100) -> list[EventOut]:
        """The audit trail, newest first."""
        with self.reading() as s:
            return queries.list_events(s, model_id, limit)

    def hosted(self) -> list[HostedOut]:
        """Every hosted-model binding."""
        with self.reading() as s:
            return [
                HostedOut(
                    operator=h.operator,
                    model_name=h.model_name,
                    model_id=h.model_id,
                    created_at=utc(h.created_at),
                    created_by=h.created_by,
                )
                for h in s.execute(select(HostedModel).order_by(HostedModel.id)).scalars()
            ]

    # -- the gateway's questions -----------------------------------------------------------

    def passport_for_digest(
        self, sha256: str, keys: Sequence[PublicKey] | None = None
    ) -> PassportMatch | None:
        """The newest passport that verifies (with ``keys``, default the trusted keys) and binds
        a file with this sha256, with the model's origin facts; None when there is none."""
        with self.reading() as s:
            return find_by_digest(s, sha256.lower(), self._keys(keys))

    def passport_for_hosted(
        self, operator: str, model_name: str, keys: Sequence[PublicKey] | None = None
    ) -> PassportMatch | None:
        """The newest verifying passport of the model ``operator`` serves as ``model_name``."""
        with self.reading() as s:
            return find_hosted(s, operator, model_name, self._keys(keys))

    def _keys(self, keys: Sequence[PublicKey] | None) -> tuple[PublicKey, ...]:
        return tuple(keys) if keys is not None else self.trusted_keys


def parse_document(document: bytes | str | dict[str, Any] | ReportDocument) -> ReportDocument:
    """A validated report document, or :class:`InvalidSubmission` with the reason."""
    if isinstance(document, ReportDocument):
        document = document.model_dump_json()
    elif isinstance(document, dict):
        document = json.dumps(document)
    if len(document) > MAX_REPORT_BYTES:
        msg = f"report larger than {MAX_REPORT_BYTES} bytes"
        raise InvalidSubmission(msg)
    try:
        doc = load_report(document)
    except ReportError as exc:
        raise InvalidSubmission(f"report: {exc.message}") from exc
    if doc.verdict is not None and doc.verdict.report_digest != doc.report_digest:
        # NOTE: the report digest does not cover the verdict stored beside it; a verdict made
        # for another report would otherwise be filed under this one.
        msg = (
            f"report: its verdict was made for report {doc.verdict.report_digest[:16]}…, "
            f"not for this one ({doc.report_digest[:16]}…)"
        )
        raise InvalidSubmission(msg)
    return doc


def _event(
    at: datetime,
    actor: str,
    action: str,
    model_id: int | None,
    report_id: int | None,
    reason: str,
    detail: dict[str, Any],
) -> Event:
    return Event(
        at=at,
        actor=actor,
        action=action,
        model_id=model_id,
        report_id=report_id,
        reason=reason,
        detail=json.dumps(detail, sort_keys=True),
    )


def _transient(exc: DBAPIError) -> bool:
    """Deadlocks, serialization failures and a locked SQLite database are worth a retry."""
    text = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01") or "database is locked" in text or "deadlock" in text
