"""The audit table of the terminal output: one row per measure, each with its interval."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from modelcustoms.core import Report
from modelcustoms.render.audit_digest import audit_digest

_STYLE = {"worse": "bold red", "better": "green", "inconclusive": ""}


def print_audit(console: Console, report: Report) -> None:
    """Print the audit table when the report has an audit run."""
    d = audit_digest(report)
    if d is None:
        return
    table = Table(
        title=f"Behaviour audit: {d['subject']} vs {d['reference']} (negative delta: worse)",
        expand=True,
    )
    for col in ("measure", "subject [CI]", "reference", "delta [95% CI]", "p (Holm)", "MDE", "n"):
        table.add_column(col, overflow="fold")
    for s in d["suites"]:
        for m in s["measures"]:
            name = m["name"] + (" *" if m["headline"] else "")
            table.add_row(
                name,
                f"{m['subject']} {m['subject_ci']}",
                m["reference"],
                f"{m['delta']} {m['delta_ci']} {m['state']}",
                f"{m['p']} ({m['p_holm']})",
                m["mde"],
                m["n"] + (f" ({m['clusters']} clusters!)" if m["few"] else ""),
                style=_STYLE[m["state"]] if m["headline"] else "",
            )
    console.print(table)
    console.print(f"scorer {d['scorer']}; {d['options']}")
    console.print(f"requests: {d['requests']}")
    console.print(
        "* headline measure of the suite; clusters! fewer than 8 topics/templates: the interval "
        "is too narrow to trust (sample more)"
    )
