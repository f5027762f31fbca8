"""A single-file HTML report for people: verdict first, then what to look at.

Two stages, as the style guide asks: :func:`digest` turns the report into plain data (everything
a reader sees is decided there and unit-tested), then a Jinja template lays it out. The template
runs in jinja2's sandbox with autoescaping on: every string in a report may come from a hostile
model file (names, excerpts, metadata), so none is ever markup.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from modelcustoms.core import EngineStatus, LineageClaim, Relation, Report, Severity, Verdict
from modelcustoms.render.audit_digest import audit_digest

MAX_VALUE = 400
"""Longest fact value shown inline; the JSON report has the rest."""
MAX_CHAINS = 16
MAX_CHAIN_LENGTH = 16
"""Lineage is drawn as at most this many chains of this many links (reports may be hostile)."""
MAX_DEPTH = 32


class HtmlRenderer:
    """Renders a report as one self-contained HTML page (inline CSS, no scripts, no fetches)."""

    media_type = "text/html"

    def render(self, report: Report, verdict: Verdict | None = None) -> bytes:
        """The page as UTF-8 HTML."""
        page: str = _template().render(d=digest(report, verdict))
        return page.encode("utf-8")


@cache
def _template() -> Template:
    env = ImmutableSandboxedEnvironment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    source = resources.files("modelcustoms.render").joinpath("templates/report.html")
    return env.from_string(source.read_text(encoding="utf-8"))


def digest(report: Report, verdict: Verdict | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-like data."""
    counts = dict.fromkeys(Severity, 0)
    for f in report.findings:
        counts[f.severity] += 1
    return {
        "title": f"modelcustoms: {report.subject.name}",
        "tool": {"name": report.tool.name, "version": report.tool.version},
        "created_at": report.created_at.isoformat(),
        "report_digest": report.digest(),
        "subject": report.subject.model_dump(mode="json"),
        "verdict": _verdict(verdict),
        "result": _result(report),
        "counts": [{"severity": s.value, "count": counts[s]} for s in reversed(Severity)],
        "totals": {
            "artifacts": len(report.artifacts),
            "files": sum(1 for a in report.artifacts if a.parent is None),
            "findings": len(report.findings),
            "not_verified": len(_not_verified(report)),
            "facts": len(report.facts),
        },
        "engines": [
            {
                "name": r.engine,
                "version": r.version,
                "status": r.status.value,
                "analysed": r.analysed,
                "findings": len(r.findings),
                "skips": len(r.skips),
                "duration": f"{r.duration_s:.2f}s",
            }
            for r in report.runs
        ],
        "lineage": _chains(report),
        "findings": _findings(report),
        "not_verified": _not_verified(report),
        "facts": [
            {
                "key": f.key,
                "value": _short(f.value),
                "engine": f.engine,
                "confidence": f"{f.confidence:.2f}",
                "where": ", ".join(_where(ev.location) for ev in f.evidence[:3]),
            }
            for f in report.facts
        ],
        "artifacts": _artifacts(report),
        "audit": audit_digest(report),
    }


def _verdict(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "decision": verdict.decision.value,
        "policy": verdict.policy,
        "fired_rules": list(verdict.fired_rules),
        "reasons": list(verdict.reasons),
    }


def _result(report: Report) -> dict[str, str]:
    """The scan's own answer, kept apart from policy: findings, not verified, or clean."""
    worst = report.max_severity()
    unverified = bool(_not_verified(report)) or not any(r.analysed for r in report.runs)
    if worst is not None and worst >= Severity.MEDIUM:
        text = f"Findings up to {worst.value}"
        if unverified:
            text += "; some things could not be verified"
        return {"state": worst.value, "text": text}
    if unverified:
        return {"state": "unverified", "text": "Not fully verified: see the list below"}
    return {"state": "clean", "text": "Clean: nothing at medium or above, everything analysed"}


def _not_verified(report: Report) -> list[dict[str, str]]:
    out = [{"artifact": s.artifact, "reason": s.reason, "detail": s.detail} for s in report.skips]
    out += [
        {"artifact": "(engine)", "reason": f"engine-{r.status.value}", "detail": r.engine}
        for r in report.runs
        if r.status is EngineStatus.ERROR
    ]
    return out


def _findings(report: Report) -> list[dict[str, Any]]:
    ordered = sorted(report.findings, key=lambda f: -f.severity.rank)
    out = []
    for f in ordered:
        rule = report.rule(f.rule_id)
        ev = f.evidence[0] if f.evidence else None
        out.append(
            {
                "severity": f.severity.value,
                "rule_id": f.rule_id,
                "title": rule.title if rule else "",
                "message": f.message,
                "help": rule.help if rule else "",
                "where": _where(ev.location) if ev else "",
                "excerpt": ev.excerpt or "" if ev else "",
                "confidence": f"{f.confidence:.2f}",
                "engine": f.engine,
            }
        )
    return out


def _where(loc: Any) -> str:
    if loc.pointer:
        return f"{loc.artifact} [{loc.pointer}]"
    if loc.line is not None:
        return f"{loc.artifact}:{loc.line}"
    return str(loc.artifact)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _chains(report: Report) -> list[list[dict[str, Any]]]:
    """Lineage as chains of boxes: the subject, then each base with how it was linked."""
    claims = [
        c for run in report.runs for c in run.lineage if c.relation is not Relation.INDEPENDENT
    ]
    if not claims:
        return []
    bases = {c.base for c in claims}
    starts = [c for c in claims if c.subject not in bases] or claims[:1]
    chains: list[list[dict[str, Any]]] = []
    stack: list[list[LineageClaim]] = [[c] for c in reversed(starts)]
    while stack and len(chains) < MAX_CHAINS:
        path = stack.pop()
        seen = {c.subject for c in path} | {c.base for c in path}
        nxt = [c for c in claims if c.subject == path[-1].base and c.base not in seen]
        if nxt and len(path) < MAX_CHAIN_LENGTH:
            stack.extend([*path, c] for c in reversed(nxt))
            continue
        first = {"name": path[0].subject, "publisher": "", "country": "", "link": None}
        chains.append([first, *(_node(c) for c in path)])
    return chains


def _node(c: LineageClaim) -> dict[str, Any]:
    link = {
        "relation": c.relation.value,
        "level": c.level.value,
        "method": c.method,
        "score": "" if c.score is None else f"{c.score:.2f}",
    }
    return {
        "name": c.base,
        "publisher": c.publisher or "",
        "country": c.country or "",
        "link": link,
    }


def _artifacts(report: Report) -> list[dict[str, Any]]:
    parents = {a.path: a.parent for a in reversed(report.artifacts)}
    out = []
    for a in report.artifacts:
        depth, p = 0, a.parent
        while p is not None and p in parents and depth < MAX_DEPTH:
            depth, p = depth + 1, parents[p]
        out.append(
            {
                "path": a.path,
                "name": a.path.rsplit("!", 1)[-1] if a.parent else a.path,
                "depth": depth,
                "format": a.format.value,
                "size": a.size,
                "sha256": a.sha256,
            }
        )
    return out
