"""A fact says that something is true about the subject, with its evidence."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from modelcustoms.core.evidence import Evidence


class Fact(BaseModel):
    """Something observed to be true (a format, an identity, an origin, a licence)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    """Dotted name, e.g. ``scan.format``, ``identity.family``."""
    value: Any
    """A JSON value."""
    engine: str
    evidence: tuple[Evidence, ...] = ()
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
