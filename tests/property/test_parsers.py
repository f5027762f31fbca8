"""Hypothesis over the parsers, through the real engine: any bytes → findings or skips, no crash.

Opt-in (``pytest -m property``): the default run keeps to deterministic tests.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelcustoms.artifacts.blob import BytesBlob, Opener
from modelcustoms.engines.scan import ScanEngine, ScanOptions

pytestmark = pytest.mark.property

ENGINE = ScanEngine(ScanOptions(jobs=1, render_templates=False, max_pickle_ops=200_000))

PREFIXES = [
    b"",
    b"\x80\x04\x95",  # pickle protocol 4 with a frame
    b"c",  # protocol-0 GLOBAL
    b"PK\x03\x04",
    b"GGUF\x03\x00\x00\x00",
    b"\x93NUMPY\x01\x00",
    b"\x89HDF\r\n\x1a\n",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b\x08\x00",
    b"\xfd7zXZ\x00",
    b"\x08\x07\x12\x07pytorch",  # protobuf-looking (ONNX ir_version, producer)
]


def _scan(data: bytes) -> list[str]:
    result = ENGINE.run([Opener("fuzz.bin", lambda: BytesBlob(data))])
    return [f.message for f in result.run.findings if f.rule_id == "scan.analyzer-error"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=4096))
def test_any_bytes_after_a_magic_never_crash(prefix: bytes, body: bytes) -> None:
    assert _scan(prefix + body) == []


@settings(max_examples=200, deadline=None)
@given(
    header_len=st.integers(min_value=0, max_value=2**64 - 1),
    header=st.binary(max_size=512),
    tail=st.binary(max_size=512),
)
def test_safetensors_like_headers_never_crash(header_len: int, header: bytes, tail: bytes) -> None:
    data = struct.pack("<Q", header_len) + b"{" + header + tail
    assert _scan(data) == []


@settings(max_examples=200, deadline=None)
@given(
    version=st.integers(min_value=0, max_value=5),
    n_tensors=st.integers(min_value=0, max_value=2**64 - 1),
    n_kv=st.integers(min_value=0, max_value=2**64 - 1),
    body=st.binary(max_size=2048),
)
def test_gguf_headers_never_crash(version: int, n_tensors: int, n_kv: int, body: bytes) -> None:
    data = b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv) + body
    assert _scan(data) == []
