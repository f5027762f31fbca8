"""Where the gateway learns which models hold a valid passport, and where each comes from.

A :class:`PassportSource` answers two questions: is there a verified, not-denied passport
for the weights with this sha256, and for this hosted model at this operator? The answer, an
:class:`Approval`, carries what the data rules need: the origin countries read from the
passported report. Sources are asked at start-up and at every reload, never per request,
so a request costs one dictionary lookup.

Two sources: :class:`FolderPassportSource` (DSSE envelopes and their reports in a folder,
verified with the given public keys) and ``RegistrySource`` in :mod:`.registry_source`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from modelcustoms.core import ReportDocument
from modelcustoms.core.load import load_report
from modelcustoms.errors import ReportError
from modelcustoms.gateway.errors import GatewayError
from modelcustoms.passport import Passport, PassportError, PublicKey, load_public_key
from modelcustoms.passport.errors import VerificationFailed
from modelcustoms.passport.verify import read_envelope, verify_signature

MAX_FILE_BYTES = 64 * 1024 * 1024
_ORIGIN_KEYS = ("origin.country", "origin.ultimate_parent_country", "origin.incorporation_country")


@dataclass(frozen=True, slots=True)
class Approval:
    """A verified passport that admits a model, and the model's origin."""

    subject: str
    """What matched: ``sha256:<hex>`` of the weights, or ``hosted:<operator>/<model>``."""
    passport_digest: str
    """sha256 of the passport envelope (from a folder or the registry)."""
    report_digest: str
    decision: str
    origin_countries: frozenset[str] = field(default_factory=frozenset)
    """Publisher, parent and lineage countries; empty when the report says nothing."""
    origin_known: bool = False
    """False when no report with origin facts came with the passport: rules that deny an
    origin country then refuse tagged data (unknown origin is not a clean origin)."""
    publisher: str | None = None


class PassportSource(Protocol):
    """Looks up verified passports. Implementations load eagerly and answer from memory."""

    def by_weights(self, sha256: str) -> Approval | None:
        """The approval of the weights with this sha256, if a valid passport binds them."""
        ...

    def by_hosted(self, model: str, operator: str) -> Approval | None:
        """The approval of a hosted model at an operator (a kb provider id), if any."""
        ...

    def problems(self) -> Sequence[str]:
        """Passports that were present but refused, one line each (for logs and status)."""
        ...


def origin_of(doc: ReportDocument) -> tuple[frozenset[str], bool, str | None]:
    """Origin countries, whether the report states an origin, and the publisher id."""
    countries: set[str] = set()
    known = False
    publisher: str | None = None
    for fact in doc.facts:
        if fact.key in _ORIGIN_KEYS and isinstance(fact.value, str) and fact.value:
            countries.add(fact.value.upper())
            known = True
        elif fact.key == "origin.chain_countries" and isinstance(fact.value, list):
            countries.update(str(c).upper() for c in fact.value if c)
            known = known or bool(fact.value)
        elif fact.key == "origin.publisher" and isinstance(fact.value, str):
            publisher = fact.value
    return frozenset(countries), known, publisher


class FolderPassportSource:
    """Passport envelopes (``*.json`` DSSE) and report documents (``*.json``) in one folder.

    A passport counts when its signature verifies with one of ``public_keys``, its verdict is
    not ``deny``, and (for origin) the report it names, found by digest in the same folder,
    loads unedited.
    """

    def __init__(self, folder: Path, public_keys: Iterable[PublicKey]) -> None:
        self.folder = folder
        self._keys = tuple(public_keys)
        self._weights: dict[str, Approval] = {}
        self._problems: list[str] = []
        self._load()

    @classmethod
    def from_paths(cls, folder: Path, key_paths: Iterable[Path]) -> FolderPassportSource:
        """Read the public keys, then the folder."""
        keys = []
        for path in key_paths:
            try:
                keys.append(load_public_key(path.read_bytes()))
            except OSError as exc:
                msg = f"cannot read the public key {path}: {exc.strerror or exc}"
                raise GatewayError(msg) from exc
            except PassportError as exc:
                msg = f"{path}: {exc.message}"
                raise GatewayError(msg) from exc
        return cls(folder, keys)

    def by_weights(self, sha256: str) -> Approval | None:
        return self._weights.get(sha256)

    def by_hosted(self, model: str, operator: str) -> Approval | None:
        # NOTE: a passport binds file digests; a hosted model has none. Hosted approvals come
        # from the registry, which records them by model id and operator.
        return None

    def problems(self) -> Sequence[str]:
        return tuple(self._problems)

    def _load(self) -> None:
        if not self.folder.is_dir():
            msg = f"the passport folder {self.folder} does not exist"
            raise GatewayError(msg)
        envelopes: list[tuple[Path, bytes]] = []
        reports: dict[str, ReportDocument] = {}
        for path in sorted(self.folder.glob("*.json")):
            data = _read(path)
            if data is None:
                self._problems.append(f"{path.name}: unreadable or larger than 64 MiB")
                continue
            kind = _kind(data)
            if kind == "envelope":
                envelopes.append((path, data))
            elif kind == "report":
                try:
                    doc = load_report(data)
                except ReportError as exc:
                    self._problems.append(f"{path.name}: {exc.message}")
                    continue
                reports[doc.report_digest] = doc
        for path, data in envelopes:
            passport = self._verify(path, data)
            if passport is None:
                continue
            decision = str(passport.verdict.get("decision"))
            if decision == "deny":
                self._problems.append(f"{path.name}: the passport's verdict is deny")
                continue
            report = reports.get(passport.report_digest)
            countries, known, publisher = (
                origin_of(report) if report else (frozenset(), False, None)
            )
            digest = hashlib.sha256(data).hexdigest()
            for file_digest in passport.files.values():
                self._weights[file_digest] = Approval(
                    subject=f"sha256:{file_digest}",
                    passport_digest=digest,
                    report_digest=passport.report_digest,
                    decision=decision,
                    origin_countries=countries,
                    origin_known=known,
                    publisher=publisher,
                )

    def _verify(self, path: Path, data: bytes) -> Passport | None:
        try:
            env = read_envelope(data)
        except PassportError as exc:
            self._problems.append(f"{path.name}: {exc.message}")
            return None
        reasons: list[str] = []
        for key in self._keys:
            try:
                return verify_signature(env, key)
            except VerificationFailed as exc:
                reasons.extend(exc.problems)
        self._problems.append(f"{path.name}: {'; '.join(reasons) or 'no public key given'}")
        return None


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _kind(data: bytes) -> str:
    try:
        obj = json.loads(data)
    except ValueError:
        return "other"
    if isinstance(obj, dict) and "payloadType" in obj:
        return "envelope"
    if isinstance(obj, dict) and "report_digest" in obj:
        return "report"
    return "other"
