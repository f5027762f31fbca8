"""Shared test helpers: scan bytes written to a temporary folder through the real engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from modelcustoms.artifacts.blob import Opener
from modelcustoms.engines.scan import Analyzer, ScanEngine, ScanOptions, ScanResult

ScanFiles = Callable[..., ScanResult]


@pytest.fixture
def scan_files(tmp_path: Path) -> ScanFiles:
    """Write ``{relpath: bytes}`` under a temp folder and scan them with the real engine.

    ``analyzers`` restricts the engine to some analyzers (default: all registered ones).
    """

    def _scan(
        files: dict[str, bytes],
        analyzers: Sequence[Analyzer] | None = None,
        options: ScanOptions | None = None,
    ) -> ScanResult:
        openers = []
        for rel, data in files.items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            openers.append(Opener.local(rel, p))
        engine = ScanEngine(options=options or ScanOptions(jobs=1), analyzers=analyzers)
        return engine.run(openers)

    return _scan


def rule_ids(result: ScanResult) -> set[str]:
    """The rule ids of all findings of a scan result."""
    return {f.rule_id for f in result.run.findings}


@pytest.fixture(autouse=True)
def _fresh_template_cache() -> None:
    """Template results are cached by content; tests that patch the renderer need a clean cache."""
    from modelcustoms.engines.scan.templates import _check_cached

    _check_cached.cache_clear()
