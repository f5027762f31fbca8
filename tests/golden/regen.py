"""Golden renderer outputs for the hand-built sample report."""

from __future__ import annotations

from pathlib import Path

from modelcustoms.render import OutputFormat, renderer_for
from tests.factories import sample_report

HERE = Path(__file__).resolve().parent
GOLDEN = {
    OutputFormat.JSON: HERE / "report.json",
    OutputFormat.SARIF: HERE / "report.sarif",
    OutputFormat.TERMINAL: HERE / "report.txt",
    OutputFormat.CYCLONEDX: HERE / "report.cdx.json",
    OutputFormat.HTML: HERE / "report.html",
}


def render(fmt: OutputFormat) -> bytes:
    """The golden rendering of the sample report in ``fmt``."""
    return renderer_for(fmt, width=120).render(sample_report())


def regen_golden() -> None:
    """Rewrite every golden file."""
    for fmt, path in GOLDEN.items():
        path.write_bytes(render(fmt))
