"""Read a report document back: the same types a fresh run produces, or a clear error."""

from __future__ import annotations

import json

from pydantic import ValidationError

from modelcustoms.core.report import SCHEMA_VERSION, ReportDocument
from modelcustoms.errors import ReportError


def load_report(data: bytes | str) -> ReportDocument:
    """Parse and validate a JSON report document; check its digest.

    Raises :class:`ReportError` for invalid JSON, an unknown major schema version, fields that
    do not validate, or a digest that no longer matches the content (an edited report).
    """
    try:
        raw = json.loads(data)
    except ValueError as exc:
        msg = f"not a JSON document: {exc}"
        raise ReportError(msg) from exc
    if not isinstance(raw, dict):
        msg = "a report document is a JSON object"
        raise ReportError(msg)
    version = raw.get("schema_version")
    if not isinstance(version, str) or version.split(".", 1)[0] != SCHEMA_VERSION.split(".")[0]:
        msg = f"unsupported report schema version {version!r}; this tool reads {SCHEMA_VERSION}"
        raise ReportError(msg, hint="use the modelcustoms version that wrote the report")
    try:
        doc = ReportDocument.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10]
        )
        msg = f"invalid report document: {problems}"
        raise ReportError(msg) from exc
    actual = doc.report().digest()
    if actual != doc.report_digest:
        msg = "report digest does not match its content: the document was modified"
        raise ReportError(msg)
    return doc
