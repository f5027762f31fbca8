"""Rich tables for people: the only module that imports rich.

The summary line separates the three answers a security engineer needs: findings at some
severity, "could not verify" (skips and analyzer errors), and clean.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from modelcustoms.core import EngineStatus, Report, Severity, Verdict
from modelcustoms.render.audit_terminal import print_audit

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


class TerminalRenderer:
    """Renders a report as text tables (ANSI colours only when asked)."""

    media_type = "text/plain"

    def __init__(self, *, color: bool = False, width: int = 120) -> None:
        self.color = color
        self.width = width

    def render(self, report: Report, verdict: Verdict | None = None) -> bytes:
        """The tables, as UTF-8 text."""
        buf = io.StringIO()
        console = Console(
            file=buf,
            force_terminal=self.color,
            no_color=not self.color,
            width=self.width,
            highlight=False,
            soft_wrap=False,
            markup=False,
        )
        by_format: dict[str, int] = {}
        for a in report.artifacts:
            by_format[a.format.value] = by_format.get(a.format.value, 0) + 1
        formats = ", ".join(f"{k} {v}" for k, v in sorted(by_format.items()))
        console.print(
            Text(f"modelcustoms {report.tool.version} — {report.subject.ref}", style="bold")
        )
        console.print(f"artifacts: {len(report.artifacts)} ({formats or 'none'})")
        for run in report.runs:
            console.print(
                f"engine {run.engine}: {run.status.value}, analysed {run.analysed}, "
                f"{len(run.findings)} finding(s), {len(run.skips)} skip(s), {run.duration_s:.2f}s"
            )
        _provenance(console, report)
        _dependencies(console, report)
        _references(console, report)
        print_audit(console, report)
        # NOTE: an info finding of discover repeats a row of the references table above.
        findings = [
            f for f in report.findings if f.engine != "discover" or f.severity > Severity.INFO
        ]
        if findings:
            table = Table(title="Findings", show_lines=False, expand=True)
            table.add_column("severity", no_wrap=True)
            table.add_column("rule", no_wrap=True)
            table.add_column("where", overflow="fold", ratio=2)
            table.add_column("what", overflow="fold", ratio=3)
            for f in findings:
                where = ""
                if f.evidence:
                    loc = f.evidence[0].location
                    where = loc.artifact
                    if loc.pointer:
                        where += f" [{loc.pointer}]"
                    elif loc.line:
                        where += f":{loc.line}"
                what = f.message
                if f.evidence and f.evidence[0].excerpt:
                    what += f"\n{f.evidence[0].excerpt}"
                table.add_row(
                    Text(f.severity.value, style=_STYLE[f.severity]), f.rule_id, where, what
                )
            console.print(table)
        skips = report.skips
        if skips:
            table = Table(title="Not analysed", expand=True)
            table.add_column("artifact", overflow="fold", ratio=2)
            table.add_column("reason", no_wrap=True)
            table.add_column("detail", overflow="fold", ratio=2)
            for s in skips:
                table.add_row(s.artifact, s.reason, s.detail)
            console.print(table)
        if verdict is not None:
            _verdict(console, verdict)
        console.print(_summary(report, verdict))
        return buf.getvalue().encode("utf-8")


def _summary(report: Report, verdict: Verdict | None) -> Text:
    worst = report.max_severity()
    counts: dict[Severity, int] = {}
    for f in report.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    parts = [f"{counts[s]} {s.value}" for s in reversed(Severity) if s in counts]
    unverified = any(r.status in (EngineStatus.PARTIAL, EngineStatus.ERROR) for r in report.runs)
    if worst is not None and worst >= Severity.MEDIUM:
        text = Text(f"RESULT: findings ({', '.join(parts)})", style=_STYLE[worst])
    elif unverified:
        text = Text("RESULT: not fully verified (see skips and errors)", style="yellow")
    else:
        suffix = f" ({', '.join(parts)})" if parts else ""
        text = Text(f"RESULT: clean{suffix}", style="bold green")
    if unverified and worst is not None and worst >= Severity.MEDIUM:
        text.append("; some artifacts could not be verified", style="yellow")
    if verdict is not None:
        text.append(f"  verdict: {verdict.decision.value}", style="bold")
    return text


_IDENTITY_KEYS = (
    ("identity.family_name", "family"),
    ("identity.release", "release"),
    ("identity.level", "confidence"),
    ("origin.publisher_name", "publisher"),
    ("origin.country", "country"),
    ("origin.ultimate_parent_country", "ultimate parent"),
    ("origin.chain_countries", "countries in lineage"),
)


def _provenance(console: Console, report: Report) -> None:
    facts = {f.key: f.value for f in report.facts}
    lineage = [c for run in report.runs for c in run.lineage]
    if not lineage and not any(k in facts for k, _ in _IDENTITY_KEYS):
        return
    table = Table(title="Provenance", show_header=False, expand=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for key, label in _IDENTITY_KEYS:
        if key in facts:
            value = facts[key]
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            table.add_row(label, text)
    for claim in lineage:
        where = ", ".join(x for x in (claim.publisher, claim.country) if x)
        stats = ""
        if claim.score is not None:
            stats += f"; score {claim.score:.3f}"
        if claim.p_value is not None:
            stats += f"; p {claim.p_value:.2g}"
        table.add_row(
            "lineage",
            f"{claim.subject} → {claim.base} ({claim.relation.value}; {claim.level.value}"
            f"{stats}{'; ' + where if where else ''})",
        )
    console.print(table)


_DEPENDENCY_KEYS = (
    ("dependency.trust_remote_code", "needs repository code (trust_remote_code)"),
    ("dependency.architecture", "architecture"),
    ("dependency.native_support.transformers", "transformers"),
    ("dependency.native_support.vllm", "vLLM"),
    ("dependency.native_support.llama_cpp", "llama.cpp"),
    ("dependency.license.redistribution", "licence: redistribution"),
    ("dependency.license.internal_mirroring", "licence: internal mirror"),
    ("dependency.license.remote_restriction", "licence: remote restriction"),
    ("dependency.license.termination", "licence: termination"),
    ("dependency.release.created", "released"),
    ("dependency.release.days_since_update", "days since last update"),
    ("dependency.ecosystem.base", "derived repos counted for"),
    ("dependency.ecosystem.quantizations", "quantizations listed"),
    ("dependency.ecosystem.derivatives", "derived repos listed"),
    ("dependency.ecosystem.publishers", "other publishers listed"),
)


def _dependencies(console: Console, report: Report) -> None:
    facts = {f.key: f.value for f in report.facts if f.key.startswith("dependency.")}
    rows = [(label, facts[key]) for key, label in _DEPENDENCY_KEYS if key in facts]
    if not rows:
        return
    if facts.get("dependency.ecosystem.complete") is False:
        # NOTE: a listing cut at its limit gives lower bounds: say so rather than a count.
        rows = [(k, f"{v}+" if isinstance(v, int) and "listed" in k else v) for k, v in rows]
    table = Table(title="Dependency risk", show_header=False, expand=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for label, value in rows:
        text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
        table.add_row(label, text or "none")
    console.print(table)


def _references(console: Console, report: Report) -> None:
    refs = [f.value for f in report.facts if f.key == "discover.reference"]
    if not refs:
        return
    table = Table(title=f"Model references ({len(refs)})", expand=True)
    table.add_column("where", overflow="fold", ratio=2)
    table.add_column("kind", no_wrap=True)
    table.add_column("model / endpoint", overflow="fold", ratio=3)
    table.add_column("publisher", overflow="fold", ratio=1)
    table.add_column("country", no_wrap=True)
    table.add_column("host country", no_wrap=True)
    for r in refs:
        where = str(r.get("file", ""))
        if r.get("cell") is not None:
            where += f" [cell {r['cell']}]"
        if r.get("line"):
            where += f":{r['line']}"
        what = " @ ".join(str(x) for x in (r.get("model"), r.get("endpoint")) if x)
        publisher = r.get("publisher") or "unknown"
        if not r.get("publisher") and r.get("unresolved"):
            publisher += f" ({r['unresolved']})"
        local = r.get("kind") in ("hf-model", "ollama", "gguf-file", "model-file") and not r.get(
            "endpoint"
        )
        host = r.get("host_country") or ("local" if local and not r.get("host_operator") else "?")
        table.add_row(
            where, str(r.get("kind", "")), what, publisher, r.get("publisher_country") or "?", host
        )
    console.print(table)


def _verdict(console: Console, verdict: Verdict) -> None:
    style = {"allow": "bold green", "warn": "bold yellow", "deny": "bold white on red"}
    title = Text(f"Verdict: {verdict.decision.value.upper()}", style=style[verdict.decision.value])
    title.append(f"  (policy {verdict.policy})", style="")
    console.print(title)
    for reason in verdict.reasons:
        console.print(Text(f"  - {reason}"))
