"""A finding says that something is wrong, with the evidence and a confidence."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from modelcustoms.core.evidence import Evidence
from modelcustoms.core.severity import Severity


class Finding(BaseModel):
    """Something is wrong, or could not be verified, in an artifact."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str
    severity: Severity
    engine: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    """How sure the engine is that this finding is real (1.0: structurally certain)."""
