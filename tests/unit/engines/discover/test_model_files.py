"""safetensors and ONNX files on disk become model references, named by the strongest evidence."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from modelcustoms.core.references import ReferenceKind, Via
from modelcustoms.engines.discover import DiscoverEngine


def _safetensors(meta: dict[str, str] | None = None) -> bytes:
    header: dict[str, object] = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    if meta is not None:
        header["__metadata__"] = meta
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * 8


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _onnx(props: dict[str, str]) -> bytes:
    out = _varint(1 << 3) + _varint(8)  # ir_version
    out += _len_field(2, b"pytorch")
    out += _len_field(7, _len_field(2, b"main_graph"))
    for k, v in props.items():
        out += _len_field(14, _len_field(1, k.encode()) + _len_field(2, v.encode()))
    return out


def _refs(root: Path) -> dict[str, tuple[str | None, Via, str | None, str | None]]:
    result = DiscoverEngine().run(root)
    return {
        r.file: (r.model, r.via, r.publisher_country, r.unresolved)
        for r in result.references
        if r.kind is ReferenceKind.MODEL_FILE
    }


def test_metadata_then_config_then_folder_name(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.safetensors").write_bytes(
        _safetensors({"base_model": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"})
    )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "model.safetensors").write_bytes(_safetensors({"format": "pt"}))
    (tmp_path / "b" / "config.json").write_text(json.dumps({"_name_or_path": "THUDM/glm-4-9b"}))
    (tmp_path / "models" / "Qwen2.5-0.5B-Instruct").mkdir(parents=True)
    (tmp_path / "models" / "Qwen2.5-0.5B-Instruct" / "model.safetensors").write_bytes(
        _safetensors()
    )
    refs = _refs(tmp_path)
    assert refs["a/model.safetensors"][:3] == (
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
        Via.FILE_HEADER,
        "CN",
    )
    assert refs["b/model.safetensors"][:3] == ("THUDM/glm-4-9b", Via.CONFIG_KEY, "CN")
    name, via, country, _ = refs["models/Qwen2.5-0.5B-Instruct/model.safetensors"]
    assert (name, via, country) == ("Qwen2.5-0.5B-Instruct", Via.FILE_NAME, "CN")


def test_shards_are_one_reference_and_the_hub_cache_names_its_model(tmp_path: Path) -> None:
    snap = tmp_path / "models--Qwen--Qwen2.5-7B" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    for i in (1, 2, 3):
        (snap / f"model-0000{i}-of-00003.safetensors").write_bytes(_safetensors())
    refs = _refs(tmp_path)
    assert len(refs) == 1
    ((file, (model, via, country, _)),) = refs.items()
    assert file.endswith("model-00001-of-00003.safetensors")
    assert (model, via, country) == ("Qwen/Qwen2.5-7B", Via.FILE_NAME, "CN")


def test_onnx_metadata_props_name_the_model(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "model.onnx").write_bytes(
        _onnx({"model_name": "BAAI/bge-small-zh-v1.5", "other": "x"})
    )
    refs = _refs(tmp_path)
    assert refs["export/model.onnx"][:3] == ("BAAI/bge-small-zh-v1.5", Via.FILE_HEADER, "CN")


def test_an_anonymous_file_is_reported_with_why_it_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(_safetensors())
    model, via, country, why = _refs(tmp_path)["model.safetensors"]
    assert (model, via, country) == ("model", Via.FILE_NAME, None)
    assert why


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("model.safetensors", b"not a safetensors file at all"),
        ("model.safetensors", struct.pack("<Q", 10**12) + b"{"),
        ("model.onnx", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
    ],
)
def test_hostile_files_never_crash_the_run(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    result = DiscoverEngine().run(tmp_path)
    assert result.run.status is not None
    assert all(r.kind is not ReferenceKind.MODEL_FILE or r.model for r in result.references)
