"""The errors of passports: bad input (exit 2) and a failed verification (exit 1)."""

from __future__ import annotations

from modelcustoms.errors import CustomsError


class PassportError(CustomsError):
    """A key, report or passport could not be read or used (a usage or input error)."""


class VerificationFailed(CustomsError):
    """The passport does not vouch for these bytes; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("passport verification failed: " + "; ".join(self.problems))

    def diagnostics(self) -> str:
        """Every reason on its own line."""
        return "passport verification failed:\n" + "\n".join(f"  - {p}" for p in self.problems)
