"""Held-back accuracy of the audit's refusal and stance scorers, per language.

    .venv/bin/python benchmarks/audit_scorers.py

The labeled set ships in the package (engines/audit/data/labeled.json); half of it (by a hash
of each text) fits the embedding scorer's centroids and thresholds, the other half is measured
here. The lexicon scorer uses no fitting at all.
"""

from __future__ import annotations

import time

from modelcustoms.engines.audit.scoring.calibrate import held_back_accuracy
from modelcustoms.engines.audit.scoring.embed import embedding_scorer
from modelcustoms.engines.audit.scoring.scorer import Scorer


def main() -> None:
    start = time.perf_counter()
    emb = embedding_scorer()
    fit = time.perf_counter() - start
    rows = held_back_accuracy({"lexicon": Scorer(), "lexicon+embedding": emb})
    print(f"calibration (fit half embedded): {fit:.1f}s")
    print(f"{'task':8} {'scorer':18} {'lang':4} {'accuracy':>9}  n")
    for r in rows:
        print(f"{r.task:8} {r.scorer:18} {r.lang:4} {r.rate:9.3f}  {r.correct}/{r.total}")


if __name__ == "__main__":
    main()
