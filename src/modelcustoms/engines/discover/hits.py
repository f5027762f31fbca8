"""A raw hit: what a scanner saw on one line, before publisher and host are looked up."""

from __future__ import annotations

from dataclasses import dataclass

from modelcustoms.core.references import ReferenceKind, Via
from modelcustoms.kb import Provider


@dataclass(frozen=True, slots=True)
class Hit:
    """One reference as found in a file (line is 1-based, relative to the cell in notebooks)."""

    kind: ReferenceKind
    line: int
    via: Via
    confidence: float
    model: str | None = None
    endpoint: str | None = None
    provider: Provider | None = None
    """The provider the syntax names (a class, a host, a router prefix), when it names one."""
    cell: int | None = None

    def key(self) -> tuple[int | None, int, str]:
        """What makes two hits the same reference (one per value per line)."""
        return (self.cell, self.line, (self.model or self.endpoint or "").lower())
