"""Reference parsing and exhaustive dispatch to sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelcustoms.core import SubjectKind
from modelcustoms.errors import SourceError
from modelcustoms.sources.base import InvalidReference
from modelcustoms.sources.huggingface import HuggingFaceSource
from modelcustoms.sources.ollama import OllamaSource
from modelcustoms.sources.resolve import (
    EndpointSource,
    LocalSource,
    SourceOptions,
    parse_ref,
    resolve,
)

NO_PATHS = {"exists": lambda p: False}

EXAMPLES = {
    SubjectKind.PATH: "./models/x.gguf",
    SubjectKind.HUGGINGFACE: "hf:Qwen/Qwen2.5-7B@main",
    SubjectKind.OLLAMA: "ollama:llama3.1:8b",
    SubjectKind.ENDPOINT: "https://api.example.test/v1#gpt-x",
}
CLASSES = {
    SubjectKind.PATH: LocalSource,
    SubjectKind.HUGGINGFACE: HuggingFaceSource,
    SubjectKind.OLLAMA: OllamaSource,
    SubjectKind.ENDPOINT: EndpointSource,
}


@pytest.mark.parametrize("kind", list(SubjectKind))
def test_every_kind_resolves_to_its_source(kind: SubjectKind) -> None:
    """Walks every member: a new kind cannot be half-wired."""
    ref = EXAMPLES[kind]
    assert parse_ref(ref, **NO_PATHS).kind is kind
    source = resolve(ref, SourceOptions(env={}))  # no I/O until first use
    assert isinstance(source, CLASSES[kind])
    source.close()


@pytest.mark.parametrize(
    ("ref", "target", "revision"),
    [
        ("hf:org/name", "org/name", None),
        ("hf:org/name@v1.0", "org/name", "v1.0"),
        ("hf:gpt2", "gpt2", None),
        ("hf:org/name@refs/pr/1", "org/name", "refs/pr/1"),
        ("org/name", "org/name", None),
        ("org/name@" + "a" * 40, "org/name", "a" * 40),
    ],
)
def test_hugging_face_refs(ref: str, target: str, revision: str | None) -> None:
    parsed = parse_ref(ref, **NO_PATHS)
    assert (parsed.kind, parsed.target, parsed.revision, parsed.text) == (
        SubjectKind.HUGGINGFACE,
        target,
        revision,
        ref,
    )


def test_an_existing_local_path_wins_over_a_repo_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "name").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert parse_ref("org/name").kind is SubjectKind.PATH
    assert parse_ref("org/other").kind is SubjectKind.HUGGINGFACE
    source = resolve("org/name")
    assert [o.path for o in source.openers()] == ["name"]


@pytest.mark.parametrize(
    "ref", ["weights.bin", "a/b/c", "/abs/path", "./x/y", "~/m", "org/..", "org/-x"]
)
def test_other_names_are_paths(ref: str) -> None:
    assert parse_ref(ref, **NO_PATHS).kind is SubjectKind.PATH


def test_a_missing_path_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        resolve(str(tmp_path / "missing")).subject()


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "   ",
        "hf:",
        "hf:org/",
        "hf:org/name@",
        "hf:org/name/extra",
        "hf:org/na..me",
        "hf:org--x/name",
        "hf:org/name@../../etc",
        "hf:org/name@a//b",
        "hf:org/name@bad rev",
        "hf:../name",
        "ollama:../x",
        "ollama:x:",
        "https://user:pw@api.example.test/v1",
        "http://",
    ],
)
def test_malformed_refs(ref: str) -> None:
    with pytest.raises(InvalidReference):
        parse_ref(ref, **NO_PATHS)


def test_endpoint_subject_has_no_artifacts() -> None:
    source = resolve("https://api.example.test/v1#model-x", SourceOptions(env={}))
    assert isinstance(source, EndpointSource)
    assert source.subject().name == "model-x"
    assert source.base_url == "https://api.example.test/v1"
    assert source.openers() == () and source.skips == ()
    bare = resolve("http://localhost:8000/v1", SourceOptions(env={}))
    assert bare.subject().name == "localhost"


def test_bad_hf_endpoint_is_refused() -> None:
    with pytest.raises(InvalidReference, match="HF_ENDPOINT"):
        resolve("hf:org/m", SourceOptions(env={"HF_ENDPOINT": "ftp://x"}))
