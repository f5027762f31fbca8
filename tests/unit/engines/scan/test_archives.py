"""Container analyzers through the real engine: zip, tar, compressed streams, 7z."""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import io
import lzma
import tarfile
import time
import zipfile
import zlib

import pytest

from modelcustoms.core import Format, Severity
from modelcustoms.engines.scan import ScanOptions, ScanResult
from modelcustoms.engines.scan.archives import (
    CompressedAnalyzer,
    SevenZipAnalyzer,
    TarAnalyzer,
    ZipAnalyzer,
    inner_name,
)
from tests.conftest import ScanFiles, rule_ids
from tests.unit.artifacts.test_zipfmt import M, build_zip

PICKLE = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01K\x02\x86\x94."


def analyzers() -> list[object]:
    return [ZipAnalyzer(), TarAnalyzer(), CompressedAnalyzer(), SevenZipAnalyzer()]


def _scan(scan_files: ScanFiles, files: dict[str, bytes], **opts: object) -> ScanResult:
    options = ScanOptions(jobs=1, **opts)  # type: ignore[arg-type]
    return scan_files(files, analyzers=analyzers(), options=options)


def _paths(result: ScanResult) -> dict[str, Format]:
    return {a.path: a.format for a in result.artifacts}


def _high(result: ScanResult) -> list[str]:
    return [f.rule_id for f in result.run.findings if f.severity >= Severity.HIGH]


