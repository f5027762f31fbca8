"""Bounded extraction, library validation and the command line."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from modelcustoms.artifacts.blob import BytesBlob
from modelcustoms.cli import main
from modelcustoms.engines.fingerprint.extract import (
    ExtractError,
    canonical_name,
    open_model,
    vocab_from_tokenizer_json,
)
from modelcustoms.engines.fingerprint.library import Library, LibraryError
from modelcustoms.samples.tensorfmt import GGUF, GGUFTensor
from tests.unit.engines.fingerprint import models as M


def test_canonical_names():
    assert canonical_name("token_embd.weight") == "token_embd"
    assert canonical_name("blk.3.attn_q.weight") == "blk.3.attn_q"
    assert canonical_name("model.layers.7.self_attn.k_proj.weight") == "blk.7.attn_k"
    assert canonical_name("model.embed_tokens.weight") == "token_embd"
    assert canonical_name("model.layers.7.input_layernorm.weight") is None
    assert canonical_name("encoder.layer.2.attention.self.query.weight") == "blk.2.attn_q"
    assert canonical_name("bert.embeddings.word_embeddings.weight") == "token_embd"


def test_rows_read_by_offset_match_the_weights():
    weights, tokens = M.base_model(3, vocab=200, hidden=64)
    for data in (M.to_gguf(weights, tokens, 0), M.to_safetensors(weights)):
        view = open_model(BytesBlob(data), tokens)
        ref = view.tensors["token_embd"]
        before = view.bytes_read  # the header (for files this small, the whole file)
        assert 0 < before <= len(data)
        rows = view.read_rows(ref, [5, 0, 199])
        assert np.array_equal(rows, weights["token_embd"][[5, 0, 199]])
        assert view.bytes_read - before <= 3 * 64 * 4
        assert np.array_equal(view.read_all(view.tensors["blk.1.attn_k"]), weights["blk.1.attn_k"])


def test_tensor_pointing_past_the_end_is_ignored():
    bad = GGUFTensor("token_embd.weight", (64, 10**9), b"\0" * 256, 0)
    data = GGUF({"general.architecture": "llama"}, [bad]).build()
    view = open_model(BytesBlob(data))
    assert "token_embd" not in view.tensors


def test_row_out_of_range_and_not_a_model():
    weights, tokens = M.base_model(3, vocab=50, hidden=32)
    view = open_model(BytesBlob(M.to_gguf(weights, tokens)))
    with pytest.raises(ExtractError):
        view.read_rows(view.tensors["token_embd"], [50])
    with pytest.raises(ExtractError):
        open_model(BytesBlob(b"PK\3\4" + b"\0" * 100))
    lying = struct.pack("<Q", 10**6) + b"{}"
    with pytest.raises(ExtractError):
        open_model(BytesBlob(lying))


def test_vocab_from_tokenizer_json():
    doc = {
        "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 3}},
        "added_tokens": [{"id": 2, "content": "<s>"}],
    }
    assert vocab_from_tokenizer_json(json.dumps(doc).encode()) == ["a", "b", "<s>", "c"]
    uni = {"model": {"type": "Unigram", "vocab": [["x", -1.0], ["y", -2.0]]}}
    assert vocab_from_tokenizer_json(json.dumps(uni).encode()) == ["x", "y"]
    assert vocab_from_tokenizer_json(b"{not json") is None


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"format": "modelcustoms-fingerprints", "version": 99, "entries": []},
        {"format": "modelcustoms-fingerprints", "version": 1, "entries": [{"name": "x"}]},
        {
            "format": "modelcustoms-fingerprints",
            "version": 1,
            "entries": [
                {
                    "name": "x",
                    "probes": ["a", "b", "c"],
                    "components": [{"name": "token_embd", "shape": [3, 4], "gram": "AAAAAAAA"}],
                }
            ],
        },
    ],
)
def test_malformed_library_is_refused(doc):
    with pytest.raises(LibraryError):
        Library.from_json(doc)


def test_cli_build_then_match(tmp_path, capsys):
    weights, tokens = M.base_model(0)
    base = tmp_path / "base.gguf"
    base.write_bytes(M.to_gguf(weights, tokens, 1))
    derived = tmp_path / "derived.gguf"
    derived.write_bytes(M.to_gguf(M.permute_hidden(M.finetune(weights, 0.1)), tokens, 2))
    other = tmp_path / "other.gguf"
    other.write_bytes(M.to_gguf(M.base_model(5)[0], tokens, 2))
    lib = tmp_path / "lib.json"
    assert main(["fingerprint", "build", str(base), "--out", str(lib), "--name", "base"]) == 0
    assert main(["fingerprint", "build", str(other), "--out", str(lib), "--name", "other"]) == 0
    assert [e.name for e in Library.load(lib).entries] == ["base", "other"]
    out = tmp_path / "r.json"
    args = ["fingerprint", str(derived), "--against", str(lib), "-f", "json", "-o", str(out)]
    assert main(args) == 0
    doc = json.loads(out.read_text())
    (run,) = doc["runs"]
    claims = {c["base"]: c for c in run["lineage"]}
    assert claims["base"]["relation"] == "derived"
    assert claims["base"]["level"] == "weights"
    assert claims["other"]["relation"] == "independent"
    assert doc["artifacts"][0]["format"] == "gguf"
    assert main(["fingerprint", str(derived), "--against", str(lib), "-f", "terminal"]) == 0
    assert "base" in capsys.readouterr().out


def test_cli_usage_errors(tmp_path):
    assert main(["fingerprint", "x.gguf"]) == 2
    assert main(["fingerprint", "build", "x.gguf"]) == 2
    assert main(["fingerprint", "build", str(tmp_path / "missing.gguf"), "--out", "l.json"]) == 2
    bad = tmp_path / "lib.json"
    bad.write_text("{}")
    assert main(["fingerprint", str(tmp_path / "m.gguf"), "--against", str(bad)]) == 2


def test_unsupported_type_and_non_finite_weights_are_extract_errors():
    emb = GGUFTensor("token_embd.weight", (256, 4), b"\0" * 66 * 4, 16)  # IQ2_XXS
    view = open_model(BytesBlob(GGUF({}, [emb]).build()))
    with pytest.raises(ExtractError, match="no dequantizer"):
        view.read_rows(view.tensors["token_embd"], [0])
    nan = np.full((4, 32), np.nan, dtype=np.float32)
    data = GGUF({}, [GGUFTensor("token_embd.weight", (32, 4), nan.tobytes(), 0)]).build()
    view = open_model(BytesBlob(data))
    with pytest.raises(ExtractError, match="NaN"):
        view.read_rows(view.tensors["token_embd"], [1])


def test_gguf_vocabulary_is_read_whole_and_bounded():
    weights, _ = M.base_model(3, vocab=100, hidden=32)
    tokens = [f"t{i}" for i in range(100)]
    view = open_model(BytesBlob(M.to_gguf(weights, tokens)))
    assert view.vocab == tokens  # every item, past the header reader's 64 kept items
    tokens[7] = "x" * 70_000  # a token no tokenizer has: the vocabulary is not trusted
    view = open_model(BytesBlob(M.to_gguf(weights, tokens)))
    assert view.vocab is None
