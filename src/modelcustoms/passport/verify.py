"""Verify a passport: the signature first, then every file digest, then the report.

Each check names what failed, so that a changed file, an edited report and a wrong key read
differently. Nothing in an unverified payload is trusted: its JSON is read only after the
signature checks out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelcustoms.core.load import load_report
from modelcustoms.errors import ReportError
from modelcustoms.passport.errors import PassportError, VerificationFailed
from modelcustoms.passport.keys import PublicKey, key_id, signature_valid
from modelcustoms.passport.sign import pae
from modelcustoms.passport.statement import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE
from modelcustoms.sources.local import local_inputs

MAX_PASSPORT_BYTES = 64 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Passport:
    """A passport whose signature verified."""

    key_id: str
    statement: dict[str, Any]
    files: dict[str, str]
    """File name → sha256, as signed."""
    report_digest: str
    verdict: dict[str, Any]


def read_envelope(data: bytes) -> dict[str, Any]:
    """Parse a DSSE envelope (shape only; nothing in it is trusted yet)."""
    if len(data) > MAX_PASSPORT_BYTES:
        msg = f"passport larger than {MAX_PASSPORT_BYTES} bytes"
        raise PassportError(msg)
    try:
        env = json.loads(data)
    except ValueError as exc:
        msg = f"the passport is not JSON: {exc}"
        raise PassportError(msg) from exc
    ok = (
        isinstance(env, dict)
        and isinstance(env.get("payload"), str)
        and isinstance(env.get("payloadType"), str)
        and isinstance(env.get("signatures"), list)
        and env["signatures"]
        and all(isinstance(s, dict) and isinstance(s.get("sig"), str) for s in env["signatures"])
    )
    if not ok:
        msg = "not a DSSE envelope (needs payload, payloadType and signatures[].sig)"
        raise PassportError(msg)
    envelope: dict[str, Any] = env
    return envelope


def verify_signature(env: dict[str, Any], public_key: PublicKey) -> Passport:
    """Check the envelope's signature with ``public_key`` and return the signed statement."""
    try:
        payload = base64.b64decode(env["payload"], validate=True)
    except (binascii.Error, ValueError) as exc:
        msg = "the passport payload is not base64: the passport was altered"
        raise VerificationFailed([msg]) from exc
    wanted = key_id(public_key)
    message = pae(env["payloadType"], payload)
    for sig in env["signatures"]:
        try:
            raw = base64.b64decode(sig["sig"], validate=True)
        except (binascii.Error, ValueError):
            continue
        if signature_valid(public_key, raw, message):
            return _statement(payload, env["payloadType"], wanted)
    ids = [s.get("keyid") for s in env["signatures"] if isinstance(s.get("keyid"), str)]
    if ids and wanted not in ids:
        msg = (
            f"wrong key: the passport was signed by key {ids[0][:16]}…, not by the given "
            f"public key {wanted[:16]}…"
        )
    else:
        msg = "signature does not verify: the passport was altered after it was signed"
    raise VerificationFailed([msg])


def _statement(payload: bytes, payload_type: str, kid: str) -> Passport:
    problems: list[str] = []
    if payload_type != PAYLOAD_TYPE:
        problems.append(f"payload type {payload_type!r} is not {PAYLOAD_TYPE}")
    try:
        st = json.loads(payload)
    except ValueError:
        st = None
    if not isinstance(st, dict) or st.get("_type") != STATEMENT_TYPE:
        raise VerificationFailed([*problems, "the signed payload is not an in-toto Statement v1"])
    if st.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"predicate type {st.get('predicateType')!r} is not {PREDICATE_TYPE}")
    files: dict[str, str] = {}
    for s in st.get("subject") or []:
        name = s.get("name") if isinstance(s, dict) else None
        digest = _obj(s.get("digest")).get("sha256") if isinstance(s, dict) else None
        if not isinstance(name, str) or not isinstance(digest, str) or not _SHA256.match(digest):
            problems.append("a subject entry lacks a name or a sha256 digest")
            continue
        files[name] = digest
    pred = _obj(st.get("predicate"))
    rdigest = _obj(_obj(pred.get("report")).get("digest")).get("sha256")
    verdict = pred.get("verdict")
    if not files:
        problems.append("the passport binds no file")
    if not isinstance(rdigest, str) or not _SHA256.match(rdigest):
        problems.append("the passport carries no report digest")
    if not isinstance(verdict, dict) or not isinstance(verdict.get("decision"), str):
        problems.append("the passport carries no verdict")
    if problems:
        raise VerificationFailed(problems)
    assert isinstance(rdigest, str) and isinstance(verdict, dict)
    return Passport(kid, st, files, rdigest, verdict)


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def file_problems(passport: Passport, paths: Sequence[Path]) -> list[str]:
    """Re-hash the model files named as the scan named them; list every difference."""
    inputs = local_inputs(paths)
    found: dict[str, str] = {}
    for opener in inputs.openers:
        h = hashlib.sha256()
        try:
            with opener.open() as blob:
                for chunk in blob.chunks():
                    h.update(chunk)
        except OSError as exc:
            found[opener.path] = f"unreadable ({exc.strerror or exc})"
            continue
        found[opener.path] = h.hexdigest()
    problems: list[str] = []
    for name, want in sorted(passport.files.items()):
        got = found.get(name)
        if got is None:
            problems.append(f"{name}: missing (the passport lists it)")
        elif got != want:
            problems.append(
                f"{name}: content changed since the passport was issued "
                f"(sha256 {got[:16]}…, passport says {want[:16]}…)"
            )
    problems += [
        f"{name}: not in the passport (a file was added)"
        for name in sorted(found)
        if name not in passport.files
    ]
    return problems


def report_problems(passport: Passport, report: bytes) -> list[str]:
    """Check that ``report`` is unedited and is the one the passport was issued for."""
    try:
        doc = load_report(report)
    except ReportError as exc:
        return [f"report: {exc.message}"]
    if doc.report_digest != passport.report_digest:
        return [
            f"report: digest {doc.report_digest[:16]}… is not the passport's "
            f"{passport.report_digest[:16]}…: this is not the report the passport was issued for"
        ]
    if doc.verdict is not None:
        # NOTE: the report digest covers the report, not the verdict stored beside it, so an
        # edited verdict is caught here rather than by load_report.
        ours = (doc.verdict.decision.value, doc.verdict.policy, list(doc.verdict.fired_rules))
        theirs = tuple(passport.verdict.get(k) for k in ("decision", "policy", "firedRules"))
        if ours != theirs:
            return [
                f"report: its verdict ({ours[0]}, policy {ours[1]}) differs from the passport's "
                f"({theirs[0]}, policy {theirs[1]}): the verdict was edited"
            ]
    return []


def verify_passport(
    envelope: bytes,
    public_key: PublicKey,
    paths: Sequence[Path],
    report: bytes | None = None,
) -> Passport:
    """Signature, then files, then report; raises :class:`VerificationFailed` listing all."""
    passport = verify_signature(read_envelope(envelope), public_key)
    problems = file_problems(passport, paths)
    if report is not None:
        problems += report_problems(passport, report)
    if problems:
        raise VerificationFailed(problems)
    return passport
