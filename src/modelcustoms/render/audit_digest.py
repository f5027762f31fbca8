"""The audit part of a report as plain data, for the HTML and terminal renderers.

Read from the audit run's facts only (``audit.suites``, ``audit.<suite>.measures``,
``audit.requests``...), so a report loaded from disk renders the same as a fresh one. Every
number comes with its interval: a lone point estimate is never shown.
"""

from __future__ import annotations

from typing import Any

from modelcustoms.core import Report

FEW_CLUSTERS = 8
"""Below this many clusters a percentile bootstrap interval is too narrow to trust."""
SUITES = ("censorship", "narrative", "business", "security", "language", "imported")


def _num(x: Any, fmt: str = "{:+.3f}") -> str:
    return fmt.format(x) if isinstance(x, int | float) else "n/a"


def _bar(low: Any, high: Any, point: Any) -> dict[str, float] | None:
    """Percent positions of an interval drawn on a [-1, 1] axis."""
    if not all(isinstance(v, int | float) for v in (low, high, point)):
        return None

    def pos(v: float) -> float:
        return round(max(0.0, min(100.0, (v + 1.0) * 50.0)), 1)

    return {"left": pos(low), "width": max(0.6, pos(high) - pos(low)), "point": pos(point)}


def _measure(m: dict[str, Any]) -> dict[str, Any]:
    ci = m.get("delta_ci") or [None, None]
    sci = m.get("subject_ci") or [None, None]
    low, high = ci[0], ci[1]
    worse = isinstance(high, int | float) and high < 0
    better = isinstance(low, int | float) and low > 0
    return {
        "name": str(m.get("name", "")),
        "description": str(m.get("description", "")),
        "headline": bool(m.get("headline")),
        "subject": _num(m.get("subject"), "{:.3f}"),
        "subject_ci": f"[{_num(sci[0], '{:.3f}')}, {_num(sci[1], '{:.3f}')}]",
        "reference": _num(m.get("reference"), "{:.3f}"),
        "delta": _num(m.get("delta")),
        "delta_ci": f"[{_num(low)}, {_num(high)}]",
        "p": _num(m.get("p_value"), "{:.3g}"),
        "p_holm": _num(m.get("p_holm"), "{:.3g}"),
        "test": str(m.get("test", "")),
        "mde": _num(m.get("mde"), "{:.3f}"),
        "n": f"{m.get('n_subject', '?')}/{m.get('n_reference', '?')}",
        "clusters": m.get("clusters", "?"),
        "state": "worse" if worse else "better" if better else "inconclusive",
        "few": isinstance(m.get("clusters"), int) and m["clusters"] < FEW_CLUSTERS,
        "bar": _bar(low, high, m.get("delta")),
    }


def audit_digest(report: Report) -> dict[str, Any] | None:
    """The audit section, or None when the report has no audit run."""
    run = next((r for r in report.runs if r.engine == "audit"), None)
    if run is None:
        return None
    facts: dict[str, Any] = {}
    for f in run.facts:
        facts.setdefault(f.key, f.value)
    suites = []
    for name in SUITES:
        measures = facts.get(f"audit.{name}.measures")
        if not isinstance(measures, list):
            continue
        rows = [_measure(m) for m in measures if isinstance(m, dict)]
        head = next((r for r in rows if r["headline"]), rows[0] if rows else None)
        suites.append(
            {
                "name": name,
                "version": str(facts.get(f"audit.{name}.version", "")),
                "headline": head,
                "measures": rows,
            }
        )
    subject = facts.get("audit.subject") or {}
    reference = facts.get("audit.reference") or {}
    options = facts.get("audit.options") or {}
    requests = facts.get("audit.requests") or {}
    return {
        "subject": str(subject.get("name", "")) if isinstance(subject, dict) else "",
        "reference": str(reference.get("name", "")) if isinstance(reference, dict) else "",
        "scorer": str(facts.get("audit.scorer", "")),
        "options": ", ".join(f"{k} {v}" for k, v in options.items())
        if isinstance(options, dict)
        else "",
        "requests": ", ".join(
            f"{who}: {v.get('unique', '?')} unique, {v.get('sent', '?')} sent, "
            f"{v.get('cached', '?')} cached, {v.get('errors', '?')} errors"
            for who, v in requests.items()
            if isinstance(v, dict)
        )
        if isinstance(requests, dict)
        else "",
        "suites": suites,
        "status": run.status.value,
    }
