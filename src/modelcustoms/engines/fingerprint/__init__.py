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

import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from modelcustoms.artifacts.blob import Blob, Opener
from modelcustoms.core import (
    Artifact,
    ConfidenceLevel,
    EngineRun,
    EngineStatus,
    Evidence,
    Fact,
    Format,
    LineageClaim,
    Location,
    Relation,
    Skip,
)
from modelcustoms.errors import CustomsError, InputError
from modelcustoms.version import __version__

if TYPE_CHECKING:
    from modelcustoms.engines.fingerprint.library import Entry, Library
    from modelcustoms.engines.fingerprint.match import MatchResult
    from modelcustoms.kb.schema import Publisher

ENGINE = "fingerprint"
METHOD = "probe-gram-correlation"

__all__ = [
    "ENGINE",
    "FilesResult",
    "FingerprintEngine",
    "FingerprintLibraryError",
    "FingerprintUnavailable",
    "Subject",
    "load_library",
    "require_numpy",
]

WEIGHT_SUFFIXES = (".gguf", ".safetensors")
TOKENIZER_LIMIT = 32 * 1024**2
"""Largest tokenizer.json read to align a safetensors model's tokens by string."""


class FingerprintUnavailable(CustomsError):
    """numpy, which the fingerprint engine needs, is not installed."""


class FingerprintLibraryError(InputError):
    """A reference library file is missing, malformed or of an unknown version."""


def require_numpy() -> None:
    """Import numpy, or raise :class:`FingerprintUnavailable`."""
    # NOTE: every product here is at most a few hundred rows wide, where threaded OpenBLAS
    # only spin-waits: on a loaded 2-core machine matching the 0.5B model against the library
    # took 39 s with the default threads and 7.7 s with one. Only takes effect if numpy was
    # not imported yet (the CLI), and never overrides a value the user set.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
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


@dataclass(frozen=True, slots=True)
class FilesResult:
    """The run over a subject's files and the weight files it read."""

    run: EngineRun
    artifacts: tuple[Artifact, ...]


def load_library(paths: Sequence[Path] = ()) -> Library:
    """The given reference libraries merged in order, or the one shipped with the tool.

    Raises :class:`FingerprintUnavailable` without numpy, and
    :class:`FingerprintLibraryError` for a missing or bad file.
    """
    require_numpy()
    from modelcustoms.engines.fingerprint.library import SHIPPED, Library, LibraryError

    lib = Library()
    for p in paths or (SHIPPED,):
        try:
            for e in Library.load(p).entries:
                lib.add(e)
        except LibraryError as exc:
            raise FingerprintLibraryError(str(exc)) from exc
    return lib


