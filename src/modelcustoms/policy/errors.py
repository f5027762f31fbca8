"""Errors of the policy layer: every problem in a policy file, each with its location."""

from __future__ import annotations

from collections.abc import Sequence


class PolicyIssue(ValueError):
    """One problem: ``file: where: message`` (``where`` names the rule id when there is one)."""

    def __init__(self, file: str, where: str, message: str) -> None:
        super().__init__(f"{file}: {where}: {message}")
        self.file = file
        self.where = where
        self.message = message


class PolicyLoadError(ExceptionGroup[PolicyIssue]):
    """Every problem found while loading a policy (and the profiles it extends), at once."""

    def __new__(cls, message: str, issues: Sequence[PolicyIssue]) -> PolicyLoadError:
        """Group ``issues`` under ``message``."""
        return super().__new__(cls, message, issues)

    def derive(self, excs: Sequence[PolicyIssue]) -> PolicyLoadError:  # type: ignore[override]
        """Keep the type when the group is split (``except*``)."""
        return PolicyLoadError(self.message, excs)

    def diagnostics(self) -> str:
        """The message and one line per issue, for a person."""
        lines = [self.message]
        lines += [f"  - {issue}" for issue in self.exceptions]
        return "\n".join(lines)