def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tar(members: list[tarfile.TarInfo], payloads: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for info in members:
            data = (payloads or {}).get(info.name)
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return buf.getvalue()


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


# -- zip ------------------------------------------------------------------------------------


def test_plain_zip_members_are_submitted(scan_files: ScanFiles) -> None:
    data = _zip({"model/weights.pkl": PICKLE, "model/readme.txt": b"hello", "model/": b""})
    result = _scan(scan_files, {"m.zip": data})
    paths = _paths(result)
    assert paths["m.zip"] is Format.ZIP
    assert paths["m.zip!model/weights.pkl"] is Format.PICKLE
    assert "m.zip!model/readme.txt" in paths
    assert "m.zip!model/" not in paths
    assert _high(result) == []


def test_npz_members_are_submitted(scan_files: ScanFiles) -> None:
    npy = (
        b"\x93NUMPY\x01\x00"
        + b"v\x00"
        + b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    )
    npy = npy.ljust(10 + 118, b" ")[:-1] + b"\n" + b"\0" * 8
    result = _scan(scan_files, {"a.npz": _zip({"x.npy": npy, "y.npy": npy})})
    paths = _paths(result)
    assert paths["a.npz"] is Format.NUMPY_NPZ
    assert paths["a.npz!x.npy"] is Format.NUMPY
    assert _high(result) == []


def test_name_mismatch_is_parser_confusion(scan_files: ScanFiles) -> None:
    data = build_zip([M("a.txt", b"hello", local_name="b.txt")])
    assert "zip.parser-confusion" in rule_ids(_scan(scan_files, {"x.zip": data}))


def test_bad_crc_member_is_still_scanned(scan_files: ScanFiles) -> None:
    data = build_zip([M("payload.pkl", PICKLE, crc=0xDEADBEEF)])
    result = _scan(scan_files, {"x.zip": data})
    assert "zip.bad-crc" in rule_ids(result)
    assert _paths(result)["x.zip!payload.pkl"] is Format.PICKLE


def test_prefix_is_scanned_as_a_member(scan_files: ScanFiles) -> None:
    data = build_zip([M("a.txt", b"hello")], prefix=PICKLE)
    result = _scan(scan_files, {"x.zip": data})
    assert "zip.extra-data" in _high(result)
    assert _paths(result)["x.zip![prefix]"] is Format.PICKLE


def test_trailing_data_is_medium(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, {"x.zip": build_zip([M("a.txt", b"hi")], trailing=b"junk")})
    found = [f for f in result.run.findings if f.rule_id == "zip.extra-data"]
    assert [f.severity for f in found] == [Severity.MEDIUM]
    assert "x.zip![trailing]" in _paths(result)


def test_tar_ending_with_a_zip_keeps_its_other_members_scanned(scan_files: ScanFiles) -> None:
    # Sniffing may take a tar whose tail holds a zip's end record for a zip.
    inner = _zip({"a.txt": b"hello"})
    data = _tar([_file("inner.zip"), _file("later.pkl")], {"inner.zip": inner, "later.pkl": PICKLE})
    result = _scan(scan_files, {"x.tar": data})
    paths = _paths(result)
    assert any(p.endswith("later.pkl") and f is Format.PICKLE for p, f in paths.items())
    assert _high(result) == []


def test_traversal_name(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, {"x.zip": build_zip([M("../../evil.txt", b"hi")])})
    assert "zip.path-traversal" in _high(result)


def test_unsupported_method(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, {"x.zip": build_zip([M("a", b"x", method=9)])})
    assert "zip.unsupported" in rule_ids(result)


def test_not_a_listable_zip_is_malformed(scan_files: ScanFiles) -> None:
    data = b"PK\x03\x04" + b"\0" * 100
    result = _scan(scan_files, {"x.zip": data})
    if _paths(result)["x.zip"] is Format.ZIP:
        assert "zip.malformed" in rule_ids(result)


def test_declared_ratio_bomb_is_not_decompressed(scan_files: ScanFiles) -> None:
    data = _zip({"zeros.bin": b"\0" * 40_000_000})
    started = time.perf_counter()
    result = _scan(scan_files, {"x.zip": data})
    assert "archive.bomb" in rule_ids(result)
    assert "x.zip!zeros.bin" not in _paths(result)
    assert time.perf_counter() - started < 10


def test_lying_sizes_are_stopped_by_the_ratio_guard(scan_files: ScanFiles) -> None:
    data = build_zip([M("zeros.bin", b"\0" * 40_000_000, method=8, size=100)])
    result = _scan(scan_files, {"x.zip": data})
    assert "archive.bomb" in rule_ids(result)


def test_nested_zip_bomb_stops_quickly(scan_files: ScanFiles) -> None:
    # A 42.zip in miniature: 10 x 10 x 10 leaves of 20 MB of zeros each (20 GB in all).
    layer = _zip({f"{i}.bin": b"\0" * 20_000_000 for i in range(10)})
    for depth in range(2):
        layer = _zip({f"l{depth}-{i}.zip": layer for i in range(10)}, zipfile.ZIP_STORED)
    started = time.perf_counter()
    result = _scan(scan_files, {"42.zip": layer})
    assert "archive.bomb" in rule_ids(result)
    assert time.perf_counter() - started < 20


def test_many_members_stop_at_the_limit(scan_files: ScanFiles) -> None:
    data = _zip({f"f{i}": b"x" for i in range(50)}, zipfile.ZIP_STORED)
    result = _scan(scan_files, {"x.zip": data}, max_members=10)
    assert "archive.bomb" in rule_ids(result)


# -- tar ------------------------------------------------------------------------------------


def test_tar_members_are_submitted(scan_files: ScanFiles) -> None:
    data = _tar(
        [_file("dir/model.pkl"), _file("dir/a.txt")], {"dir/model.pkl": PICKLE, "dir/a.txt": b"hi"}
    )
    result = _scan(scan_files, {"m.tar": data})
    paths = _paths(result)
    assert paths["m.tar"] is Format.TAR
    assert paths["m.tar!dir/model.pkl"] is Format.PICKLE
    assert _high(result) == []


@pytest.mark.parametrize(
    ("member", "severity"),
    [
        (_link("a/link", "../../../etc/passwd"), Severity.HIGH),
        (_link("link", "/etc/passwd"), Severity.HIGH),
        (_link("hard", "../outside", tarfile.LNKTYPE), Severity.HIGH),
        (_link("a/link", "../b.txt"), Severity.LOW),
    ],
)
def test_tar_links(scan_files: ScanFiles, member: tarfile.TarInfo, severity: Severity) -> None:
    result = _scan(scan_files, {"x.tar": _tar([member])})
    found = [f for f in result.run.findings if f.rule_id == "tar.link"]
    assert [f.severity for f in found] == [severity]


def test_tar_traversal_and_devices(scan_files: ScanFiles) -> None:
    dev = tarfile.TarInfo("dev/null")
    dev.type = tarfile.CHRTYPE
    data = _tar([_file("../evil.sh"), dev], {"../evil.sh": b"echo pwned"})
    ids = rule_ids(_scan(scan_files, {"x.tar": data}))
    assert {"tar.path-traversal", "tar.special-file"} <= ids


def test_tar_truncated_is_malformed(scan_files: ScanFiles) -> None:
    data = _tar([_file("big.bin")], {"big.bin": b"x" * 10_000})
    result = _scan(scan_files, {"x.tar": data[:2048]})
    assert "tar.malformed" in rule_ids(result)


def test_tar_hidden_data_after_end(scan_files: ScanFiles) -> None:
    data = _tar([_file("a.txt")], {"a.txt": b"hi"}) + PICKLE * 40
    assert "tar.malformed" in rule_ids(_scan(scan_files, {"x.tar": data}))


# -- compressed streams ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "compress", "fmt"),
    [
        ("m.pkl.gz", gzip.compress, Format.GZIP),
        ("m.pkl.bz2", bz2.compress, Format.BZIP2),
        ("m.pkl.xz", lzma.compress, Format.XZ),
        ("m.pkl.lzma", lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE), Format.LZMA),
        ("m.pkl.z", zlib.compress, Format.ZLIB),
    ],
)
def test_compressed_streams(scan_files: ScanFiles, name: str, compress, fmt: Format) -> None:  # type: ignore[no-untyped-def]
    result = _scan(scan_files, {name: compress(PICKLE * 50)})
    paths = _paths(result)
    assert paths[name] is fmt
    assert paths[f"{name}!m.pkl"] is Format.PICKLE
    assert _high(result) == []
    assert "compressed.malformed" not in rule_ids(result)


