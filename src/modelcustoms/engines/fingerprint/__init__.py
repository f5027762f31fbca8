"""Fingerprint engine: weight-level lineage from the weights themselves.

``build`` turns a GGUF or safetensors file into a compact reference :class:`Entry` (probe
token strings and int8 Gram matrices, see :mod:`.signature`); ``run`` tests a model against
every entry of a :class:`Library` and returns an :class:`EngineRun` with one
:class:`LineageClaim` (level ``weights``, score, p-value, evidence naming the tensors) per
reference, plus facts. Only the tensors needed are read, by offset, through a Blob.

numpy is an optional dependency (``pip install modelcustoms[fingerprint]``); it is imported
only when the engine runs, and its absence is a :class:`FingerprintUnavailable`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelcustoms.artifacts.blob import Blob
from modelcustoms.core import (
    ConfidenceLevel,
    EngineRun,
    EngineStatus,
    Evidence,
    Fact,
    LineageClaim,
    Location,
    Relation,
    Skip,
)
from modelcustoms.errors import CustomsError
from modelcustoms.version import __version__

if TYPE_CHECKING:
    from modelcustoms.engines.fingerprint.library import Entry, Library
    from modelcustoms.engines.fingerprint.match import MatchResult

ENGINE = "fingerprint"
METHOD = "probe-gram-correlation"

__all__ = ["ENGINE", "FingerprintEngine", "FingerprintUnavailable", "Subject"]


class FingerprintUnavailable(CustomsError):
    """numpy, which the fingerprint engine needs, is not installed."""


def _require_numpy() -> None:
    try:
        import numpy  # noqa: F401
    except ImportError:
        msg = (
            "the fingerprint engine needs numpy: "
            "pip install 'modelcustoms[fingerprint]' (or pip install numpy)"
        )
        raise FingerprintUnavailable(msg) from None


@dataclass(frozen=True, slots=True)
class Subject:
    """The model file under test: its bytes, its report path and its digest."""

    blob: Blob
    path: str
    sha256: str


class FingerprintEngine:
    """Build reference fingerprints and test models against them."""

    name = ENGINE

    def build(self, subject: Subject, name: str, *, vocab: list[str] | None = None) -> Entry:
        """The reference entry of one model file (raises ExtractError when unreadable).

        ``vocab`` gives token strings by id for files that carry none (safetensors).
        """
        _require_numpy()
        from modelcustoms.engines.fingerprint.extract import open_model
        from modelcustoms.engines.fingerprint.library import Entry
        from modelcustoms.engines.fingerprint.signature import build_signature

        view = open_model(subject.blob, vocab)
        sig = build_signature(view)
        return Entry(name, sig, subject.path, subject.sha256, view.bytes_read)

    def run(
        self, subject: Subject, library: Library, *, vocab: list[str] | None = None
    ) -> EngineRun:
        """Test one model file against every reference of ``library``."""
        _require_numpy()
        from modelcustoms.engines.fingerprint.extract import ExtractError, open_model
        from modelcustoms.engines.fingerprint.match import compare

        start = time.monotonic()
        facts: list[Fact] = []
        skips: list[Skip] = []
        claims: list[LineageClaim] = []
        try:
            view = open_model(subject.blob, vocab)
        except ExtractError as exc:
            skip = Skip(artifact=subject.path, reason="unreadable", detail=str(exc))
            return self._done(start, EngineStatus.ERROR, (), (skip,), (), 0)
        for entry in library.entries:
            try:
                result = compare(entry.signature, view)
            except ExtractError as exc:
                skips.append(
                    Skip(
                        artifact=subject.path,
                        reason="not-comparable",
                        detail=f"{entry.name}: {exc}",
                    )
                )
                continue
            claims.append(self._claim(subject, entry, result))
            facts.append(self._fact(subject, entry, result))
        facts.append(
            Fact(
                key="fingerprint.bytes_read",
                value={"bytes": view.bytes_read, "file_size": subject.blob.size},
                engine=ENGINE,
            )
        )
        best = max(claims, key=lambda c: c.score or 0.0, default=None)
        if best is not None and best.relation is not Relation.INDEPENDENT:
            facts.append(
                Fact(key="fingerprint.base", value=best.base, engine=ENGINE, evidence=best.evidence)
            )
        status = EngineStatus.PARTIAL if skips or not claims else EngineStatus.OK
        return self._done(start, status, tuple(facts), tuple(skips), tuple(claims), 1)

    @staticmethod
    def _evidence(subject: Subject, result: MatchResult) -> tuple[Evidence, ...]:
        return tuple(
            Evidence(
                location=Location(
                    artifact=subject.path, sha256=subject.sha256, pointer=f"tensor {c.name}"
                ),
                excerpt=f"Gram correlation {c.correlation:.3f} over {result.shared_probes} probes",
            )
            for c in result.components
        )

    def _claim(self, subject: Subject, entry: Entry, result: MatchResult) -> LineageClaim:
        return LineageClaim(
            subject=subject.path,
            base=entry.name,
            relation=Relation.DERIVED if result.derived else Relation.INDEPENDENT,
            level=ConfidenceLevel.WEIGHTS,
            method=METHOD,
            score=min(1.0, max(0.0, result.score)),
            p_value=result.p_value,
            evidence=self._evidence(subject, result),
        )

    @staticmethod
    def _fact(subject: Subject, entry: Entry, result: MatchResult) -> Fact:
        return Fact(
            key="fingerprint.match",
            value={
                "reference": entry.name,
                "derived": result.derived,
                "score": round(result.score, 4),
                "p_value": result.p_value,
                "p_random_null": result.p_random,
                "null_mean": round(result.null_mean, 4),
                "null_sd": round(result.null_sd, 4),
                "shared_probes": result.shared_probes,
                "components": {c.name: round(c.correlation, 4) for c in result.components},
            },
            engine=ENGINE,
            confidence=min(1.0, max(0.0, result.score)),
        )

    @staticmethod
    def _done(
        start: float,
        status: EngineStatus,
        facts: tuple[Fact, ...],
        skips: tuple[Skip, ...],
        claims: tuple[LineageClaim, ...],
        analysed: int,
    ) -> EngineRun:
        return EngineRun(
            engine=ENGINE,
            version=__version__,
            status=status,
            facts=facts,
            skips=skips,
            lineage=claims,
            analysed=analysed,
            duration_s=time.monotonic() - start,
        )
