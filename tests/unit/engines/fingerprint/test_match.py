"""Derived models match their base; independent same-shape models do not."""

from __future__ import annotations

from functools import cache

import pytest

from modelcustoms.artifacts.blob import BytesBlob
from modelcustoms.artifacts.gguf import read_gguf
from modelcustoms.core import ConfidenceLevel, Relation
from modelcustoms.engines.fingerprint import FingerprintEngine, Subject
from modelcustoms.engines.fingerprint.extract import PREFIX_STEP, open_model
from modelcustoms.engines.fingerprint.library import Library
from modelcustoms.engines.fingerprint.match import ALPHA, compare
from modelcustoms.engines.fingerprint.signature import build_signature
from tests.unit.engines.fingerprint import models as M

SHA = "0" * 64


@pytest.fixture(scope="module")
def base():
    return M.base_model(0)


@pytest.fixture(scope="module")
def signature(base):
    weights, tokens = base
    return build_signature(open_model(BytesBlob(M.to_gguf(weights, tokens))))


@cache
def _derived():
    weights, tokens = M.base_model(0)
    extended, ext_tokens = M.extend_vocab(weights, tokens, 300)
    return {
        "f16 copy": M.to_gguf(weights, tokens, 1),
        "fine-tune": M.to_gguf(M.finetune(weights, 0.1), tokens),
        "heavy fine-tune": M.to_gguf(M.finetune(weights, 0.4), tokens),
        "q8_0": M.to_gguf(weights, tokens, 8),
        "q4_0": M.to_gguf(weights, tokens, 2),
        "q4_k": M.to_gguf(weights, tokens, 12),
        "q6_k": M.to_gguf(weights, tokens, 14),
        "fine-tune + q4_0": M.to_gguf(M.finetune(weights, 0.1), tokens, 2),
        "permuted": M.to_gguf(M.permute_hidden(weights), tokens),
        "rotated": M.to_gguf(M.rotate_hidden(weights), tokens),
        "scaled": M.to_gguf({k: v * 3.0 for k, v in weights.items()}, tokens),
        "extended vocab": M.to_gguf(extended, ext_tokens),
        "pruned layer": M.to_gguf(M.prune_layer(weights, 1), tokens),
        "vocabulary stripped + q8_0": M.to_gguf(M.finetune(weights, 0.05), None, 8),
        "permuted + extended + q4_0": M.to_gguf(M.permute_hidden(extended), ext_tokens, 2),
    }


@cache
def _independent():
    _, tokens = M.base_model(0)
    return {
        f"seed {seed} {name}": M.to_gguf(M.base_model(seed)[0], tokens, gtype)
        for seed in (11, 12, 13)
        for name, gtype in (("f32", 0), ("q4_0", 2))
    }


DERIVED = (
    "f16 copy",
    "fine-tune",
    "heavy fine-tune",
    "q8_0",
    "q4_0",
    "q4_k",
    "q6_k",
    "fine-tune + q4_0",
    "permuted",
    "rotated",
    "scaled",
    "extended vocab",
    "pruned layer",
    "vocabulary stripped + q8_0",
    "permuted + extended + q4_0",
)


def test_derived_cases_are_all_listed():
    assert set(_derived()) == set(DERIVED)


@pytest.mark.parametrize("case", DERIVED)
def test_derived_models_match(signature, case):
    data = _derived()[case]
    result = compare(signature, open_model(BytesBlob(data)))
    assert result.derived, (case, result)
    assert result.score > 0.8
    assert result.p_value < ALPHA


@pytest.mark.parametrize("case", [f"seed {s} {q}" for s in (11, 12, 13) for q in ("f32", "q4_0")])
def test_independent_same_shape_models_do_not_match(signature, case):
    result = compare(signature, open_model(BytesBlob(_independent()[case])))
    assert not result.derived, (case, result)
    assert abs(result.score) < 0.05
    assert result.p_value > 1e-3


def test_null_is_centred_and_narrow(base, signature):
    weights, tokens = base
    result = compare(signature, open_model(BytesBlob(M.to_gguf(weights, tokens))))
    assert abs(result.null_mean) < 0.02
    assert 0 < result.null_sd < 0.03
    assert result.shared_probes == 128


def test_library_round_trip_keeps_the_decision(tmp_path, base):
    weights, tokens = base
    engine = FingerprintEngine()
    entry = engine.build(Subject(BytesBlob(M.to_gguf(weights, tokens)), "base.gguf", SHA), "base")
    lib = Library()
    lib.add(entry)
    path = tmp_path / "lib.json"
    lib.save(path)
    assert path.stat().st_size < 100_000  # kilobytes, not weights
    loaded = Library.load(path)
    derived = M.to_gguf(M.permute_hidden(M.finetune(weights, 0.1)), tokens, 2)
    run = engine.run(Subject(BytesBlob(derived), "derived.gguf", SHA), loaded)
    (claim,) = run.lineage
    assert claim.relation is Relation.DERIVED
    assert claim.level is ConfidenceLevel.WEIGHTS
    assert claim.base == "base"
    assert claim.score is not None and claim.score > 0.9
    assert claim.p_value is not None and claim.p_value < ALPHA
    assert {e.location.pointer for e in claim.evidence} >= {
        "tensor token_embd",
        "tensor blk.0.attn_q",
    }
    keys = {f.key for f in run.facts}
    assert {"fingerprint.match", "fingerprint.base", "fingerprint.bytes_read"} <= keys
    other = M.to_gguf(M.base_model(21)[0], tokens)
    (claim,) = engine.run(Subject(BytesBlob(other), "other.gguf", SHA), loaded).lineage
    assert claim.relation is Relation.INDEPENDENT