class FingerprintEngine:
    """Build reference fingerprints and test models against them."""

    name = ENGINE

    def build(self, subject: Subject, name: str, *, vocab: list[str] | None = None) -> Entry:
        """The reference entry of one model file (raises ExtractError when unreadable).

        ``vocab`` gives token strings by id for files that carry none (safetensors).
        """
        require_numpy()
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
        require_numpy()
        from modelcustoms.engines.fingerprint.extract import ExtractError, open_model
        from modelcustoms.engines.fingerprint.match import VocabularyDisjoint, compare

        start = time.monotonic()
        facts: list[Fact] = []
        skips: list[Skip] = []
        claims: list[LineageClaim] = []
        try:
            view = open_model(subject.blob, vocab)
        except ExtractError as exc:
            skip = Skip(artifact=subject.path, reason="unreadable", detail=str(exc))
            return self._done(start, EngineStatus.ERROR, (), (skip,), (), 0)
        if "token_embd" not in view.tensors:
            # An adapter, a head, a vision tower: nothing a reference can be compared with.
            why = "no token embedding tensor (an adapter or a part of a model?)"
            skip = Skip(artifact=subject.path, reason="no-embedding", detail=why)
            return self._done(start, EngineStatus.PARTIAL, (), (skip,), (), 0)
        for entry in library.entries:
            try:
                result = compare(entry.signature, view)
            except VocabularyDisjoint as exc:
                value = {"reference": entry.name, "shared_probes": exc.shared, "detail": str(exc)}
                facts.append(
                    Fact(key="fingerprint.vocabulary-disjoint", value=value, engine=ENGINE)
                )
                continue
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
        status = EngineStatus.PARTIAL if skips else EngineStatus.OK
        return self._done(start, status, tuple(facts), tuple(skips), tuple(claims), 1)

    def run_files(
        self,
        openers: Sequence[Opener],
        library: Library,
        *,
        digests: Mapping[str, str],
        hash_missing: bool,
        vocab: list[str] | None = None,
        any_name: bool = False,
    ) -> FilesResult:
        """Test every GGUF and safetensors file of a subject (folder or repo) against ``library``.

        ``digests`` gives the sha256 already known per path (scan results, a hub's LFS
        listing); a file without one is hashed when ``hash_missing`` (local files), else
        skipped: evidence must name the exact bytes, and hashing a remote file means
        downloading it. ``vocab``, else a ``tokenizer.json`` beside a safetensors file, gives
        its token strings. ``any_name``: every file is tried, whatever its name (a file the
        user named explicitly: its content decides); otherwise only ``*.gguf``/``*.safetensors``.
        """
        require_numpy()
        start = time.monotonic()
        weights, skips = (list(openers), []) if any_name else _single_files(openers)
        runs: list[EngineRun] = []
        artifacts: list[Artifact] = []
        for o in weights:
            try:
                with o.open() as blob:
                    sha = digests.get(o.path) or (blob.sha256() if hash_missing else None)
                    if sha is None:
                        skips.append(Skip(artifact=o.path, reason="no-digest", detail=_NO_DIGEST))
                        continue
                    tokens = vocab
                    if tokens is None and o.path.lower().endswith(".safetensors"):
                        tokens = _vocab_beside(openers, o.path)
                    run = self.run(Subject(blob, o.path, sha), library, vocab=tokens)
                    runs.append(run)
                    if not run.analysed:
                        continue
                    fmt = Format.GGUF if blob.head(4) == b"GGUF" else Format.SAFETENSORS
                    suffix = PurePosixPath(o.path).suffix.lstrip(".") or None
                    artifacts.append(
                        Artifact(
                            path=o.path, size=blob.size, sha256=sha, format=fmt, format_hint=suffix
                        )
                    )
            except OSError as exc:  # an unreadable file, a remote error or transfer limit
                skips.append(Skip(artifact=o.path, reason="unreadable", detail=str(exc)))
        return FilesResult(_merge(start, runs, skips), tuple(artifacts))

    @staticmethod
    def _evidence(subject: Subject, result: MatchResult) -> tuple[Evidence, ...]:
        return tuple(
            Evidence(
                location=Location(
                    artifact=subject.path, sha256=subject.sha256, pointer=f"tensor {c.name}"
                ),
                excerpt=(
                    f"Gram correlation {c.correlation:.3f} over {result.shared_probes} probes "
                    f"aligned by {result.aligned_by}"
                ),
            )
            for c in result.components
        )

    def _claim(self, subject: Subject, entry: Entry, result: MatchResult) -> LineageClaim:
        # NOTE: only a derived claim names the base's publisher and country: an independent
        # one must not add a country to anything that collects countries from lineage.
        pub = _publisher(entry.name) if result.derived else None
        return LineageClaim(
            subject=subject.path,
            base=entry.name,
            publisher=pub.id if pub else None,
            country=pub.hq_country if pub else None,
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
                "aligned_by": result.aligned_by,
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


_NO_DIGEST = "the source publishes no sha256 for this remote file (hashing it means downloading it)"


_SHARD = re.compile(r"-\d{5}-of-\d{5}\.(?:gguf|safetensors)$", re.IGNORECASE)


def _publisher(name: str) -> Publisher | None:
    """The knowledge base's publisher of a reference named like a hub repo (``org/name``)."""
    if "/" not in name:
        return None
    from modelcustoms.kb.load import default_kb

    return default_kb().publisher_of_namespace(name.split("/", 1)[0])


def _single_files(openers: Sequence[Opener]) -> tuple[list[Opener], list[Skip]]:
    """The weight files that hold a whole model each, and a skip per sharded model.

    A model split over several files has its embedding in one and its blocks spread over the
    others; fingerprinting one shard alone would pair the wrong layers, so shards are left
    out (one skip per folder) rather than half-read.
    """
    weights = [o for o in openers if o.path.lower().endswith(WEIGHT_SUFFIXES)]
    by_folder: dict[PurePosixPath, list[Opener]] = {}
    for o in weights:
        if _SHARD.search(o.path) or o.path.lower().endswith(".safetensors"):
            by_folder.setdefault(PurePosixPath(o.path).parent, []).append(o)
    sharded = {
        folder: group
        for folder, group in by_folder.items()
        if len(group) > 1 or any(_SHARD.search(o.path) for o in group)
    }
    skips = [
        Skip(
            artifact=group[0].path,
            reason="sharded",
            detail=f"{len(group)} files hold one model; sharded models are not fingerprinted yet",
        )
        for group in sharded.values()
    ]
    left_out = {id(o) for group in sharded.values() for o in group}
    return [o for o in weights if id(o) not in left_out], skips


def _vocab_beside(openers: Sequence[Opener], path: str) -> list[str] | None:
    """Token strings from the tokenizer.json in the same folder as ``path``, if any."""
    from modelcustoms.engines.fingerprint.extract import vocab_from_tokenizer_json

    folder = PurePosixPath(path).parent
    for o in openers:
        p = PurePosixPath(o.path)
        if p.name == "tokenizer.json" and p.parent == folder:
            with o.open() as blob:
                if blob.size > TOKENIZER_LIMIT:
                    return None
                return vocab_from_tokenizer_json(blob.read(0, blob.size))
    return None


def _merge(start: float, runs: list[EngineRun], skips: list[Skip]) -> EngineRun:
    """One run for a subject of several weight files."""
    statuses = {r.status for r in runs}
    # NOTE: a sharded model is a known limit of the method, not a file that failed to read:
    # it is listed as a skip but does not make the run (and the report) "not fully verified".
    failed = [s for s in skips if s.reason != "sharded"]
    if not runs:
        status = EngineStatus.PARTIAL if failed else EngineStatus.NOT_RUN
    elif statuses == {EngineStatus.OK} and not failed:
        status = EngineStatus.OK
    elif EngineStatus.OK in statuses or EngineStatus.PARTIAL in statuses:
        status = EngineStatus.PARTIAL
    else:
        status = EngineStatus.ERROR
    return EngineRun(
        engine=ENGINE,
        version=__version__,
        status=status,
        facts=tuple(f for r in runs for f in r.facts),
        skips=tuple(skips) + tuple(s for r in runs for s in r.skips),
        lineage=tuple(c for r in runs for c in r.lineage),
        analysed=sum(r.analysed for r in runs),
        duration_s=time.monotonic() - start,
    )
