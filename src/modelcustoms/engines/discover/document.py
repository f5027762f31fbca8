"""The report document of a discover run, built as plain JSON without the report model.

``customs discover -f json`` writes this instead of validating and re-serialising the run: it
is the same document ``core.ReportDocument`` produces (the same keys in the same order, the
same ``report_digest``), and a test keeps the two equal, so ``core.load.load_report`` reads it
back and verifies it like any other report.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from modelcustoms.engines.discover import ENGINE, FACT_KEY
from modelcustoms.engines.discover.digest import sha256_hex
from modelcustoms.engines.discover.kinds import SEVERITY_RANK
from modelcustoms.engines.discover.rules import RULE_DATA, message, rule_data_for
from modelcustoms.engines.discover.scan import Outcome
from modelcustoms.version import __version__

SCHEMA_VERSION = "1.0"
"""``core.report.SCHEMA_VERSION`` (a test keeps them equal)."""


def timestamp(epoch: float) -> str:
    """A UTC time as the report model writes it (``...T12:00:00.123456Z``).

    From ``time``, not ``datetime``: one import less on the fast path.
    """
    seconds = int(epoch)
    micro = round((epoch - seconds) * 1_000_000)
    if micro >= 1_000_000:
        seconds, micro = seconds + 1, micro - 1_000_000
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return text + (f".{micro:06d}" if micro else "") + "Z"


def report_fields(
    path: str | os.PathLike[str], outcome: Outcome, created_at: str | None = None
) -> dict[str, Any]:
    """The report (without digest and verdict) of ``outcome`` over ``path``.

    ``created_at`` is a :func:`timestamp` (default: now).
    """
    subject_ref = os.fspath(path)
    # NOTE: what ``Path(ref).resolve().name or str(Path(ref))`` gives, without pathlib.
    name = os.path.basename(os.path.realpath(subject_ref)) or os.path.normpath(subject_ref)  # noqa: PTH119
    findings: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    used: set[str] = set()
    for f in outcome.files:
        for ref, excerpt in f.refs:
            evidence = {
                "location": {
                    "artifact": ref.file,
                    "sha256": f.sha256,
                    "pointer": f"cell {ref.cell}" if ref.cell is not None else None,
                    "offset": None,
                    "line": ref.line,
                },
                "excerpt": excerpt or None,
            }
            value = ref.as_dict()
            facts.append(
                {
                    "key": FACT_KEY,
                    "value": value,
                    "engine": ENGINE,
                    "evidence": [evidence],
                    "confidence": ref.confidence,
                }
            )
            rule = rule_data_for(ref)
            used.add(rule.id)
            findings.append(
                {
                    "rule_id": rule.id,
                    "severity": rule.severity,
                    "engine": ENGINE,
                    "message": message(ref),
                    "evidence": [evidence],
                    "confidence": ref.confidence,
                }
            )
    run = {
        "engine": ENGINE,
        "version": __version__,
        "status": "partial" if outcome.partial else "ok",
        "findings": findings,
        "facts": facts,
        "skips": [
            {"artifact": s.artifact, "reason": s.reason, "detail": s.detail} for s in outcome.skips
        ],
        "lineage": [],
        "rules": [r.as_dict() for r in RULE_DATA if r.id in used],
        "analysed": outcome.analysed,
        "duration_s": outcome.duration_s,
    }
    artifacts = [
        {
            "path": f.path,
            "size": f.size,
            "sha256": f.sha256,
            "format": f.format,
            "format_hint": f.format_hint,
            "parent": None,
        }
        for f in outcome.files
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "modelcustoms", "version": __version__},
        "created_at": created_at or timestamp(time.time()),
        "subject": {
            "kind": "path",
            "ref": subject_ref,
            "name": name,
            "revision": None,
        },
        "artifacts": artifacts,
        "runs": [run],
    }


def digest(fields: dict[str, Any]) -> str:
    """``Report.digest``: sha256 of the canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(canonical.encode("utf-8"))


def document(fields: dict[str, Any]) -> dict[str, Any]:
    """The document as written to disk: the report, its digest, no verdict."""
    return {**fields, "report_digest": digest(fields), "verdict": None}


def render_json(doc: dict[str, Any]) -> bytes:
    """Indented UTF-8 JSON: the document's structure one key per line, each finding, fact and
    skip on a line of its own.

    ``json.dumps(..., indent=2)`` runs the pure-Python encoder and costs more than the whole
    scan of a small repository; the compact C encoder writes the inner objects instead. The
    content is the report model's document exactly (a test parses and compares both).
    """
    return (_dump(doc, 0) + "\n").encode("utf-8")


_EXPANDED_DEPTH = 3
"""Containers down to this depth get a line per member; deeper ones are written compactly."""


def _dump(value: Any, depth: int) -> str:
    if depth > _EXPANDED_DEPTH or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, ensure_ascii=False)
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dump(v, depth + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    items = [pad + _dump(v, depth + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"


def worst_severity_rank(fields: dict[str, Any]) -> int:
    """The rank of the worst finding's severity (-1 without findings)."""
    ranks = [SEVERITY_RANK[f["severity"]] for r in fields["runs"] for f in r["findings"]]
    return max(ranks, default=-1)
