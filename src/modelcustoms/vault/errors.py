"""The vault's errors: every one is a ``CustomsError`` (one line on the CLI, exit 2)."""

from __future__ import annotations

from modelcustoms.errors import CustomsError, InputError


class VaultError(CustomsError):
    """Base of every vault failure."""


class ReferenceError_(VaultError):  # trailing _: the builtin ReferenceError is unrelated
    """A vault reference (``host/repo:tag`` or a layout path) that cannot be parsed."""


class StoreError(VaultError):
    """The registry or the folder refused, failed or answered nonsense."""


class NotFound(StoreError):
    """A tag, manifest or blob is not in the vault."""


class IntegrityError(VaultError):
    """Bytes do not match their digest, or an artifact is malformed: never trust them."""

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        super().__init__("; ".join(problems) if problems else "integrity check failed", hint=hint)
        self.problems = list(problems)


class PassportRefused(VaultError):
    """A model without a valid passport (or with a deny verdict) was offered to the vault."""

    hint = (
        "sign a passport for an approving report (customs passport sign), or pass "
        "--unsafe-no-passport to store it anyway (the artifact records that it was forced)"
    )


class ModelFolderError(InputError):
    """The model to push cannot be read."""
