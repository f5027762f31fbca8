"""The only orchestrator: a reference → a source → engines → one Report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from modelcustoms.artifacts.blob import Opener
from modelcustoms.core import Artifact, EngineRun, Report, Subject, SubjectKind, ToolInfo
from modelcustoms.engines.scan import ScanEngine, ScanOptions
from modelcustoms.sources.base import Source, info_of
from modelcustoms.sources.resolve import LocalSource, SourceOptions, resolve
from modelcustoms.version import __version__

REMOTE_TOKENIZER_LIMIT = 1024 * 1024
"""A remote tokenizer.json larger than this is not fetched (config signatures still apply)."""


@dataclass(frozen=True, slots=True)
class InspectOptions:
    """What to run and how."""

    scan: ScanOptions = field(default_factory=ScanOptions)
    source: SourceOptions = field(default_factory=SourceOptions)
    run_scan: bool = True
    run_provenance: bool = True
    run_fingerprint: bool = True
    """With provenance: test the weights against the fingerprint library (needs numpy)."""
    fingerprint_libraries: tuple[Path, ...] = ()
    """Reference libraries for that step (empty: the library shipped with the tool)."""
    extra_runs: tuple[EngineRun, ...] = ()
    """Runs made elsewhere that join the report (``inspect --audit``: a saved audit run)."""


def open_source(refs: Sequence[str | Path], options: SourceOptions | None = None) -> Source:
    """The source for one reference, or for several local paths scanned together."""
    if not refs:
        from modelcustoms.errors import UsageError

        msg = "no model or path given"
        raise UsageError(msg)
    if len(refs) == 1:
        return resolve(str(refs[0]), options)
    return LocalSource([Path(r) for r in refs])


def inspect(
    refs: Sequence[str | Path],
    options: InspectOptions | None = None,
    *,
    now: datetime | None = None,
) -> Report:
    """Run the requested engines over a model and return one report."""
    opts = options or InspectOptions()
    source = open_source(refs, opts.source)
    try:
        subject = source.subject()
        openers = source.openers()
        runs: list[EngineRun] = []
        artifacts: tuple[Artifact, ...] = ()
        digests: dict[str, str] = {}
        if opts.run_scan:
            result = ScanEngine(opts.scan).run(openers)
            run = result.run
            if source.skips:
                run = run.model_copy(update={"skips": tuple(source.skips) + run.skips})
            runs.append(run)
            artifacts = result.artifacts
            digests = {a.path: a.sha256 for a in artifacts if a.parent is None}
        if opts.run_provenance:
            from modelcustoms.engines.provenance import ProvenanceEngine
            from modelcustoms.engines.provenance.metadata import TOKENIZER_JSON_LIMIT

            # NOTE: a hub publishes the sha256 of large (LFS) files: evidence can name the
            # weights' digest without downloading them.
            for o in openers:
                info = info_of(o)
                if info is not None and info.sha256 and o.path not in digests:
                    digests[o.path] = info.sha256
            remote = subject.kind is not SubjectKind.PATH and not opts.source.full_download
            engine = ProvenanceEngine(
                tokenizer_json_limit=REMOTE_TOKENIZER_LIMIT if remote else TOKENIZER_JSON_LIMIT
            )
            # NOTE: a Hub repo also gives release dates and its derived repos (dependency facts).
            from modelcustoms.sources.huggingface import HuggingFaceSource

            hub = source if isinstance(source, HuggingFaceSource) else None
            runs.append(
                engine.run(openers, subject=subject.name, digests=digests, hub=hub, now=now)
            )
            if opts.run_fingerprint:
                runs.extend(_fingerprint_step(subject, openers, digests, opts))
        runs.extend(opts.extra_runs)
        return _report(subject, artifacts, tuple(runs), now)
    finally:
        source.close()


def scan_paths(
    paths: Sequence[str | Path], options: ScanOptions | None = None, *, now: datetime | None = None
) -> Report:
    """Scan files, folders or a model reference (scan engine only)."""
    opts = InspectOptions(scan=options or ScanOptions(), run_provenance=False)
    return inspect(paths, opts, now=now)


def inspect_paths(
    paths: Sequence[str | Path],
    options: InspectOptions | None = None,
    *,
    now: datetime | None = None,
) -> Report:
    """Run every engine that applies (scan and provenance)."""
    return inspect(paths, options, now=now)


def discover(path: str | Path, *, now: datetime | None = None) -> Report:
    """Find every model a codebase or disk tree uses (discover engine only)."""
    from modelcustoms.engines.discover import DiscoverEngine
    from modelcustoms.errors import InputError

    root = Path(path)
    if not root.exists():
        msg = f"no such file or folder: {root}"
        raise InputError(msg)
    result = DiscoverEngine().run(root)
    subject = Subject(kind=SubjectKind.PATH, ref=str(path), name=root.resolve().name or str(root))
    return _report(subject, result.artifacts, (result.run,), now)


def audit_report(subject: Subject, run: EngineRun, *, now: datetime | None = None) -> Report:
    """The report of a behaviour audit (``customs audit``): the subject target and its run."""
    return _report(subject, (), (run,), now)


def _fingerprint_step(
    subject: Subject, openers: Sequence[Opener], digests: dict[str, str], opts: InspectOptions
) -> tuple[EngineRun, ...]:
    """Weight-level lineage inside provenance: a run with claims, a skip, or nothing.

    Nothing when the subject has no GGUF/safetensors file or the library is empty; a
    not-run with a skip when numpy (the fingerprint extra) is absent.
    """
    from modelcustoms.core import EngineStatus, Skip
    from modelcustoms.engines.fingerprint import (
        ENGINE,
        WEIGHT_SUFFIXES,
        FingerprintEngine,
        FingerprintLibraryError,
        FingerprintUnavailable,
        load_library,
    )

    if not any(o.path.lower().endswith(WEIGHT_SUFFIXES) for o in openers):
        return ()
    try:
        library = load_library(opts.fingerprint_libraries)
    except (FingerprintUnavailable, FingerprintLibraryError) as exc:
        reason = (
            "fingerprint-unavailable"
            if isinstance(exc, FingerprintUnavailable)
            else "fingerprint-library-unreadable"
        )
        skip = Skip(artifact=subject.name, reason=reason, detail=str(exc))
        run = EngineRun(
            engine=ENGINE, version=__version__, status=EngineStatus.NOT_RUN, skips=(skip,)
        )
        return (run,)
    if not library.entries:
        return ()
    hash_missing = subject.kind is SubjectKind.PATH
    result = FingerprintEngine().run_files(
        openers, library, digests=digests, hash_missing=hash_missing
    )
    return (result.run,)


def fingerprint(
    ref: str | Path,
    libraries: Sequence[Path] = (),
    options: SourceOptions | None = None,
    *,
    vocab: list[str] | None = None,
    now: datetime | None = None,
) -> Report:
    """Test a model (file, folder or repo) against reference libraries (fingerprint only).

    ``vocab`` gives token strings by id for safetensors files with no tokenizer.json beside.
    """
    from modelcustoms.engines.fingerprint import FingerprintEngine, load_library

    library = load_library(libraries)
    source = open_source([ref], options)
    try:
        subject = source.subject()
        openers = source.openers()
        digests = {o.path: i.sha256 for o in openers if (i := info_of(o)) and i.sha256}
        result = FingerprintEngine().run_files(
            openers,
            library,
            digests=digests,
            hash_missing=subject.kind is SubjectKind.PATH,
            vocab=vocab,
            any_name=subject.kind is SubjectKind.PATH and Path(ref).is_file(),
        )
        if not result.run.analysed and not result.run.skips:
            from modelcustoms.errors import InputError

            msg = f"{ref}: no GGUF or safetensors weights to fingerprint"
            raise InputError(msg)
        return _report(subject, result.artifacts, (result.run,), now)
    finally:
        source.close()


def _report(
    subject: Subject,
    artifacts: tuple[Artifact, ...],
    runs: tuple[EngineRun, ...],
    now: datetime | None,
) -> Report:
    return Report(
        tool=ToolInfo(version=__version__),
        created_at=now or datetime.now(UTC),
        subject=subject,
        artifacts=artifacts,
        runs=runs,
    )
