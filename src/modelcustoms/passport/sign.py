"""Sign a statement into a DSSE envelope (https://github.com/secure-systems-lab/dsse).

The signature covers the DSSE pre-authentication encoding (PAE) of the payload type and the
payload bytes, never the JSON around them, so re-serialising the envelope cannot change what
was signed.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from modelcustoms.core import ReportDocument, Verdict
from modelcustoms.passport.keys import PrivateKey, key_id, sign_bytes
from modelcustoms.passport.statement import (
    PAYLOAD_TYPE,
    build_statement,
    scan_default_verdict,
    statement_bytes,
)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 len(type) type len(body) body``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def sign_envelope(
    payload: bytes, key: PrivateKey, payload_type: str = PAYLOAD_TYPE
) -> dict[str, Any]:
    """A DSSE envelope over ``payload`` with one signature by ``key``."""
    signature = sign_bytes(key, pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {
                "keyid": key_id(key.public_key()),
                "sig": base64.b64encode(signature).decode("ascii"),
            }
        ],
    }


def issue_passport(
    doc: ReportDocument,
    key: PrivateKey,
    *,
    now: datetime,
    tool_version: str,
    verdict: Verdict | None = None,
) -> dict[str, Any]:
    """The signed passport (a DSSE envelope) for a report document.

    The verdict is, in order: the one given, the one the document carries, or the scan
    default (:func:`scan_default_verdict`).
    """
    chosen = verdict or doc.verdict or scan_default_verdict(doc.report())
    statement = build_statement(doc, chosen, now=now, tool_version=tool_version)
    return sign_envelope(statement_bytes(statement), key)
