"""The modelcustoms error tree.

Library code raises these; only ``cli.main`` turns them into exit codes.

::

    CustomsError
    ├── UsageError            bad arguments or options (exit 2)
    ├── InputError            a subject that cannot be read at all (exit 2)
    │   └── SourceError       a source could not resolve or open a subject
    ├── ReportError           a report document that is invalid or has an unknown schema
    └── EngineError           an engine failed as a whole (per-artifact failures are findings)

Each error carries ``diagnostics()``: a human explanation with what to do next.
This module imports nothing from modelcustoms.
"""

from __future__ import annotations


class CustomsError(Exception):
    """Base of every error modelcustoms raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def diagnostics(self) -> str:
        """Explain the error to a person: what went wrong and, where known, what to do."""
        text = self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(CustomsError):
    """The command line or the options asked for something impossible."""


class InputError(CustomsError):
    """A subject could not be read at all (missing path, permission, unreachable)."""


class SourceError(InputError):
    """A source failed to resolve or open a subject."""


class ReportError(CustomsError):
    """A report document is invalid or has an unsupported schema version."""


class EngineError(CustomsError):
    """An engine failed as a whole rather than on one artifact."""
