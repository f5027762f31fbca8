"""The renderer extension point and the output formats users can choose."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from modelcustoms.core import Report, Verdict


class OutputFormat(StrEnum):
    """Every output format of the command line."""

    TERMINAL = "terminal"
    JSON = "json"
    SARIF = "sarif"
    CYCLONEDX = "cyclonedx"
    HTML = "html"


class Renderer(Protocol):
    """Turns a report (and optionally a verdict) into bytes. Never writes, prints or analyses."""

    media_type: str

    def render(self, report: Report, verdict: Verdict | None = None) -> bytes:
        """The document, as bytes."""
        ...
