"""A raw hit: what a scanner saw on one line, before publisher and host are looked up."""

from __future__ import annotations

from typing import NamedTuple

from modelcustoms.engines.discover.kbview import ProviderRow
from modelcustoms.engines.discover.kinds import ReferenceKind, Via


class Hit(NamedTuple):
    """One reference as found in a file (line is 1-based, relative to the cell in notebooks)."""

    kind: ReferenceKind
    line: int
    via: Via
    confidence: float
    model: str | None = None
    endpoint: str | None = None
    provider: ProviderRow | None = None
    """The provider the syntax names (a class, a host, a router prefix), when it names one."""
    cell: int | None = None

    def key(self) -> tuple[int | None, int, str]:
        """What makes two hits the same reference (one per value per line)."""
        return (self.cell, self.line, (self.model or self.endpoint or "").lower())
