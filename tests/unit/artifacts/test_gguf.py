"""The bounded GGUF header reader. ``build_gguf`` here is reused by the analyzer tests."""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence

import pytest

from modelcustoms.artifacts.blob import BytesBlob
from modelcustoms.artifacts.gguf import (
    GGML_TYPES,
    GGUFArray,
    GGUFLimits,
    TensorInfo,
    ValueType,
    read_gguf,
    tensor_nbytes,
)

# A metadata value for the builder: (type, python value); arrays are (ARRAY, (item type, items)).
KVSpec = tuple[str, ValueType, object]
TensorSpec = tuple[str, Sequence[int], int]


def _enc_str(s: str | bytes, wide: bool, o: str) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack(o + ("Q" if wide else "I"), len(raw)) + raw


_CODES = {
    ValueType.UINT8: "B",
    ValueType.INT8: "b",
    ValueType.UINT16: "H",
    ValueType.INT16: "h",
    ValueType.UINT32: "I",
    ValueType.INT32: "i",
    ValueType.FLOAT32: "f",
    ValueType.BOOL: "?",
    ValueType.UINT64: "Q",
    ValueType.INT64: "q",
    ValueType.FLOAT64: "d",
}


def _enc_value(vt: ValueType, v: object, wide: bool, o: str) -> bytes:
    if vt is ValueType.STRING:
        assert isinstance(v, str | bytes)
        return _enc_str(v, wide, o)
    if vt is ValueType.ARRAY:
        it, items = v  # type: ignore[misc]
        out = struct.pack(o + "I", it) + struct.pack(o + ("Q" if wide else "I"), len(items))
        if it in _CODES:
            return out + struct.pack(f"{o}{len(items)}{_CODES[it]}", *items)
        return out + b"".join(_enc_value(it, x, wide, o) for x in items)
    return struct.pack(o + _CODES[vt], v)


