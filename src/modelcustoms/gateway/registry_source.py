"""Passports from the registry (SQLite or the shared PostgreSQL): the team deployment.

The registry re-verifies each stored passport against the keys given here on every lookup,
so removing a key withdraws its passports at the next refresh. Lookups run at start-up and
at each reload (and every ``passports.refresh_s`` seconds), never per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from modelcustoms.errors import CustomsError
from modelcustoms.gateway.errors import GatewayError
from modelcustoms.gateway.passports import Approval
from modelcustoms.passport import PassportError, PublicKey, load_public_key
from modelcustoms.registry.schemas import PassportMatch
from modelcustoms.registry.store import RegistryStore


def approval_of(match: PassportMatch | None, subject: str) -> Approval | None:
    """A registry match as an approval; a deny verdict approves nothing."""
    if match is None or match.decision == "deny":
        return None
    countries = {c.upper() for c in match.chain_countries}
    if match.country:
        countries.add(match.country.upper())
    return Approval(
        subject=subject,
        # NOTE: the registry does not hand out the envelope's digest; its report id and the
        # signing key id name the passport unambiguously within that registry.
        passport_digest=match.passport_sha256,
        report_digest=match.report_digest,
        decision=match.decision,
        origin_countries=frozenset(countries),
        origin_known=bool(countries),
        publisher=match.publisher,
    )


class RegistrySource:
    """Looks passports up in a registry database with the trusted public keys."""

    def __init__(self, store: RegistryStore, keys: Sequence[PublicKey]) -> None:
        self.store = store
        self.keys = tuple(keys)
        self._problems: list[str] = []

    @classmethod
    def from_config(cls, url: str, key_paths: Iterable[Path]) -> RegistrySource:
        """Open the registry (no migration: the registry owns its schema)."""
        keys: list[PublicKey] = []
        for path in key_paths:
            try:
                keys.append(load_public_key(path.read_bytes()))
            except (OSError, PassportError) as exc:
                msg = f"cannot use the public key {path}: {exc}"
                raise GatewayError(msg) from exc
        if not keys:
            msg = "passports.registry needs public_keys: the keys whose passports you trust"
            raise GatewayError(msg)
        try:
            store = RegistryStore(url, trusted_keys=keys, migrate_schema=False)
        except CustomsError as exc:
            msg = f"cannot open the registry {url}: {exc.message}"
            raise GatewayError(msg) from exc
        return cls(store, keys)

    def by_weights(self, sha256: str) -> Approval | None:
        try:
            match = self.store.passport_for_digest(sha256, self.keys)
        except SQLAlchemyError as exc:
            raise _unreadable(exc) from exc
        return approval_of(match, f"sha256:{sha256}")

    def by_hosted(self, model: str, operator: str) -> Approval | None:
        try:
            match = self.store.passport_for_hosted(operator, model, self.keys)
        except SQLAlchemyError as exc:
            raise _unreadable(exc) from exc
        return approval_of(match, f"hosted:{operator}/{model}")

    def problems(self) -> Sequence[str]:
        return tuple(self._problems)

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()


def _unreadable(exc: SQLAlchemyError) -> GatewayError:
    cause = getattr(exc, "orig", None) or exc
    msg = f"cannot read passports from the registry: {type(exc).__name__}: {cause}"
    return GatewayError(msg, hint="create or migrate it first (customs registry …)")
