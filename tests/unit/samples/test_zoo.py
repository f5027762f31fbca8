"""The sample zoo: it builds, its labels are complete, it covers every technique, it is stable.

Scanner results are not asserted here (tests/integration/test_zoo.py does that); these tests
only check the corpus itself. Pickles are inspected statically with pickletools, never loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickletools
import time
from pathlib import Path

import pytest

from modelcustoms.samples import Sample, build_zoo, load_manifest
from modelcustoms.samples.hostile_pickles import PICKLE_TECHNIQUES
from modelcustoms.samples.pickle_asm import PickleAsm, call_pickle

# Every hostile technique the zoo issue lists, by the technique id the zoo gives it.
REQUIRED_HOSTILE = {
    # pickle payloads, gadgets and stream tricks
    "pickle.os-system",
    "pickle.posix-system",
    "pickle.subprocess-popen",
    "pickle.builtins-exec",
    "pickle.builtins-eval",
    "pickle.compile-exec",
    "pickle.stack-global-memo",
    "pickle.inst",
    "pickle.obj",
    "pickle.newobj",
    "pickle.getattr-import",
    "pickle.importlib",
    "pickle.operator-attrgetter",
    "pickle.operator-methodcaller",
    "pickle.functools-partial",
    "pickle.nested-loads",
    "pickle.runpy",
    "pickle.code-interact",
    "pickle.timeit",
    "pickle.cprofile-run",
    "pickle.trace-runctx",
    "pickle.pip-main",
    "pickle.pydoc-pipepager",
    "pickle.asyncio-subprocess",
    "pickle.numpy-runstring",
    "pickle.torch-hub-load",
    "pickle.torch-load-nested",
    "pickle.webbrowser-open",
    "pickle.socket",
    "pickle.shutil-rmtree",
    "pickle.open-write",
    "pickle.broken-tail",
    "pickle.second-pickle",
    "pickle.ext-code",
    "pickle.misleading-extension",
    # PyTorch
    "torch.payload-data-pkl",
    "torch.payload-extra-member",
    "torch.name-mismatch",
    "torch.encrypted-flag",
    "torch.bad-crc",
    "torch.prefixed-junk",
    "torch.duplicate-member",
    "torch.legacy-payload",
    # containers
    "archive.7z-torch",
    "archive.tar-pickle",
    "archive.gzip-pickle",
    "archive.bz2-pickle",
    "archive.xz-pickle",
    "archive.nested-zip-tar-gzip",
    "archive.zip-traversal",
    "archive.zip-bomb",
    "archive.deep-nesting",
    # numpy / joblib
    "numpy.npy-object-pickle",
    "numpy.npz-object-pickle",
    "joblib.payload",
    "joblib.zlib-payload",
    "joblib.gzip-payload",
    # Keras
    "keras.lambda-layer",
    "keras.module-injection",
    "keras.get-file",
    "keras.enable-unsafe-deserialization",
    "keras.tfsmlayer",
    "keras.h5-lambda",
    # SavedModel / ONNX
    "savedmodel.readfile",
    "savedmodel.writefile",
    "savedmodel.pyfunc",
    "onnx.external-data-traversal",
    "onnx.external-data-absolute",
    "onnx.custom-op-pyop",
    # GGUF / safetensors
    "gguf.template-ssti",
    "gguf.template-backdoor",
    "gguf.huge-array",
    "gguf.huge-string",
    "gguf.tensor-offset-oob",
    "safetensors.header-overflow",
    "safetensors.duplicate-keys",
    "safetensors.overlap",
    "safetensors.trailing-data",
    # Hugging Face repos
    "hf.remote-code-os-system",
    "hf.remote-code-exfil",
    "hf.remote-code-exec-b64",
    "hf.tokenizer-template-ssti",
    "secrets.hf-token",
    "secrets.openai-key",
    "secrets.aws-key",
}

REQUIRED_BENIGN = {
    "benign.numpy-pickle",
    "benign.sklearn-pickle",
    "benign.joblib",
    "benign.torch-state-dict",
    "benign.torch-checkpoint",
    "benign.hf-training-args",
    "benign.torch-legacy",
    "benign.npy",
    "benign.npz",
    "benign.safetensors",
    "benign.gguf",
    "benign.onnx",
    "benign.onnx-external",
    "benign.savedmodel",
    "benign.keras-v3",
    "benign.keras-h5",
    "benign.hf-repo",
    "benign.hf-repo-remote-code",
    "benign.archive",
}


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Sample], float]:
    root = tmp_path_factory.mktemp("zoo-full")
    started = time.perf_counter()
    samples = build_zoo(root, scale="full")
    return root, samples, time.perf_counter() - started


def test_demo_zoo_is_small_fast_and_mixed(tmp_path: Path) -> None:
    started = time.perf_counter()
    samples = build_zoo(tmp_path, scale="demo")
    assert time.perf_counter() - started < 5.0
    assert 20 <= len(samples) <= 35
    labels = {s.label for s in samples}
    assert labels == {"benign", "hostile"}


def test_full_zoo_size_and_build_time(full: tuple[Path, list[Sample], float]) -> None:
    _, samples, elapsed = full
    assert elapsed < 30
    assert sum(s.label == "hostile" for s in samples) >= 150
    assert sum(s.label == "benign" for s in samples) >= 150


def test_manifest_labels_are_complete(full: tuple[Path, list[Sample], float]) -> None:
    root, samples, _ = full
    assert load_manifest(root) == samples
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["scale"] == "full"
    paths = [s.path for s in samples]
    assert len(paths) == len(set(paths))
    for s in samples:
        assert s.label in ("benign", "hostile")
        assert s.technique and s.format
        assert s.technique.startswith("benign.") == (s.label == "benign")
        assert (root / s.path).exists(), s.path
        if s.reference is not None:
            assert s.reference.startswith("https://")
    # Every file on disk belongs to a sample: nothing unlabelled sneaks into the corpus.
    for rel in _digests(root):
        if rel != "manifest.json":
            assert any(rel == p or rel.startswith(p + "/") for p in paths), rel


def test_every_listed_technique_has_a_sample(full: tuple[Path, list[Sample], float]) -> None:
    _, samples, _ = full
    techniques = {s.technique for s in samples}
    assert REQUIRED_HOSTILE - techniques == set()
    assert REQUIRED_BENIGN - techniques == set()


def test_names_do_not_leak_labels(full: tuple[Path, list[Sample], float]) -> None:
    _, samples, _ = full
    for s in samples:
        assert "hostile" not in s.path and "benign" not in s.path
        assert "evil" not in s.path.split("/")[-1]


def test_zoo_is_deterministic(full: tuple[Path, list[Sample], float], tmp_path: Path) -> None:
    root, samples, _ = full
    again = build_zoo(tmp_path, scale="full")
    assert again == samples
    assert _digests(tmp_path) == _digests(root)


def test_other_seed_changes_variants(tmp_path: Path) -> None:
    a = build_zoo(tmp_path / "a", scale="demo", seed=0)
    b = build_zoo(tmp_path / "b", scale="demo", seed=1)
    assert [s.technique for s in a] == [s.technique for s in b]
    assert _digests(tmp_path / "a") != _digests(tmp_path / "b")


@pytest.mark.parametrize("technique", sorted(PICKLE_TECHNIQUES))
@pytest.mark.parametrize("protocol", range(6))
def test_hostile_pickles_are_well_formed_streams(technique: str, protocol: int) -> None:
    data = PICKLE_TECHNIQUES[technique](protocol)
    if technique == "pickle.broken-tail":
        with pytest.raises(ValueError):
            pickletools.dis(data, out=io.StringIO())
        return
    pickletools.dis(data, out=io.StringIO())  # static: validates opcodes, marks and stack


def test_assembler_emits_what_it_names() -> None:
    a = PickleAsm(4, framed=False)
    a.str_("os").put().str_("system").put().stack_global().get(0).pop().value(("x",)).reduce()
    data = a.stop().getvalue()
    ops = [op.name for op, _, _ in pickletools.genops(data)]
    assert ops[:7] == [
        "PROTO",
        "SHORT_BINUNICODE",
        "MEMOIZE",
        "SHORT_BINUNICODE",
        "MEMOIZE",
        "STACK_GLOBAL",
        "BINGET",
    ]
    assert call_pickle("os", "system", "x", protocol=0).startswith(b"cos\nsystem\n")
    framed = PickleAsm(5).value([1, 2]).stop().getvalue()
    assert framed[2] == 0x95
