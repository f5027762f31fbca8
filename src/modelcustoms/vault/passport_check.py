"""Is the passport valid for exactly these files and this report? (push, pull and verify).

The vault never decides a verdict; it only checks that the passport carried with a model was
signed by the trusted key, binds the same file digests as the artifact's layers, binds the
report carried beside it, and does not say ``deny``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from modelcustoms.passport import PassportError, PublicKey, VerificationFailed
from modelcustoms.passport.verify import Passport, read_envelope, report_problems, verify_signature


class PassportStatus(StrEnum):
    """What the vault found about a model's passport (recorded in the manifest)."""

    VERIFIED = "verified"
    UNSAFE_ABSENT = "unsafe-absent"
    UNSAFE_INVALID = "unsafe-invalid"
    UNSAFE_DENY = "unsafe-deny"


@dataclass(frozen=True, slots=True)
class PassportCheck:
    """The outcome: valid, or the list of reasons it is not."""

    passport: Passport | None
    problems: tuple[str, ...]
    denied: bool = False

    @property
    def ok(self) -> bool:
        """A passport was present and everything checked."""
        return self.passport is not None and not self.problems and not self.denied

    def status(self) -> PassportStatus:
        """The status to record when a push goes ahead."""
        if self.ok:
            return PassportStatus.VERIFIED
        if self.passport is None and not self.problems:
            return PassportStatus.UNSAFE_ABSENT
        if self.denied and not self.problems:
            return PassportStatus.UNSAFE_DENY
        return PassportStatus.UNSAFE_INVALID

    def reasons(self) -> list[str]:
        """Every reason the passport does not admit the model."""
        out = list(self.problems)
        if self.passport is None and not out:
            out.append("no passport")
        if self.denied:
            out.append("the passport's verdict is deny: the model was not approved")
        return out


def check_passport(
    envelope: bytes | None,
    report: bytes | None,
    key: PublicKey | None,
    files: Mapping[str, str],
) -> PassportCheck:
    """Check ``envelope`` against ``files`` (path → sha256 hex) and ``report``."""
    if envelope is None:
        return PassportCheck(None, ())
    if key is None:
        return PassportCheck(None, ("no public key given to check the passport with",))
    try:
        passport = verify_signature(read_envelope(envelope), key)
    except VerificationFailed as exc:
        return PassportCheck(None, tuple(exc.problems) or (exc.message,))
    except PassportError as exc:
        return PassportCheck(None, (exc.message,))
    problems = _file_problems(passport.files, files)
    if report is None:
        problems.append("no report: the passport's report digest cannot be checked")
    else:
        problems += report_problems(passport, report)
    denied = passport.verdict.get("decision") == "deny"
    return PassportCheck(passport, tuple(problems), denied)


def _file_problems(signed: Mapping[str, str], found: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    for name, want in sorted(signed.items()):
        got = found.get(name)
        if got is None:
            problems.append(f"{name}: missing (the passport lists it)")
        elif got != want:
            problems.append(
                f"{name}: content differs from the passport "
                f"(sha256 {got[:16]}…, passport says {want[:16]}…)"
            )
    problems += [
        f"{n}: not in the passport (a file was added)" for n in sorted(found) if n not in signed
    ]
    return problems