def test_multi_member_gzip(scan_files: ScanFiles) -> None:
    data = gzip.compress(b"hello ") + gzip.compress(b"world")
    result = _scan(scan_files, {"a.txt.gz": data})
    assert "compressed.malformed" not in rule_ids(result)
    assert next(a for a in result.artifacts if a.path == "a.txt.gz!a.txt").size == 11


def test_truncated_gzip_is_malformed(scan_files: ScanFiles) -> None:
    data = gzip.compress(b"hello world" * 1000)
    assert "compressed.malformed" in rule_ids(_scan(scan_files, {"a.gz": data[:-20]}))


def test_zlib_trailing_data_is_malformed(scan_files: ScanFiles) -> None:
    data = zlib.compress(b"hello world" * 10) + b"hidden"
    assert "compressed.malformed" in rule_ids(_scan(scan_files, {"a.z": data}))


def test_tar_gz_is_opened_through_both_layers(scan_files: ScanFiles) -> None:
    tar = _tar([_file("w.pkl")], {"w.pkl": PICKLE})
    result = _scan(scan_files, {"m.tgz": gzip.compress(tar)})
    assert _paths(result)["m.tgz!m.tar!w.pkl"] is Format.PICKLE


def test_gzip_bomb_is_stopped(scan_files: ScanFiles) -> None:
    data = gzip.compress(b"\0" * 60_000_000, compresslevel=9)
    started = time.perf_counter()
    result = _scan(scan_files, {"z.gz": data})
    assert "archive.bomb" in rule_ids(result)
    assert time.perf_counter() - started < 10


def test_deeply_nested_gzip_stops_at_the_depth_limit(scan_files: ScanFiles) -> None:
    data = b"innermost"
    for _ in range(10_000):
        data = gzip.compress(data, compresslevel=0, mtime=0)
    result = _scan(scan_files, {"deep.gz": data})
    ids = rule_ids(result)
    assert "archive.too-deep" in ids
    assert "scan.analyzer-error" not in ids


@pytest.mark.skipif(importlib.util.find_spec("lz4") is not None, reason="lz4 is installed")
def test_lz4_without_library_is_not_verified(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, {"m.lz4": b"\x04\x22\x4d\x18" + b"\x00" * 20})
    assert "compressed.unsupported" in rule_ids(result)
    assert any(s.reason == "missing-codec" for s in result.run.skips)


@pytest.mark.skipif(importlib.util.find_spec("zstandard") is not None, reason="installed")
def test_zstd_without_library_is_not_verified(scan_files: ScanFiles) -> None:
    result = _scan(scan_files, {"m.zst": b"\x28\xb5\x2f\xfd" + b"\x00" * 20})
    assert "compressed.unsupported" in rule_ids(result)


def test_inner_name() -> None:
    assert inner_name("dir/model.pkl.gz") == "model.pkl"
    assert inner_name("a.zip!x.tgz") == "x.tar"
    assert inner_name("blob") == "blob.decompressed"


# -- 7z -------------------------------------------------------------------------------------


def _7z(files: dict[str, bytes], filters: list[dict[str, int]] | None = None) -> bytes:
    py7zr = pytest.importorskip("py7zr")
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", filters=filters) as z:
        for name, data in files.items():
            z.writestr(data, name)
    return buf.getvalue()


def test_7z_members_are_submitted(scan_files: ScanFiles) -> None:
    data = _7z({"archive/data.pkl": PICKLE, "b.txt": b"hello"})
    result = _scan(scan_files, {"m.7z": data})
    paths = _paths(result)
    assert paths["m.7z"] is Format.SEVENZIP
    assert paths["m.7z!archive/data.pkl"] is Format.PICKLE
    assert _high(result) == []


def test_7z_unsupported_coder(scan_files: ScanFiles) -> None:
    py7zr = pytest.importorskip("py7zr")
    data = _7z({"a.pkl": PICKLE}, [{"id": py7zr.FILTER_ZSTD}])
    assert "7z.unsupported" in rule_ids(_scan(scan_files, {"m.7z": data}))


def test_7z_bomb(scan_files: ScanFiles) -> None:
    data = _7z({"zeros": b"\0" * 30_000_000})
    assert "archive.bomb" in rule_ids(_scan(scan_files, {"m.7z": data}))


def test_7z_traversal(scan_files: ScanFiles) -> None:
    py7zr = pytest.importorskip("py7zr")
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as z:
        z.set_encoded_header_mode(False)
        z.writestr(b"echo pwned", "xx/evil.sh")
    # py7zr refuses to write '..', so the plain header is patched (its CRC then mismatches).
    data = buf.getvalue().replace("xx/".encode("utf-16-le"), "../".encode("utf-16-le"))
    result = _scan(scan_files, {"m.7z": data})
    assert "7z.path-traversal" in rule_ids(result)
    assert "m.7z!../evil.sh" in _paths(result)


def test_7z_garbage_is_malformed(scan_files: ScanFiles) -> None:
    data = b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\xff" * 40
    assert "7z.malformed" in rule_ids(_scan(scan_files, {"m.7z": data}))
