"""Exit codes and the enum-valued options of the command line."""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from modelcustoms.core import Severity

EXIT_OK = 0
"""Clean, or nothing at or above ``--fail-on``."""
EXIT_FINDINGS = 1
"""Findings at or above ``--fail-on`` (or a policy deny)."""
EXIT_ERROR = 2
"""Usage or input error: nothing trustworthy was produced."""
EXIT_INTERRUPTED = 130


class FailOn(StrEnum):
    """The lowest severity that makes the command exit 1."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    NEVER = "never"

    def threshold(self) -> Severity | None:
        """The severity threshold, or None for ``never``."""
        if self is FailOn.INFO:
            return Severity.INFO
        if self is FailOn.LOW:
            return Severity.LOW
        if self is FailOn.MEDIUM:
            return Severity.MEDIUM
        if self is FailOn.HIGH:
            return Severity.HIGH
        if self is FailOn.CRITICAL:
            return Severity.CRITICAL
        if self is FailOn.NEVER:
            return None
        assert_never(self)


class Color(StrEnum):
    """When the terminal output uses colour."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"
