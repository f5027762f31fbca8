"""Fingerprinting by HTTP range from a local hub, and the fingerprint step of provenance."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from modelcustoms.artifacts.blob import BytesBlob
from modelcustoms.artifacts.http import HttpSettings
from modelcustoms.cli import main
from modelcustoms.core import EngineStatus, Relation
from modelcustoms.engines.fingerprint import ENGINE, FingerprintEngine, Subject
from modelcustoms.engines.fingerprint.library import SHIPPED, Entry, Library
from modelcustoms.pipeline import InspectOptions, fingerprint, inspect
from modelcustoms.sources.resolve import SourceOptions
from tests.hubserver import HubServer
from tests.unit.engines.fingerprint import models as M

FAST = HttpSettings(trust_env=False, backoff=0.01, connect_timeout=2.0, read_timeout=5.0)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    weights, tokens = M.base_model(0, vocab=20_000)
    data = M.to_gguf(weights, tokens)
    lib = Library()
    lib.add(FingerprintEngine().build(Subject(BytesBlob(data), "base.gguf", "0" * 64), "org/base"))
    path = tmp_path_factory.mktemp("lib") / "lib.json"
    lib.save(path)
    return path


def _options(hub: HubServer, tmp_path: Path) -> SourceOptions:
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    return SourceOptions(env={"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache)}, http=FAST)


def test_remote_gguf_is_fingerprinted_by_range(tmp_path: Path, library: Path) -> None:
    weights, tokens = M.base_model(0, vocab=20_000)
    derived = M.to_gguf(M.finetune(weights, 0.1), tokens, 8)  # fine-tuned, Q8_0
    other, _ = M.base_model(7, vocab=20_000)
    with HubServer(tmp_path / "hub") as hub:
        hub.add_repo("someone/derived", {"model.gguf": derived, "README.md": b"# a model\n"})
        hub.add_repo("someone/other", {"model.gguf": M.to_gguf(other, tokens, 8)})
        hub.reset_counters()
        report = fingerprint("hf:someone/derived", [library], _options(hub, tmp_path))
        sent = hub.bytes_sent
        ranges = [h.range for h in hub.hits if h.range]
        other_report = fingerprint("hf:someone/other", [library], _options(hub, tmp_path))
    (claim,) = report.runs[0].lineage
    assert claim.relation is Relation.DERIVED and claim.base == "org/base"
    assert claim.p_value is not None and claim.p_value < 1e-6
    (artifact,) = report.artifacts
    assert artifact.path == "model.gguf" and artifact.size == len(derived)
    # The evidence names the hub's LFS digest of the exact file, never a placeholder.
    assert claim.evidence[0].location.sha256 == artifact.sha256 != "0" * 64
    # Header, 128 embedding rows and six projections: a small part of the file.
    print(f"by range: {sent} of {len(derived)} bytes")
    assert sent < 0.35 * len(derived), (sent, len(derived))
    # Each probe row is one exact range (a Q8_0 row of 256 weights is 272 bytes), not a
    # 64 KB cache block.
    spans = [int(b) - int(a) + 1 for a, b in (r.removeprefix("bytes=").split("-") for r in ranges)]
    assert sum(1 for n in spans if n == 272) >= 100, spans
    assert [c.relation for c in other_report.runs[0].lineage] == [Relation.INDEPENDENT]


def test_remote_safetensors_aligns_by_the_repo_tokenizer(tmp_path: Path, library: Path) -> None:
    weights, tokens = M.base_model(0, vocab=20_000)
    permuted = M.to_safetensors(M.permute_hidden(weights), "BF16")
    tok = {"model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(tokens)}}}
    with HubServer(tmp_path / "hub") as hub:
        hub.add_repo(
            "someone/st",
            {"model.safetensors": permuted, "tokenizer.json": json.dumps(tok).encode()},
        )
        report = fingerprint("hf:someone/st", [library], _options(hub, tmp_path))
    (claim,) = report.runs[0].lineage
    assert claim.relation is Relation.DERIVED
    assert "aligned by token" in (claim.evidence[0].excerpt or "")


def test_provenance_composes_the_fingerprint_step(tmp_path: Path, library: Path) -> None:
    weights, tokens = M.base_model(0, vocab=20_000)
    (tmp_path / "m").mkdir()
    data = M.to_gguf(M.finetune(weights, 0.1), tokens, 2)
    (tmp_path / "m" / "model.gguf").write_bytes(data)
    opts = InspectOptions(run_scan=False, fingerprint_libraries=(library,))
    report = inspect([tmp_path / "m"], opts)
    run = next(r for r in report.runs if r.engine == ENGINE)
    assert run.status is EngineStatus.OK
    claims = [c for r in report.runs for c in r.lineage if c.method == "probe-gram-correlation"]
    assert [(c.base, c.relation) for c in claims] == [("org/base", Relation.DERIVED)]
    assert claims[0].evidence[0].location.sha256 == hashlib.sha256(data).hexdigest()
    # No weights file: no fingerprint run at all.
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}")
    report = inspect([tmp_path / "empty"], opts)
    assert all(r.engine != ENGINE for r in report.runs)


def test_without_numpy_the_step_is_a_clean_skip(
    tmp_path: Path, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights, tokens = M.base_model(0, vocab=200)
    (tmp_path / "model.gguf").write_bytes(M.to_gguf(weights, tokens))
    monkeypatch.setitem(sys.modules, "numpy", None)  # makes `import numpy` raise ImportError
    report = inspect([tmp_path / "model.gguf"], InspectOptions(run_scan=False))
    run = next(r for r in report.runs if r.engine == ENGINE)
    assert run.status is EngineStatus.NOT_RUN
    assert run.skips[0].reason == "fingerprint-unavailable"
    assert "numpy" in run.skips[0].detail


def test_cli_provenance_json_shows_the_fingerprint(
    tmp_path: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights, tokens = M.base_model(0, vocab=20_000)
    model = tmp_path / "model.gguf"
    model.write_bytes(M.to_gguf(M.finetune(weights, 0.1), tokens, 8))
    assert main(["fingerprint", str(model), "--against", str(library), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (run,) = doc["runs"]
    assert run["engine"] == "fingerprint"
    assert run["lineage"][0]["relation"] == "derived"
    assert main(["fingerprint", str(tmp_path / "missing.gguf"), "--against", str(library)]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["fingerprint", str(model), "--against", str(bad)]) == 2
    (tmp_path / "no-weights").mkdir()
    (tmp_path / "no-weights" / "config.json").write_text("{}")
    assert main(["fingerprint", str(tmp_path / "no-weights"), "--against", str(library)]) == 2
    capsys.readouterr()
    # A file named explicitly is judged by its content, not its name.
    renamed = tmp_path / "weights.bin"
    renamed.write_bytes(model.read_bytes())
    assert main(["fingerprint", str(renamed), "--against", str(library), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["runs"][0]["lineage"][0]["relation"] == "derived"
    assert doc["artifacts"][0]["format"] == "gguf"


def test_the_shipped_library_loads_and_names_real_bases() -> None:
    lib = Library.load(SHIPPED)
    names = {e.name for e in lib.entries}
    assert "Qwen/Qwen2.5-Coder-0.5B-Instruct" in names
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in names
    assert all(e.sha256 and len(e.sha256) == 64 for e in lib.entries)
    assert SHIPPED.stat().st_size < 1024 * 1024


def test_a_derived_claim_names_the_publisher_and_country_of_the_base() -> None:
    weights, tokens = M.base_model(0, vocab=2_000)
    data = M.to_gguf(weights, tokens)
    lib = Library()
    entry = FingerprintEngine().build(Subject(BytesBlob(data), "b.gguf", "0" * 64), "Qwen/Base")
    lib.add(entry)
    other, _ = M.base_model(9, vocab=2_000)
    engine = FingerprintEngine()
    (derived,) = engine.run(Subject(BytesBlob(data), "d.gguf", "0" * 64), lib).lineage
    (indep,) = engine.run(Subject(BytesBlob(M.to_gguf(other, tokens)), "i", "0" * 64), lib).lineage
    assert (derived.relation, derived.publisher, derived.country) == (
        Relation.DERIVED,
        "alibaba",
        "CN",
    )
    assert (indep.relation, indep.publisher, indep.country) == (Relation.INDEPENDENT, None, None)


def test_a_file_without_embedding_is_one_skip_not_one_per_reference(library: Path) -> None:
    weights, _ = M.base_model(0, vocab=200)
    adapter = M.to_gguf({k: v for k, v in weights.items() if k != "token_embd"}, None)
    lib = Library.load(library)
    lib.add(Entry("second", lib.entries[0].signature))
    run = FingerprintEngine().run(Subject(BytesBlob(adapter), "adapter.gguf", "0" * 64), lib)
    assert [s.reason for s in run.skips] == ["no-embedding"]
    assert run.lineage == ()


def test_sharded_models_are_one_skip_and_single_files_beside_them_still_run(
    tmp_path: Path, library: Path
) -> None:
    weights, tokens = M.base_model(0, vocab=20_000)
    st = M.to_safetensors(weights)
    (tmp_path / "shards").mkdir()
    for i in (1, 2):
        (tmp_path / "shards" / f"model-0000{i}-of-00002.safetensors").write_bytes(st)
    (tmp_path / "model.gguf").write_bytes(M.to_gguf(weights, tokens, 8))
    report = fingerprint(tmp_path, [library])
    (run,) = report.runs
    assert [(s.artifact, s.reason) for s in run.skips] == [
        ("shards/model-00001-of-00002.safetensors", "sharded")
    ]
    assert [(c.subject, c.relation) for c in run.lineage] == [("model.gguf", Relation.DERIVED)]
    # A known limit of the method, not a read failure: the run stays fully verified.
    assert run.status is EngineStatus.OK
