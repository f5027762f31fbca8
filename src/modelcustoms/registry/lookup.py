"""The gateway's question: is there a passport that verifies for these weights or this served model?

Passports were checked when they were recorded; they are checked again here against the keys
the caller trusts now, so removing a key from the trusted set withdraws its passports at once.
The newest verifying passport wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelcustoms.errors import CustomsError
from modelcustoms.passport import Passport, PublicKey
from modelcustoms.passport.verify import read_envelope
from modelcustoms.registry.passports import verify_with_any
from modelcustoms.registry.queries import load_document
from modelcustoms.registry.schemas import PassportMatch
from modelcustoms.registry.tables import (
    Approval,
    ArtifactRow,
    HostedModel,
    Model,
    PassportRow,
    ReportRow,
)

MAX_CANDIDATES = 50


def find_by_digest(
    session: Session, sha256: str, keys: Sequence[PublicKey]
) -> PassportMatch | None:
    """Newest verifying passport binding a file with digest ``sha256``."""
    rows = session.execute(
        select(PassportRow, ReportRow)
        .join(ReportRow, ReportRow.id == PassportRow.report_id)
        .join(ArtifactRow, ArtifactRow.report_id == ReportRow.id)
        .where(ArtifactRow.sha256 == sha256)
        .order_by(ReportRow.created_at.desc(), PassportRow.id.desc())
        .limit(MAX_CANDIDATES)
    ).all()
    for prow, rrow in rows:
        match = _match(session, prow, rrow, keys)
        if match is not None and sha256 in match.files.values():
            return match
    return None


def find_hosted(
    session: Session, operator: str, model_name: str, keys: Sequence[PublicKey]
) -> PassportMatch | None:
    """Newest verifying passport of the model bound to ``operator``/``model_name``."""
    model_id = session.execute(
        select(HostedModel.model_id).where(
            HostedModel.operator == operator, HostedModel.model_name == model_name
        )
    ).scalar_one_or_none()
    if model_id is None:
        return None
    rows = session.execute(
        select(PassportRow, ReportRow)
        .join(ReportRow, ReportRow.id == PassportRow.report_id)
        .where(ReportRow.model_id == model_id)
        .order_by(ReportRow.created_at.desc(), PassportRow.id.desc())
        .limit(MAX_CANDIDATES)
    ).all()
    for prow, rrow in rows:
        match = _match(session, prow, rrow, keys)
        if match is not None:
            return match
    return None


def _verified(prow: PassportRow, keys: Sequence[PublicKey]) -> Passport | None:
    try:
        envelope = read_envelope(prow.envelope.encode())
    except CustomsError:  # a stored row that no longer parses never vouches for anything
        return None
    return verify_with_any(envelope, keys)


def _match(
    session: Session, prow: PassportRow, rrow: ReportRow, keys: Sequence[PublicKey]
) -> PassportMatch | None:
    passport = _verified(prow, keys)
    if passport is None or passport.report_digest != rrow.report_digest:
        return None
    model = session.get(Model, rrow.model_id)
    if model is None:
        return None
    doc = load_document(rrow)
    facts: dict[str, object] = {}
    for fact in doc.facts:
        facts.setdefault(fact.key, fact.value)
    chain = facts.get("origin.chain_countries")
    approval = session.execute(
        select(Approval.kind)
        .where(Approval.report_id == rrow.id)
        .order_by(Approval.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return PassportMatch(
        model_id=model.id,
        model_key=model.key,
        model_name=model.name,
        report_id=rrow.id,
        report_digest=rrow.report_digest,
        decision=str(passport.verdict.get("decision")),
        policy=str(passport.verdict.get("policy", "")),
        key_id=passport.key_id,
        passport_sha256=hashlib.sha256(prow.envelope.encode()).hexdigest(),
        family=_str(facts.get("identity.family")),
        publisher=_str(facts.get("origin.publisher")),
        country=_str(facts.get("origin.country")),
        chain_countries=[c for c in chain if isinstance(c, str)] if isinstance(chain, list) else [],
        files=dict(passport.files),
        approval={"approve": "approved", "waive": "waived"}.get(approval or ""),
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
