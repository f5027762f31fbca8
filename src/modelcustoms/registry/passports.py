"""Check a passport before the registry records it, and again before it vouches with it.

A passport is accepted only when a key the registry trusts signed it, it was issued for the
very report it is recorded with (same report digest), it binds exactly that report's top-level
files, and its verdict is the report's verdict when the report carries one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from modelcustoms.core import ReportDocument
from modelcustoms.errors import CustomsError
from modelcustoms.passport import Passport, PublicKey, key_id
from modelcustoms.passport.verify import read_envelope, verify_signature
from modelcustoms.registry.errors import InvalidSubmission


def verify_with_any(envelope: dict[str, Any], keys: Sequence[PublicKey]) -> Passport | None:
    """The verified statement when one of ``keys`` signed ``envelope``; None otherwise."""
    for key in keys:
        try:
            return verify_signature(envelope, key)
        except CustomsError:
            continue
    return None


def check_passport(
    envelope: dict[str, Any], doc: ReportDocument, keys: Sequence[PublicKey]
) -> Passport:
    """The verified passport for ``doc``; :class:`InvalidSubmission` says what is wrong."""
    try:
        shaped = read_envelope(json.dumps(envelope).encode())
    except CustomsError as exc:
        raise InvalidSubmission(f"passport: {exc.message}") from exc
    if not keys:
        msg = "passport: this registry trusts no passport key, so it cannot accept passports"
        raise InvalidSubmission(msg, hint="start `customs serve` with --trust-key PUB.pem")
    passport = verify_with_any(shaped, keys)
    if passport is None:
        ids = [s.get("keyid") for s in shaped["signatures"] if isinstance(s.get("keyid"), str)]
        trusted = ", ".join(key_id(k)[:16] + "…" for k in keys)
        signer = f"key {ids[0][:16]}…" if ids else "an unnamed key"
        msg = (
            f"passport: signature does not verify with any trusted key (signed by {signer}; "
            f"trusted: {trusted})"
        )
        raise InvalidSubmission(msg)
    problems: list[str] = []
    if passport.report_digest != doc.report_digest:
        problems.append(
            f"it was issued for report {passport.report_digest[:16]}…, "
            f"not for this report ({doc.report_digest[:16]}…)"
        )
    files = {a.path: a.sha256 for a in doc.artifacts if a.parent is None}
    if passport.files != files:
        problems.append("the files it binds are not the report's top-level files")
    if doc.verdict is not None and passport.verdict.get("decision") != doc.verdict.decision:
        problems.append(
            f"its verdict ({passport.verdict.get('decision')}) is not the report's "
            f"({doc.verdict.decision.value})"
        )
    if problems:
        raise InvalidSubmission("passport: " + "; ".join(problems))
    return passport
