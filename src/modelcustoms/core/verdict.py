"""A verdict is what policy decided about a report."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Decision(StrEnum):
    """The outcome of a policy gate."""

    ALLOW = "allow"
    WARN = "warn"
    DENY = "deny"


class Verdict(BaseModel):
    """Policy's decision, bound to the digest of the report it judged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Decision
    fired_rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    report_digest: str
    policy: str
    """Name of the policy or gate that produced the verdict."""
