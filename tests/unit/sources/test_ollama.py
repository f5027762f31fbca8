"""Ollama store source, with stores built in tmp."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from modelcustoms.sources.base import InvalidReference, StoreError, info_of
from modelcustoms.sources.ollama import OllamaName, OllamaSource, store_root
from modelcustoms.sources.resolve import SourceOptions, resolve
from tests.hubserver import gguf_bytes

MEDIA = "application/vnd.ollama.image."


def add_blob(root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / f"sha256-{digest}").write_bytes(data)
    return f"sha256:{digest}"


def add_manifest(
    root: Path, rel: str, layers: list[tuple[str, bytes]], config: bytes = b"{}"
) -> bytes:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": add_blob(root, config),
            "size": len(config),
        },
        "layers": [
            {"mediaType": MEDIA + kind, "digest": add_blob(root, data), "size": len(data)}
            for kind, data in layers
        ],
    }
    raw = json.dumps(manifest).encode()
    path = root / "manifests" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return raw


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "ollama" / "models"
    add_manifest(
        root,
        "registry.ollama.ai/library/llama3.1/8b",
        [
            ("model", gguf_bytes({"general.architecture": "llama"})),
            ("template", b"{{ .System }} {{ .Prompt }}"),
            ("license", b"LLAMA 3.1 COMMUNITY LICENSE"),
            ("license", b"Acceptable use policy"),
            ("params", b'{"stop": ["<|eot_id|>"]}'),
        ],
    )
    return root


def opts(root: Path) -> SourceOptions:
    return SourceOptions(env={"OLLAMA_MODELS": str(root)})


def test_resolves_a_tag_to_named_layers(store: Path) -> None:
    source = resolve("ollama:llama3.1:8b", opts(store))
    subject = source.subject()
    manifest = (store / "manifests/registry.ollama.ai/library/llama3.1/8b").read_bytes()
    assert subject.kind.value == "ollama"
    assert subject.name == "llama3.1:8b"
    assert subject.revision == "sha256:" + hashlib.sha256(manifest).hexdigest()
    names = [o.path for o in source.openers()]
    assert names == ["model.gguf", "template", "license", "license.2", "params", "config.json"]
    for o in source.openers():
        info = info_of(o)
        assert info is not None and info.sha256 is not None
        with o.open() as blob:
            assert hashlib.sha256(blob.all(10**6)).hexdigest() == info.sha256
            assert blob.size == info.size
    model = info_of(source.openers()[0])
    assert model is not None and model.media_type == MEDIA + "model"
    assert source.skips == ()


def test_default_tag_namespaces_and_registries(tmp_path: Path) -> None:
    root = tmp_path / "m"
    add_manifest(root, "registry.ollama.ai/library/qwen2/latest", [("model", b"GGUF")])
    add_manifest(root, "registry.ollama.ai/user/tuned/v1", [("model", b"GGUF")])
    add_manifest(root, "hf.co/org/repo/Q4_K_M", [("model", b"GGUF"), ("projector", b"GGUF")])
    assert resolve("ollama:qwen2", opts(root)).subject().name == "qwen2:latest"
    assert resolve("ollama:user/tuned:v1", opts(root)).subject().name == "user/tuned:v1"
    source = resolve("ollama:hf.co/org/repo:Q4_K_M", opts(root))
    assert [o.path for o in source.openers()] == ["model.gguf", "projector.gguf", "config.json"]


def test_missing_blob_and_bad_digest_are_skips(tmp_path: Path) -> None:
    root = tmp_path / "m"
    add_manifest(
        root, "registry.ollama.ai/library/x/latest", [("model", b"GGUF"), ("system", b"hi")]
    )
    path = root / "manifests/registry.ollama.ai/library/x/latest"
    manifest = json.loads(path.read_text())
    (root / "blobs" / manifest["layers"][0]["digest"].replace(":", "-")).unlink()
    manifest["layers"][1]["digest"] = "sha256:../../../etc/passwd"
    manifest["layers"].append(
        {"mediaType": "application/x-future", "digest": manifest["config"]["digest"]}
    )
    path.write_text(json.dumps(manifest))
    source = resolve("ollama:x", opts(root))
    assert [o.path for o in source.openers()] == [
        "layer-2",
        "config.json",
    ]  # unknown kinds still read
    assert {s.artifact: s.reason for s in source.skips} == {
        "model.gguf": "unreadable",
        "system": "bad-digest",
    }


def test_store_errors_are_clear(tmp_path: Path, store: Path) -> None:
    with pytest.raises(StoreError, match="no Ollama store"):
        resolve("ollama:llama3.1", opts(tmp_path / "nowhere")).subject()
    with pytest.raises(StoreError) as info:
        resolve("ollama:mistral", opts(store)).subject()
    assert "ollama pull mistral:latest" in info.value.diagnostics()
    bad = store / "manifests/registry.ollama.ai/library/broken/latest"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"layers": [{"digest": 5}]}')
    with pytest.raises(StoreError, match="not a valid Ollama manifest"):
        resolve("ollama:broken", opts(store)).subject()
    bad.write_bytes(b"[" * 2_000_000)
    with pytest.raises(StoreError, match="exceeds"):
        resolve("ollama:broken", opts(store)).subject()


@pytest.mark.parametrize(
    "name", ["", "../x", "a/b/c/d", "x:../../y", "x:", "-x", "a/../b", "x:t/u", "x y"]
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidReference):
        OllamaName.parse(name)


def test_store_root_default_and_env(tmp_path: Path) -> None:
    assert store_root({"OLLAMA_MODELS": str(tmp_path)}) == tmp_path
    assert store_root({}) == Path.home() / ".ollama" / "models"
    source = OllamaSource("ollama:a", OllamaName.parse("a"), tmp_path)
    assert source.manifest_path() == tmp_path / "manifests/registry.ollama.ai/library/a/latest"
