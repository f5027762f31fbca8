"""One problem found in a chat template, shared by the static and behavioural layers."""

from __future__ import annotations

from dataclasses import dataclass

from modelcustoms.core import Severity


@dataclass(frozen=True, slots=True)
class TemplateIssue:
    """One problem found in a chat template."""

    rule_id: str
    message: str
    excerpt: str | None = None
    line: int | None = None
    """1-based line in the template text, when known."""
    severity: Severity | None = None
    """Overrides the rule's default severity when set."""
    confidence: float = 1.0
