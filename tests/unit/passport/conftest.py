"""A small model folder, its scan report, and keys."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelcustoms.core import ReportDocument
from modelcustoms.engines.scan import ScanOptions
from modelcustoms.pipeline import scan_paths

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def make_model(root: Path) -> Path:
    """A folder with a config, weights-like bytes and a nested file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"model_type": "llama"}')
    (root / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "notes.txt").write_text("hello")
    return root


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model")


@pytest.fixture
def report_doc(model_dir: Path) -> ReportDocument:
    report = scan_paths([model_dir], ScanOptions(jobs=1), now=NOW)
    return ReportDocument.of(report)
