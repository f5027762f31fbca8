"""The only orchestrator: a subject → engines → one Report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from modelcustoms.core import Artifact, EngineRun, Report, Subject, ToolInfo
from modelcustoms.engines.scan import ScanEngine, ScanOptions
from modelcustoms.sources.local import local_inputs
from modelcustoms.version import __version__


@dataclass(frozen=True, slots=True)
class InspectOptions:
    """What to run and how."""

    scan: ScanOptions = field(default_factory=ScanOptions)


def scan_paths(
    paths: Sequence[Path], options: ScanOptions | None = None, *, now: datetime | None = None
) -> Report:
    """Scan local files and folders and return the report."""
    inputs = local_inputs(paths)
    result = ScanEngine(options or ScanOptions()).run(inputs.openers)
    run = result.run
    if inputs.skips:
        run = run.model_copy(update={"skips": inputs.skips + run.skips})
    return _report(inputs.subject, result.artifacts, (run,), now)


def inspect_paths(
    paths: Sequence[Path], options: InspectOptions | None = None, *, now: datetime | None = None
) -> Report:
    """Run every engine that applies to local paths (today: scan)."""
    opts = options or InspectOptions()
    return scan_paths(paths, opts.scan, now=now)


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
