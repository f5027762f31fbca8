"""The protobuf wire reader and ONNX/SavedModel detection.

Also home of the tiny protobuf *encoder* the ONNX and SavedModel tests build samples with.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from modelcustoms.artifacts.blob import BytesBlob, FileBlob
from modelcustoms.artifacts.protobuf import (
    LEN,
    VARINT,
    ProtobufError,
    WireReader,
    classify,
)
from modelcustoms.artifacts.sniff import sniff
from modelcustoms.core import Format

# -- encoder (test helper) ---------------------------------------------------------------------


def varint(n: int) -> bytes:
    """Encode a non-negative integer (negative ones as 64-bit two's complement, like protobuf)."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_int(number: int, value: int) -> bytes:
    """A varint field."""
    return varint(number << 3 | 0) + varint(value)


def f_bytes(number: int, value: bytes | str) -> bytes:
    """A length-delimited field (string, bytes or submessage)."""
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def f_fixed32(number: int, value: float) -> bytes:
    return varint(number << 3 | 5) + struct.pack("<f", value)


def f_fixed64(number: int, value: int) -> bytes:
    return varint(number << 3 | 1) + struct.pack("<Q", value)


def msg(*parts: bytes) -> bytes:
    return b"".join(parts)


# -- minimal format builders used by the detection tests -----------------------------------------


def _onnx_minimal() -> bytes:
    node = msg(f_bytes(1, "x"), f_bytes(2, "y"), f_bytes(3, "relu0"), f_bytes(4, "Relu"))
    graph = msg(f_bytes(1, node), f_bytes(2, "g"))
    return msg(f_int(1, 8), f_bytes(2, "pytorch"), f_bytes(7, graph), f_bytes(8, f_int(2, 17)))


def _saved_model_minimal() -> bytes:
    node = msg(f_bytes(1, "x"), f_bytes(2, "Placeholder"))
    meta = msg(f_bytes(1, f_bytes(4, "serve")), f_bytes(2, f_bytes(1, node)))
    return msg(f_int(1, 1), f_bytes(2, meta))


# -- reader ------------------------------------------------------------------------------------


def test_reads_every_wire_type() -> None:
    data = msg(f_int(1, 300), f_fixed64(2, 7), f_bytes(3, b"abc"), f_fixed32(4, 1.5), f_int(5, -1))
    r = WireReader(BytesBlob(data))
    fields = list(r.fields(0, len(data)))
    assert [(f.number, f.wire) for f in fields] == [(1, 0), (2, 1), (3, 2), (4, 5), (5, 0)]
    assert fields[0].value == 300
    assert fields[1].value == 7
    assert r.payload(fields[2], 10) == b"abc"
    assert fields[4].value == (1 << 64) - 1


def test_payloads_are_offsets_not_copies() -> None:
    big = b"\0" * 100_000
    data = msg(f_bytes(9, big), f_bytes(8, "name"))
    r = WireReader(BytesBlob(data))
    raw, name = list(r.fields(0, len(data)))
    assert raw.value == len(big) and raw.end == raw.offset + len(big)
    assert r.string(name) == "name"
    assert r.payload(raw, 4) == b"\0\0\0\0"


@pytest.mark.parametrize(
    "data",
    [
        b"\x0a\x05ab",  # length past the end
        b"\x08" + b"\xff" * 11,  # varint longer than 10 bytes
        b"\x08",  # varint cut
        b"\x00\x01",  # field number 0
        b"\x0e\x00",  # wire type 6
        b"\x0c",  # end-group without start
        b"\x0d\x00\x00",  # fixed32 cut
    ],
)
def test_malformed_raises(data: bytes) -> None:
    r = WireReader(BytesBlob(data))
    with pytest.raises(ProtobufError):
        list(r.fields(0, len(data)))


def test_groups_skipped_like_unknown_fields() -> None:
    # field 1 group { field 2 varint 1, nested group 3 {} }, then field 4 varint.
    data = b"\x0b\x10\x01\x1b\x1c\x0c" + f_int(4, 9)
    r = WireReader(BytesBlob(data))
    fields = list(r.fields(0, len(data)))
    assert [(f.number, f.wire) for f in fields] == [(1, 3), (4, VARINT)]
    with pytest.raises(ProtobufError):
        list(r.fields(0, len(data), groups=False))


def test_unknown_fields_do_not_hide_a_format() -> None:
    # Real parsers keep unknown fields and groups; adding one must not evade detection.
    junk = f_bytes(99, b"junk") + b"\xa3\x06\x08\x01\xa4\x06"  # LEN field 99, group 100
    onnx = _onnx_minimal() + junk
    sm = _saved_model_minimal() + junk
    assert classify(BytesBlob(onnx), onnx, None) is Format.ONNX
    assert classify(BytesBlob(sm), sm, None) is Format.SAVEDMODEL


def test_ambiguous_shapes_follow_the_loader_name() -> None:
    onnx_graph = f_bytes(1, msg(f_bytes(4, "Relu")))
    both = _saved_model_minimal() + f_bytes(7, onnx_graph)
    assert classify(BytesBlob(both), both, ".pb") is Format.SAVEDMODEL
    assert classify(BytesBlob(both), both, ".onnx") is Format.ONNX


def test_mismatched_group_end_raises() -> None:
    data = b"\x0b\x14"  # start group 1, end group 2
    with pytest.raises(ProtobufError):
        list(WireReader(BytesBlob(data)).fields(0, len(data), groups=True))


def test_submessage_bounds_enforced() -> None:
    inner = f_bytes(1, b"abcdef")
    data = f_bytes(2, inner)
    r = WireReader(BytesBlob(data))
    (outer,) = r.fields(0, len(data))
    assert outer.wire == LEN
    # A field inside the submessage may not run past the submessage's end.
    with pytest.raises(ProtobufError):
        list(r.fields(outer.offset, outer.end - 1))
    with pytest.raises(ProtobufError):
        list(r.fields(0, len(data) + 5))


def test_file_blob_reads_through_window(tmp_path: Path) -> None:
    parts = [f_bytes(1, os.urandom(50)) for _ in range(5000)]
    data = msg(*parts)
    p = tmp_path / "x.pb"
    p.write_bytes(data)
    with FileBlob(p) as blob:
        r = WireReader(blob, window=4096)
        fields = list(r.fields(0, blob.size))
    assert len(fields) == 5000


# -- detection ---------------------------------------------------------------------------------


def test_classify_onnx_and_savedmodel() -> None:
    onnx = _onnx_minimal()
    sm = _saved_model_minimal()
    assert classify(BytesBlob(onnx), onnx[:4096], None) is Format.ONNX
    assert classify(BytesBlob(sm), sm[:4096], None) is Format.SAVEDMODEL
    # Names do not override content.
    assert classify(BytesBlob(onnx), onnx[:4096], ".pb") is Format.ONNX
    assert classify(BytesBlob(sm), sm[:4096], ".onnx") is Format.SAVEDMODEL


def test_classify_graphdef_and_keras_metadata() -> None:
    node = msg(f_bytes(1, "input"), f_bytes(2, "Placeholder"))
    graph_def = msg(f_bytes(1, node), f_bytes(4, f_int(1, 1286)))
    assert classify(BytesBlob(graph_def), graph_def, None) is Format.SAVEDMODEL
    obj = msg(f_bytes(3, "root"), f_bytes(4, "_tf_keras_sequential"), f_bytes(5, "{}"))
    meta = f_bytes(1, obj)
    assert classify(BytesBlob(meta), meta, "keras_metadata.pb") is Format.SAVEDMODEL


def test_classify_rejects_fingerprint_and_other_protobufs() -> None:
    fingerprint = msg(*(f_int(i, 1234567 * i) for i in range(1, 6)), f_bytes(6, f_int(1, 1)))
    assert classify(BytesBlob(fingerprint), fingerprint, ".pb") is None
    other = msg(f_bytes(3, "hello"), f_int(9, 1))
    assert classify(BytesBlob(other), other, None) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world, this is text\n",
        b'{"a": 1}',
        os.urandom(4096),
        b"\x00" * 64,
        b"\xff" * 64,
    ],
)
def test_classify_rejects_non_protobuf(data: bytes) -> None:
    assert classify(BytesBlob(data), data[:4096], ".onnx") is None


def test_hint_breaks_ties_only() -> None:
    # An ONNX-shaped message without a parsable graph: only the name makes it ONNX.
    weak = msg(f_int(1, 8), f_bytes(8, b"\xff\xff"))
    assert classify(BytesBlob(weak), weak, None) is None
    assert classify(BytesBlob(weak), weak, ".onnx") is Format.ONNX


def test_sniff_dispatches_through_classify() -> None:
    assert sniff(BytesBlob(_onnx_minimal()), ".onnx") is Format.ONNX
    assert sniff(BytesBlob(_saved_model_minimal()), ".pb") is Format.SAVEDMODEL


def test_real_onnx_serialisation_is_detected() -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, producer_name="test")
    data = model.SerializeToString()
    assert isinstance(onnx.ModelProto.FromString(data), onnx.ModelProto)
    assert classify(BytesBlob(data), data[:4096], None) is Format.ONNX
