"""Rule metadata: every finding names a rule declared in the catalog of the engine that made it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from modelcustoms.core.severity import Severity


class Rule(BaseModel):
    """Metadata about one kind of finding (feeds SARIF ``tool.driver.rules`` and the docs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(\.[a-z0-9-]+)+$")
    """Stable identifier, ``<area>.<what>``, e.g. ``pickle.dangerous-import``."""
    title: str
    severity: Severity
    """Default severity; a finding may raise or lower it with a reason."""
    help: str
    """What it means and what to do about it."""
    references: tuple[str, ...] = ()
    """Advisories, papers or documentation behind the rule."""

    @property
    def help_uri(self) -> str:
        """Where the rule is documented in the project's docs."""
        return f"docs/rules.md#{self.id.replace('.', '')}"
