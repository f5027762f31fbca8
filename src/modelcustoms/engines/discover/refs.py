"""A resolved reference as plain data (the fields and order of ``core.references.ModelReference``).

The scanners and the resolver build these; the engine turns them into validated
``ModelReference`` objects, the fast JSON path writes them as they are.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from modelcustoms.engines.discover.kinds import ReferenceKind, Via


class Ref(NamedTuple):
    """One reference with publisher, host and lineage (or why they are unknown)."""

    kind: ReferenceKind
    file: str
    confidence: float
    via: Via
    model: str | None = None
    endpoint: str | None = None
    line: int | None = None
    cell: int | None = None
    publisher: str | None = None
    publisher_country: str | None = None
    host_operator: str | None = None
    host_country: str | None = None
    lineage: tuple[str, ...] = ()
    unresolved: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, keys in the order of ``ModelReference`` (its ``model_dump``)."""
        return {
            "kind": self.kind.value,
            "model": self.model,
            "endpoint": self.endpoint,
            "file": self.file,
            "line": self.line,
            "cell": self.cell,
            "publisher": self.publisher,
            "publisher_country": self.publisher_country,
            "host_operator": self.host_operator,
            "host_country": self.host_country,
            "lineage": list(self.lineage),
            "confidence": self.confidence,
            "via": self.via.value,
            "unresolved": self.unresolved,
        }
