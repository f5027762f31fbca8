"""Hugging Face source against the local hub server: info, ranges, cache, offline, errors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

import httpx
import pytest

from modelcustoms.artifacts.blob import Opener
from modelcustoms.artifacts.gguf import read_gguf
from modelcustoms.artifacts.http import RemoteBlob
from modelcustoms.engines.scan import ScanEngine, ScanOptions
from modelcustoms.sources.base import (
    NotInCache,
    RemoteAccessDenied,
    RemoteNotFound,
    RemoteProtocolError,
    RemoteUnreachable,
    Source,
    TransferLimitExceeded,
    info_of,
)
from modelcustoms.sources.hfrepo import parse_repo_info
from modelcustoms.sources.huggingface import HubSettings, HuggingFaceSource
from modelcustoms.sources.resolve import SourceOptions
from tests.hubserver import HubServer, llama70b_files, small_repo_files
from tests.unit.sources.conftest import FAST, Chunks, OpenSource, closed_port


def by_path(source: Source) -> dict[str, Opener]:
    return {o.path: o for o in source.openers()}


def test_repo_files_sizes_and_lfs_digests(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource
) -> None:
    files = small_repo_files()
    commit = hub_server.add_repo("org/tiny", files)
    source = open_source("hf:org/tiny", hub_options)
    subject = source.subject()
    assert (subject.kind.value, subject.name, subject.revision) == (
        "huggingface",
        "org/tiny",
        commit,
    )
    openers = by_path(source)
    assert set(openers) == set(files)
    st = info_of(openers["model.safetensors"])
    weights = files["model.safetensors"]
    assert st is not None and isinstance(weights, bytes)
    assert st.sha256 == hashlib.sha256(weights).hexdigest()
    assert st.size == len(weights)
    assert commit in st.location
    cfg = info_of(openers["config.json"])
    assert cfg is not None and cfg.sha256 is None and cfg.git_blob_id  # in git, not LFS
    assert hub_server.requests == 1  # only the repo info so far: files open lazily
    with openers["config.json"].open() as blob:
        assert json.loads(blob.all(10_000))["model_type"] == "llama"
    source.close()


def test_safetensors_header_and_gguf_by_ranges(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource
) -> None:
    hub_server.add_repo("org/tiny", small_repo_files())
    source = open_source("org/tiny", hub_options)  # bare org/name: no such local path
    assert isinstance(source, HuggingFaceSource)
    openers = by_path(source)
    hub_server.reset_counters()
    with openers["model.safetensors"].open() as blob:
        n = int.from_bytes(blob.read(0, 8), "little")
        header = json.loads(blob.read(8, n))
        assert header["lm_head.weight"]["dtype"] == "F16"
        assert isinstance(blob, RemoteBlob) and blob.requests == 1
    with openers["tiny.Q4_0.gguf"].open() as blob:
        gguf = read_gguf(blob)
        assert gguf.error is None
        arch = gguf.get("general.architecture")
        assert arch == "llama"
    # Each LFS file: one redirect hop plus one ranged read.
    assert hub_server.requests == 4
    assert source.stats.requests == 5  # the repo info counted before the reset


def test_scan_engine_binds_to_the_hub_digest(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource
) -> None:
    files = small_repo_files()
    hub_server.add_repo("org/tiny", files)
    source = open_source("hf:org/tiny", hub_options)
    result = ScanEngine(ScanOptions(jobs=1), analyzers=[]).run(source.openers())
    digests = {a.path: a.sha256 for a in result.artifacts}
    for o in source.openers():
        info = info_of(o)
        if info is not None and info.sha256:
            assert digests[o.path] == info.sha256


def test_revision_pinning(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource
) -> None:
    old = hub_server.add_repo("org/m", {"config.json": b'{"v": 1}'}, revision="v1")
    new = hub_server.add_repo("org/m", {"config.json": b'{"v": 2}'}, revision="main")
    assert old != new
    for ref, commit, value in (
        ("hf:org/m@v1", old, 1),
        ("hf:org/m", new, 2),
        (f"org/m@{old}", old, 1),
    ):
        source = open_source(ref, hub_options)
        assert source.subject().revision == commit
        with by_path(source)["config.json"].open() as blob:
            assert json.loads(blob.all(100))["v"] == value
    # Files are fetched from the commit the info named, not from the moving branch.
    assert all(
        f"/resolve/{old}/" in h.path or f"/resolve/{new}/" in h.path
        for h in hub_server.hits
        if "/resolve/" in h.path
    )


def test_missing_repo_and_revision(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource
) -> None:
    hub_server.add_repo("org/m", {"config.json": b"{}"})
    with pytest.raises(RemoteNotFound) as info:
        open_source("hf:org/nope", hub_options).subject()
    assert "repo not found: org/nope" in info.value.diagnostics()
    with pytest.raises(RemoteNotFound, match="revision 'v9' not found"):
        open_source("hf:org/m@v9", hub_options).subject()


def test_gated_repo_errors_explain_and_never_show_the_token(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource
) -> None:
    hub_server.add_repo("org/gated", {"config.json": b"{}"}, token="hf_right")
    with pytest.raises(RemoteAccessDenied) as info:
        open_source("hf:org/gated", hub_options).subject()
    assert info.value.status == 401
    assert "gated" in info.value.diagnostics() and "set HF_TOKEN" in info.value.diagnostics()

    env = {**(hub_options.env or {}), "HF_TOKEN": "hf_wrong_secret"}
    wrong = dataclasses.replace(hub_options, env=env)
    with pytest.raises(RemoteAccessDenied) as info:
        open_source("hf:org/gated", wrong).subject()
    assert info.value.status == 403
    assert "hf_wrong_secret" not in info.value.diagnostics()
    source = open_source("hf:org/gated", wrong)
    assert isinstance(source, HuggingFaceSource)
    assert "hf_wrong_secret" not in repr(source.settings)

    right = dataclasses.replace(hub_options, env={**env, "HF_TOKEN": "hf_right"})
    source = open_source("hf:org/gated", right)
    with by_path(source)["config.json"].open() as blob:
        assert blob.all(10) == b"{}"


def test_unreachable_endpoint(hub_options: SourceOptions, open_source: OpenSource) -> None:
    env = {**(hub_options.env or {}), "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    started = time.monotonic()
    with pytest.raises(RemoteUnreachable) as info:
        open_source("hf:org/m", dataclasses.replace(hub_options, env=env)).subject()
    assert time.monotonic() - started < 3
    assert "could not connect" in info.value.diagnostics()


def test_reads_from_the_cache_when_the_file_is_there(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource, hf_cache: Path
) -> None:
    commit = hub_server.add_repo("org/tiny", small_repo_files())
    snap = hf_cache / "models--org--tiny" / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "config.json").write_bytes(b'{"cached": true}')
    source = open_source("hf:org/tiny", hub_options)
    opener = by_path(source)["config.json"]
    info = info_of(opener)
    assert info is not None and info.cached
    hub_server.reset_counters()
    with opener.open() as blob:
        assert blob.all(100) == b'{"cached": true}'
    assert hub_server.requests == 0


def build_cache(
    cache: Path, repo: str, commit: str, files: dict[str, bytes], ref: str = "main"
) -> None:
    root = cache / ("models--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True)
    (root / "refs" / ref).write_text(commit)
    blobs = root / "blobs"
    blobs.mkdir()
    for rel, data in files.items():
        blob = blobs / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = root / "snapshots" / commit / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(blob)  # the cache links snapshot files to blobs


def test_offline_mode_reads_only_the_cache(hf_cache: Path, open_source: OpenSource) -> None:
    commit = "a" * 40
    build_cache(hf_cache, "org/tiny", commit, {"config.json": b"{}", "sub/t.json": b"[]"})
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(hf_cache),
        "HF_ENDPOINT": "http://127.0.0.1:9",
    }
    source = open_source("hf:org/tiny", SourceOptions(env=env, http=FAST))
    assert source.subject().revision == commit
    assert sorted(o.path for o in source.openers()) == ["config.json", "sub/t.json"]
    assert all(info_of(o).cached for o in source.openers())  # type: ignore[union-attr]
    # by commit too
    assert open_source(f"hf:org/tiny@{commit}", SourceOptions(env=env)).subject().revision == commit
    with pytest.raises(NotInCache) as info:
        open_source("hf:org/other", SourceOptions(env=env)).subject()
    assert "HF_HUB_OFFLINE" in info.value.diagnostics()
    with pytest.raises(NotInCache):
        open_source("hf:org/tiny@v2", SourceOptions(env=env)).subject()


def test_hf_home_locates_the_cache(tmp_path: Path) -> None:
    s = HubSettings.from_env({"HF_HOME": str(tmp_path)})
    assert s.cache_dir == tmp_path / "hub"
    assert HubSettings.from_env({"HF_HUB_CACHE": "/x", "HF_HOME": "/y"}).cache_dir == Path("/x")
    assert HubSettings.from_env({"HF_HUB_OFFLINE": "true"}).offline
    assert not HubSettings.from_env({"HF_HUB_OFFLINE": "0"}).offline
    assert (
        HubSettings.from_env({"HF_ENDPOINT": "https://mirror.test/"}).endpoint
        == "https://mirror.test"
    )


def test_unsafe_file_names_from_the_server_are_skipped() -> None:
    raw = {
        "sha": "b" * 40,
        "siblings": [
            {"rfilename": "../../etc/passwd", "size": 3},
            {"rfilename": "/abs", "size": 3},
            {"rfilename": "ok.json", "size": 2},
            {"rfilename": "ok.json", "size": 2},
            {"rfilename": "a\\b", "size": 1},
            {"rfilename": "bad\x1b[2J", "size": 1},
            {"rfilename": "w.safetensors", "size": 9, "lfs": {"sha256": "NOT-HEX", "size": 9}},
        ],
    }
    info = parse_repo_info(raw, "org/m", "main")
    assert [f.path for f in info.files] == ["ok.json", "w.safetensors"]
    assert info.files[1].sha256 is None
    assert len(info.unsafe_names) == 5


def test_malformed_repo_info_is_a_clear_error() -> None:
    with pytest.raises(RemoteProtocolError, match="malformed"):
        parse_repo_info({"siblings": [{"rfilename": 5}]}, "org/m", "main")
    with pytest.raises(RemoteProtocolError, match="malformed"):
        parse_repo_info({"siblings": [{"rfilename": "a", "size": "12"}]}, "org/m", "main")
    with pytest.raises(RemoteProtocolError, match="malformed"):
        parse_repo_info([], "org/m", "main")


def test_repo_info_through_mock_transport_reports_unsafe_skips() -> None:
    body = {
        "sha": "c" * 40,
        "siblings": [{"rfilename": "../x", "size": 1}, {"rfilename": "a", "size": 1}],
    }
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    settings = HubSettings(endpoint="http://hub.test", cache_dir=Path("/nonexistent"))
    source = HuggingFaceSource("hf:org/m", "org/m", None, settings, http=FAST, transport=transport)
    assert [o.path for o in source.openers()] == ["a"]
    assert [s.reason for s in source.skips] == ["unsafe-path"]
    source.close()


def test_per_file_cap_and_full_download(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource
) -> None:
    hub_server.add_repo("org/big", {"weights.bin": bytes(300_000)})
    small = dataclasses.replace(hub_options, http=dataclasses.replace(FAST, max_blob_bytes=100_000))
    with by_path(open_source("hf:org/big", small))["weights.bin"].open() as blob:
        assert blob.head(4) == bytes(4)
        with pytest.raises(TransferLimitExceeded):
            blob.all(10**6)
    full = dataclasses.replace(small, full_download=True)
    with by_path(open_source("hf:org/big", full))["weights.bin"].open() as blob:
        assert len(blob.all(10**6)) == 300_000


def test_unknown_sizes_are_probed(hub_server: HubServer) -> None:
    hub_server.add_repo("org/m", {"config.json": b'{"a": 1}'})
    body = {"sha": None, "siblings": [{"rfilename": "config.json"}]}  # no ?blobs=true sizes

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/"):
            return httpx.Response(200, json=body)
        with httpx.Client() as c:  # forward file reads to the real local server
            r = c.get(hub_server.url + request.url.path, headers=dict(request.headers))
            return httpx.Response(r.status_code, headers=r.headers, stream=Chunks(r.content))

    settings = HubSettings(endpoint="http://hub.test", cache_dir=Path("/nonexistent"))
    source = HuggingFaceSource(
        "hf:org/m", "org/m", "main", settings, http=FAST, transport=httpx.MockTransport(handler)
    )
    with by_path(source)["config.json"].open() as blob:
        assert blob.size == 8
        assert blob.all(8) == b'{"a": 1}'
    source.close()


def test_70b_class_repo_costs_few_requests_and_bytes(
    hub_server: HubServer, hub_options: SourceOptions, open_source: OpenSource
) -> None:
    """The provenance benchmark budget: < 20 requests and < 2 MB for a 70B-class layout."""
    files = llama70b_files()
    hub_server.add_repo("meta-llama/Meta-Llama-3-70B", files)
    source = open_source("hf:meta-llama/Meta-Llama-3-70B", hub_options)
    assert isinstance(source, HuggingFaceSource)
    openers = by_path(source)
    for name in (
        "config.json",
        "generation_config.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "model.safetensors.index.json",
    ):
        with openers[name].open() as blob:
            json.loads(blob.all(4 * 1024 * 1024))
    with openers["README.md"].open() as blob:
        blob.head(16 * 1024)
    shard = "model-00001-of-00030.safetensors"
    with openers[shard].open() as blob:
        n = int.from_bytes(blob.read(0, 8), "little")
        json.loads(blob.read(8, n))
        assert blob.size > 4 * 1024**3
    declared = sum(i.size or 0 for o in openers.values() if (i := info_of(o)) is not None)
    assert declared > 130 * 1024**3
    stats = source.stats
    print(f"70B layout: {stats.requests} requests, {stats.bytes} bytes")
    assert stats.requests < 20
    assert stats.bytes < 2 * 1024 * 1024
    assert hub_server.bytes_sent < 2 * 1024 * 1024