def build_gguf(
    kvs: Sequence[KVSpec] = (),
    tensors: Sequence[TensorSpec] = (),
    *,
    version: int = 3,
    alignment: int = 32,
    offsets: Sequence[int] | None = None,
    data: bytes | None = None,
    big_endian: bool = False,
    tensor_count: int | None = None,
    kv_count: int | None = None,
) -> bytes:
    """A GGUF file: header, metadata, tensor infos, padding and (zero) tensor data.

    Offsets default to the contiguous, aligned layout llama.cpp expects; ``data`` replaces the
    generated data section.
    """
    o = ">" if big_endian else "<"
    wide = version >= 2
    cnt = "Q" if wide else "I"
    out = bytearray(b"GGUF" + struct.pack(o + "I", version))
    out += struct.pack(o + cnt, len(tensors) if tensor_count is None else tensor_count)
    out += struct.pack(o + cnt, len(kvs) if kv_count is None else kv_count)
    for key, vt, v in kvs:
        out += _enc_str(key, wide, o) + struct.pack(o + "I", vt) + _enc_value(vt, v, wide, o)
    sizes = []
    for _name, dims, gt in tensors:
        t = GGML_TYPES[gt]
        n = 1
        for d in dims:
            n *= d
        sizes.append(n // t.block_size * t.type_size)
    if offsets is None:
        offs, pos = [], 0
        for s in sizes:
            offs.append(pos)
            pos += -(-s // alignment) * alignment
        offsets = offs
    for (name, dims, gt), off in zip(tensors, offsets, strict=True):
        out += _enc_str(name, wide, o) + struct.pack(o + "I", len(dims))
        out += b"".join(struct.pack(o + ("Q" if wide else "I"), d) for d in dims)
        out += struct.pack(o + "IQ", gt, off)
    out += b"\0" * (-len(out) % alignment)
    if data is None:
        end = max(
            (off + -(-s // alignment) * alignment for off, s in zip(offsets, sizes, strict=True)),
            default=0,
        )
        data = b"\0" * end
    return bytes(out + data)


def _read(data: bytes, **kw: object):  # type: ignore[no-untyped-def]
    return read_gguf(BytesBlob(data), GGUFLimits(**kw))  # type: ignore[arg-type]


def test_reads_header_kvs_and_tensors() -> None:
    data = build_gguf(
        [
            ("general.architecture", ValueType.STRING, "llama"),
            ("general.alignment", ValueType.UINT32, 64),
            ("llama.block_count", ValueType.UINT32, 2),
            ("x.f", ValueType.FLOAT32, 0.5),
            ("x.b", ValueType.BOOL, True),
            ("x.i64", ValueType.INT64, -3),
            ("x.arr", ValueType.ARRAY, (ValueType.INT32, [1, 2, 3])),
            (
                "x.nested",
                ValueType.ARRAY,
                (ValueType.ARRAY, [(ValueType.UINT8, [1]), (ValueType.STRING, ["a"])]),
            ),
        ],
        [("tok_embd.weight", (64, 4), 0), ("blk.0.q", (256, 2), 12)],
        alignment=64,
    )
    g = _read(data)
    assert g.error is None and g.complete
    assert g.header is not None and g.header.version == 3 and g.header.byte_order == "little"
    assert g.get("general.architecture") == "llama"
    assert g.get("x.f") == 0.5 and g.get("x.b") is True and g.get("x.i64") == -3
    arr = g.get("x.arr")
    assert isinstance(arr, GGUFArray) and arr.items == (1, 2, 3) and arr.complete and arr.digest
    nested = g.get("x.nested")
    assert isinstance(nested, GGUFArray) and nested.count == 2
    assert isinstance(nested.items[1], GGUFArray) and nested.items[1].items == ("a",)
    assert g.alignment == 64 and g.data_start is not None and g.data_start % 64 == 0
    assert [t.name for t in g.tensors] == ["tok_embd.weight", "blk.0.q"]
    assert g.tensors[1].dims == (256, 2) and g.tensors[1].offset == 1024
    assert tensor_nbytes(g.tensors[1]) == 2 * 144


@pytest.mark.parametrize("version", [1, 2])
def test_older_versions(version: int) -> None:
    data = build_gguf([("general.name", ValueType.STRING, "m")], [("w", (32,), 0)], version=version)
    g = _read(data)
    assert g.error is None and g.header is not None and g.header.version == version
    assert g.get("general.name") == "m" and g.tensors[0].dims == (32,)


def test_big_endian_is_detected_and_read() -> None:
    data = build_gguf([("general.name", ValueType.STRING, "be")], [("w", (8,), 0)], big_endian=True)
    g = _read(data)
    assert g.error is None and g.header is not None and g.header.byte_order == "big"
    assert g.get("general.name") == "be" and g.tensors[0].dims == (8,)


def test_bad_magic_and_version() -> None:
    assert _read(b"GGML....").error is not None
    g = _read(b"GGUF" + struct.pack("<I", 9) + b"\0" * 16)
    assert g.error is not None and g.error.kind == "unsupported"


def test_huge_counts_and_lengths_fail_fast_without_allocation() -> None:
    start = time.perf_counter()
    # A billion-entry array of strings in a tiny file.
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 3) + b"arr"
    g = _read(head + struct.pack("<IIQ", 9, 8, 10**9))
    assert g.error is not None and g.error.kind == "truncated"
    # A 20 GB string length.
    g = _read(head[:-11] + struct.pack("<Q", 3) + b"str" + struct.pack("<IQ", 8, 20 * 1024**3))
    assert g.error is not None and "bytes" in g.error.message
    # Billion tensor infos / kvs.
    g = _read(b"GGUF" + struct.pack("<IQQ", 3, 10**9, 0) + b"\0" * 64)
    assert g.error is not None and g.error.kind in {"truncated", "limit"}
    g = _read(b"GGUF" + struct.pack("<IQQ", 3, 0, 2**64 - 1))
    assert g.error is not None and g.error.kind == "limit"
    assert time.perf_counter() - start < 3.0


def test_limits_are_structured_errors() -> None:
    data = build_gguf([("k", ValueType.STRING, "x" * 100)])
    g = _read(data, max_string_bytes=10)
    assert g.error is not None and g.error.kind == "limit" and g.kvs == []
    deep = (ValueType.ARRAY, [(ValueType.ARRAY, [(ValueType.ARRAY, [(ValueType.UINT8, [1])])])])
    g = _read(build_gguf([("d", ValueType.ARRAY, deep)]), max_array_depth=2)
    assert g.error is not None and g.error.kind == "limit"


def test_keeps_partial_results_on_error() -> None:
    data = build_gguf([("a", ValueType.UINT8, 1), ("b", ValueType.STRING, "hello" * 20)])
    g = _read(data[: 24 + 14 + 40])
    assert g.error is not None and [kv.key for kv in g.kvs] == ["a"]


def test_too_many_dims_and_bad_alignment() -> None:
    g = _read(build_gguf([], [("w", (1, 1, 1, 1, 1), 0)]))
    assert g.error is not None and "dimensions" in g.error.message
    g = _read(build_gguf([("general.alignment", ValueType.UINT32, 24)]))
    assert g.error is not None and "alignment" in g.error.message


def test_large_token_arrays_parse_fast_and_are_kept_short() -> None:
    tokens = [f"tok{i}" for i in range(150_000)]
    merges = [f"t{i} k{i}" for i in range(150_000)]
    data = build_gguf(
        [
            ("tokenizer.ggml.tokens", ValueType.ARRAY, (ValueType.STRING, tokens)),
            ("tokenizer.ggml.merges", ValueType.ARRAY, (ValueType.STRING, merges)),
            ("tokenizer.ggml.scores", ValueType.ARRAY, (ValueType.FLOAT32, [0.0] * 150_000)),
        ]
    )
    start = time.perf_counter()
    g = _read(data)
    elapsed = time.perf_counter() - start
    assert g.error is None
    toks = g.get("tokenizer.ggml.tokens")
    assert (
        isinstance(toks, GGUFArray) and toks.count == 150_000 and toks.items[:2] == ("tok0", "tok1")
    )
    assert len(toks.items) == 64 and not toks.complete and toks.digest
    scores = g.get("tokenizer.ggml.scores")
    assert isinstance(scores, GGUFArray) and scores.count == 150_000
    assert elapsed < 3.0, elapsed


def test_tensor_nbytes() -> None:
    assert tensor_nbytes(TensorInfo("w", (4096, 2), 0, 0, 0)) == 4096 * 2 * 4
    assert tensor_nbytes(TensorInfo("w", (100,), 12, 0, 0)) is None  # not a whole Q4_K block
    assert tensor_nbytes(TensorInfo("w", (512,), 34, 0, 0)) == 2 * 54  # TQ1_0
    assert tensor_nbytes(TensorInfo("w", (64,), 999, 0, 0)) is None
