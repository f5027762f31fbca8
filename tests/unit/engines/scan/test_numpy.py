"""NumPy .npy files: header parsing, object arrays, sizes."""

from __future__ import annotations

import io
import struct

import pytest

from modelcustoms.core import Format, Severity
from modelcustoms.engines.scan import ScanOptions, ScanResult
from modelcustoms.engines.scan.numpy import NumpyAnalyzer, itemsize
from tests.conftest import ScanFiles, rule_ids

PICKLE = b"\x80\x03cnumpy.core.multiarray\n_reconstruct\nq\x00."


def npy(header: str, data: bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    """A .npy file with ``header`` (a dict literal) padded as numpy pads it."""
    prefix = 10 if version[0] == 1 else 12
    raw = header.encode("latin-1")
    pad = -(prefix + len(raw) + 1) % 64
    raw += b" " * pad + b"\n"
    fmt = "<H" if version[0] == 1 else "<I"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(raw)) + raw + data


def _scan(scan_files: ScanFiles, data: bytes) -> ScanResult:
    return scan_files({"a.npy": data}, analyzers=[NumpyAnalyzer()], options=ScanOptions(jobs=1))


def _hdr(descr: str, shape: str) -> str:
    return f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}"


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_plain_array_is_clean(scan_files: ScanFiles, version: tuple[int, int]) -> None:
    result = _scan(scan_files, npy(_hdr("'<f4'", "(2, 3)"), b"\0" * 24, version))
    assert result.run.findings == ()
    facts = {f.key: f.value for f in result.run.facts}
    assert facts["numpy.shape"] == [2, 3]


def test_object_dtype_submits_the_pickle(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, npy(_hdr("'|O'", "(1,)"), PICKLE))
    assert "numpy.object-dtype" in rule_ids(result)
    member = next(a for a in result.artifacts if a.path == "a.npy!pickle")
    assert member.format is Format.PICKLE


def test_object_field_in_structured_dtype(scan_files: ScanFiles) -> None:
    header = _hdr("[('a', '<i4'), ('b', [('c', '|O')])]", "(1,)")
    assert "numpy.object-dtype" in rule_ids(_scan(scan_files, npy(header, PICKLE)))


@pytest.mark.parametrize(
    ("data_len", "expected"), [(23, "truncated"), (30, "after the array data")]
)
def test_size_mismatch(scan_files: ScanFiles, data_len: int, expected: str) -> None:
    result = _scan(scan_files, npy(_hdr("'<f4'", "(2, 3)"), b"\0" * data_len))
    found = [f for f in result.run.findings if f.rule_id == "numpy.size-mismatch"]
    assert len(found) == 1
    assert expected in found[0].message
    assert found[0].severity is Severity.MEDIUM


def test_trailing_data_is_scanned(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, npy(_hdr("'<f4'", "(1,)"), b"\0" * 4 + PICKLE))
    assert "a.npy!trailing-data" in {a.path for a in result.artifacts}


@pytest.mark.parametrize(
    "header",
    [
        "{'descr': '<f4'}",
        "__import__('os').system('echo pwned')",
        "{'descr': '<f4', 'fortran_order': 'no', 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
        "{'descr': 'not a type', 'fortran_order': False, 'shape': (1,)}",
        "[" * 5000 + "]" * 5000,
    ],
)
def test_malformed_headers(scan_files: ScanFiles, header: str) -> None:
    result = _scan(scan_files, npy(header, b"\0" * 4))
    assert "numpy.malformed" in rule_ids(result)
    assert "scan.analyzer-error" not in rule_ids(result)


def test_bad_version_and_lengths(scan_files: ScanFiles) -> None:
    assert "numpy.malformed" in rule_ids(_scan(scan_files, b"\x93NUMPY\x09\x00\x10\x00{}"))
    huge = b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + b"{}"
    assert "numpy.malformed" in rule_ids(_scan(scan_files, huge))


def test_long_header_is_noted(scan_files: ScanFiles) -> None:
    header = _hdr("'<f4'", "(1,)") + " " * 20_000
    result = _scan(scan_files, npy(header, b"\0" * 4))
    assert "numpy.malformed" in rule_ids(result)


@pytest.mark.parametrize(
    ("descr", "size"),
    [("<f8", 8), ("|b1", 1), ("<U10", 40), ("|S3", 3), ("<M8[ns]", 8), ("<c16", 16),
     ([("a", "<i4"), ("b", "<f8", (2, 2))], 36), ("?", 1), ("<x", None)],
)  # fmt: skip
def test_itemsize(descr: object, size: int | None) -> None:
    assert itemsize(descr) == size


def test_real_numpy_files(scan_files: ScanFiles) -> None:
    np = pytest.importorskip("numpy")
    arrays = {
        "f.npy": np.arange(12, dtype=np.float32).reshape(3, 4),
        "s.npy": np.zeros(3, dtype=[("x", "<i2"), ("y", "U5", (2,))]),
        "t.npy": np.array(["2020-01-01"], dtype="datetime64[D]"),
        "e.npy": np.zeros((0, 5)),
        "o.npy": np.array([{"a": 1}, None], dtype=object),
    }
    files = {}
    for name, arr in arrays.items():
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=True)
        files[name] = buf.getvalue()
    result = scan_files(files, analyzers=[NumpyAnalyzer()], options=ScanOptions(jobs=1))
    by_artifact = {(f.evidence[0].location.artifact, f.rule_id) for f in result.run.findings}
    assert by_artifact == {("o.npy", "numpy.object-dtype")}
