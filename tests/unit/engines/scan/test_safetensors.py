"""SafetensorsAnalyzer: benign files are clean; every header inconsistency is named."""

from __future__ import annotations

import json
import struct

from modelcustoms.core import Fact, Severity
from modelcustoms.engines.scan.safetensors import SafetensorsAnalyzer
from tests.conftest import ScanFiles, rule_ids


def build_safetensors(header: dict[str, object] | str, data: bytes = b"", *, pad: int = 0) -> bytes:
    """``u64 N`` + header JSON (padded with spaces like the reference writer) + data."""
    text = header if isinstance(header, str) else json.dumps(header)
    raw = text.encode() + b" " * pad
    return struct.pack("<Q", len(raw)) + raw + data


def benign() -> bytes:
    header = {
        "__metadata__": {"format": "pt"},
        "embed.weight": {"dtype": "F16", "shape": [4, 8], "data_offsets": [0, 64]},
        "norm.weight": {"dtype": "F32", "shape": [8], "data_offsets": [64, 96]},
        "scale": {"dtype": "F8_E4M3", "shape": [16], "data_offsets": [96, 112]},
        "packed": {"dtype": "F4", "shape": [2, 16], "data_offsets": [112, 128]},
        "empty": {"dtype": "I64", "shape": [0], "data_offsets": [128, 128]},
    }
    return build_safetensors(header, b"\0" * 128, pad=5)


def _scan(scan_files: ScanFiles, data: bytes):  # type: ignore[no-untyped-def]
    return scan_files({"model.safetensors": data}, analyzers=[SafetensorsAnalyzer()])


def _facts(res) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {f.key: f.value for f in res.run.facts if isinstance(f, Fact)}


def test_benign_file_is_clean_with_facts(scan_files: ScanFiles) -> None:
    res = _scan(scan_files, benign())
    assert res.run.findings == ()
    facts = _facts(res)
    assert facts["safetensors.tensor_count"] == 5
    assert facts["safetensors.parameters"] == 32 + 8 + 16 + 32
    assert facts["safetensors.dtypes"] == {"F16": 1, "F32": 1, "F4": 1, "F8_E4M3": 1, "I64": 1}
    assert facts["safetensors.format"] == "pt" and facts["safetensors.metadata_keys"] == ["format"]


def test_duplicate_key_is_high(scan_files: ScanFiles) -> None:
    text = (
        '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
        ' "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    )
    res = _scan(scan_files, build_safetensors(text, b"\0" * 8))
    (f,) = [f for f in res.run.findings if f.rule_id == "safetensors.duplicate-key"]
    assert f.severity is Severity.HIGH


def test_overlap_is_high(scan_files: ScanFiles) -> None:
    header = {
        "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
    }
    assert "safetensors.tensor-overlap" in rule_ids(
        _scan(scan_files, build_safetensors(header, b"\0" * 24))
    )


def test_gap_and_trailing_bytes_are_hidden_data(scan_files: ScanFiles) -> None:
    header = {
        "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
        "b": {"dtype": "U8", "shape": [4], "data_offsets": [100, 104]},
    }
    res = _scan(scan_files, build_safetensors(header, b"\0" * 104 + b"trailing payload"))
    hidden = [f for f in res.run.findings if f.rule_id == "safetensors.hidden-data"]
    assert len(hidden) == 2 and all(f.severity is Severity.MEDIUM for f in hidden)


def test_size_mismatch(scan_files: ScanFiles) -> None:
    header = {"a": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4]}}
    assert rule_ids(_scan(scan_files, build_safetensors(header, b"\0" * 4))) == {
        "safetensors.size-mismatch"
    }


def test_truncated_and_out_of_bounds(scan_files: ScanFiles) -> None:
    header = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    assert rule_ids(_scan(scan_files, build_safetensors(header, b"\0" * 8))) == {
        "safetensors.truncated"
    }
    header = {
        "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        "b": {"dtype": "F32", "shape": [1], "data_offsets": [1 << 40, (1 << 40) + 4]},
    }
    ids = rule_ids(_scan(scan_files, build_safetensors(header, b"\0" * 4)))
    assert "safetensors.tensor-bounds" in ids
    header = {"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}
    assert "safetensors.tensor-bounds" in rule_ids(
        _scan(scan_files, build_safetensors(header, b"\0" * 8))
    )


def test_malformed_headers(scan_files: ScanFiles) -> None:
    cases = [
        {"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}},
        {"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
        {"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}},
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}},
        {"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}},
        {"a": [1, 2]},
        {"__metadata__": {"n": 1}},
        {"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}},  # 12 bits
    ]
    for header in cases:
        assert "safetensors.malformed" in rule_ids(
            _scan(scan_files, build_safetensors(header, b"\0" * 8))
        ), header
    for text in ['{"a": NaN}', '{"a": 1', '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"]:
        assert rule_ids(_scan(scan_files, build_safetensors(text, b""))) == {
            "safetensors.malformed"
        }, text[:20]
    bad_utf8 = struct.pack("<Q", 4) + b'{"\xff"'
    assert rule_ids(_scan(scan_files, bad_utf8 + b"\0" * 8)) == {"safetensors.malformed"}


def test_header_larger_than_100mb_is_refused_without_reading(scan_files: ScanFiles) -> None:
    data = struct.pack("<Q", 150_000_000) + b"{" + b" " * 64
    # Not sniffed as safetensors by length (it exceeds the file): feed the analyzer directly.
    from modelcustoms.artifacts.blob import BytesBlob
    from modelcustoms.core import Artifact, Format
    from modelcustoms.engines.scan import ScanContext, ScanOptions

    art = Artifact(path="x.safetensors", size=len(data), sha256="0" * 64, format=Format.SAFETENSORS)
    analyzer = SafetensorsAnalyzer()
    ctx = ScanContext(
        art, BytesBlob(data), ScanOptions(), 0, {r.id: r for r in analyzer.rules}, lambda *a: []
    )
    (f,) = list(analyzer.analyze(ctx))
    assert f.rule_id == "safetensors.header-length"  # type: ignore[union-attr]
    assert f.severity is Severity.HIGH  # type: ignore[union-attr]


def test_trailing_bytes_are_handed_to_the_engine(scan_files: ScanFiles) -> None:
    header = {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}
    res = _scan(scan_files, build_safetensors(header, b"\0" * 4 + b"\x80\x02payload."))
    paths = [a.path for a in res.artifacts]
    assert paths == ["model.safetensors", "model.safetensors!trailing-data"]