def test_safetensors_reference_with_tokenizer_vocab(base):
    weights, tokens = base
    vocab = list(tokens)
    ref = FingerprintEngine().build(
        Subject(BytesBlob(M.to_safetensors(weights)), "model.safetensors", SHA), "base", vocab=vocab
    )
    lib = Library([ref])
    # A GGUF conversion of a fine-tune (its own vocab) against a safetensors reference.
    gguf = M.to_gguf(M.finetune(weights, 0.1), tokens, 8)
    (claim,) = FingerprintEngine().run(Subject(BytesBlob(gguf), "ft.gguf", SHA), lib).lineage
    assert claim.relation is Relation.DERIVED
    for dtype in ("F16", "BF16"):
        st = M.to_safetensors(M.permute_hidden(weights), dtype)
        run = FingerprintEngine().run(
            Subject(BytesBlob(st), "p.safetensors", SHA), lib, vocab=vocab
        )
        assert run.lineage[0].relation is Relation.DERIVED, dtype


def test_reads_only_what_it_needs():
    weights, tokens = M.base_model(0, vocab=20_000)
    data = M.to_gguf(weights, tokens, 2)
    view = open_model(BytesBlob(data))
    header = view.bytes_read
    data_start = read_gguf(BytesBlob(data)).data_start
    assert data_start is not None
    # The header is read once, overshooting by at most one prefix step.
    assert data_start <= header <= data_start + PREFIX_STEP
    build_signature(view)
    weights_read = view.bytes_read - header
    assert weights_read < 0.05 * len(data), (weights_read, len(data))


def test_unreadable_model_is_an_error_run_not_a_pass():
    run = FingerprintEngine().run(
        Subject(BytesBlob(b"not a model at all"), "x.bin", SHA), Library()
    )
    assert run.status.value == "error"
    assert run.skips[0].reason == "unreadable"
    assert run.lineage == ()


def test_renamed_tokens_fall_back_to_ids(signature):
    """Renaming every token hides nothing: the probes are read at the reference's ids."""
    weights, _ = M.base_model(0)
    other_tokens = [f"zz{i}" for i in range(M.VOCAB)]
    from modelcustoms.engines.fingerprint.library import Entry

    lib = Library([Entry("base", signature)])
    renamed = M.to_gguf(M.finetune(weights, 0.05), other_tokens)
    run = FingerprintEngine().run(Subject(BytesBlob(renamed), "x.gguf", SHA), lib)
    (claim,) = run.lineage
    assert claim.relation is Relation.DERIVED
    assert "aligned by id" in (claim.evidence[0].excerpt or "")
    other, _ = M.base_model(5)
    run = FingerprintEngine().run(
        Subject(BytesBlob(M.to_gguf(other, other_tokens)), "y.gguf", SHA), lib
    )
    assert run.status.value == "ok"
    assert [c.relation for c in run.lineage] == [Relation.INDEPENDENT]


def test_too_small_a_vocabulary_is_a_fact_not_a_skip(signature):
    weights, _ = M.base_model(0, vocab=8)
    data = M.to_gguf(weights, [f"zz{i}" for i in range(8)])
    from modelcustoms.engines.fingerprint.library import Entry

    lib = Library([Entry("base", signature)])
    run = FingerprintEngine().run(Subject(BytesBlob(data), "x.gguf", SHA), lib)
    assert run.status.value == "ok" and run.skips == () and run.lineage == ()
    (fact,) = [f for f in run.facts if f.key == "fingerprint.vocabulary-disjoint"]
    assert fact.value["reference"] == "base"


def test_shared_semantics_alone_is_not_derivation():
    """The trap: two independently trained models of one language embed tokens alike.

    They beat the random null by far, so a random null alone would call them derived; the
    semantic null and the score floor must not.
    """
    a, tokens = M.base_model(0, semantics=5)
    b, _ = M.base_model(1, semantics=5)
    sig = build_signature(open_model(BytesBlob(M.to_gguf(a, tokens))))
    twin = compare(sig, open_model(BytesBlob(M.to_gguf(b, tokens, 2))))
    assert twin.p_random < 1e-10
    assert 0.3 < twin.score < 0.75
    assert not twin.derived
    assert twin.p_value > 0.01
    ft = compare(sig, open_model(BytesBlob(M.to_gguf(M.finetune(a, 0.2), tokens, 2))))
    assert ft.derived
