"""The minimal 7z reader: listing and streaming archives written by py7zr."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest

from modelcustoms.artifacts import sevenzip
from modelcustoms.artifacts.blob import BytesBlob

py7zr = pytest.importorskip("py7zr")

FILES = {
    "archive/data.pkl": b"\x80\x04K\x01." * 100,
    "notes.txt": b"hello world " * 1000,
    "bin/table": bytes(range(256)) * 64,
}


def make_7z(files: dict[str, bytes], filters: list[dict[str, Any]] | None = None) -> bytes:
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", filters=filters) as z:
        for name, data in files.items():
            z.writestr(data, name)
    return buf.getvalue()


def _extract(data: bytes) -> dict[str, bytes]:
    blob = BytesBlob(data)
    archive = sevenzip.read_7z(blob)
    out = {e.name: b"" for e in archive.entries if not e.is_dir}
    for index in range(len(archive.folders)):
        for entry, chunks in sevenzip.iter_members(blob, archive, index, max_bytes=1 << 30):
            body = b"".join(chunks)
            assert entry.crc32 is None or zlib.crc32(body) == entry.crc32
            out[entry.name] = body
    return out


@pytest.mark.parametrize(
    "filters",
    [
        None,
        [{"id": py7zr.FILTER_LZMA}],
        [{"id": py7zr.FILTER_X86}, {"id": py7zr.FILTER_LZMA2}],
        [{"id": py7zr.FILTER_DELTA}, {"id": py7zr.FILTER_LZMA2}],
        [{"id": py7zr.FILTER_COPY}],
        [{"id": py7zr.FILTER_DEFLATE}],
        [{"id": py7zr.FILTER_BZIP2}],
    ],
)
def test_round_trip(filters: list[dict[str, Any]] | None) -> None:
    assert _extract(make_7z(FILES, filters)) == FILES


def test_encoded_header_is_decoded() -> None:
    archive = sevenzip.read_7z(BytesBlob(make_7z(FILES)))
    assert archive.encoded_header
    assert archive.anomalies == ()
    assert sorted(e.name for e in archive.entries) == sorted(FILES)


def test_unsupported_coder_is_a_clear_error() -> None:
    data = make_7z(FILES, [{"id": py7zr.FILTER_ZSTD}])
    blob = BytesBlob(data)
    archive = sevenzip.read_7z(blob)
    with pytest.raises(sevenzip.SevenZipUnsupported):
        sevenzip.check_coders(archive.folders[0])


def test_not_7z() -> None:
    with pytest.raises(sevenzip.SevenZipError):
        sevenzip.read_7z(BytesBlob(b"PK\x03\x04" + b"\0" * 100))


def test_header_offset_out_of_bounds() -> None:
    start = struct.pack("<QQI", 10**12, 100, 0)
    data = sevenzip.MAGIC + b"\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start
    with pytest.raises(sevenzip.SevenZipError):
        sevenzip.read_7z(BytesBlob(data))


def test_truncated_archive_raises_sevenzip_error() -> None:
    data = make_7z(FILES)
    for cut in (40, len(data) // 2, len(data) - 5):
        with pytest.raises(sevenzip.SevenZipError):
            _extract(data[:cut])


def test_corrupt_packed_data_raises_sevenzip_error() -> None:
    data = bytearray(make_7z(FILES, [{"id": py7zr.FILTER_LZMA2}]))
    data[40:60] = b"\xff" * 20
    with pytest.raises(sevenzip.SevenZipError):
        _extract(bytes(data))


def test_streaming_is_bounded() -> None:
    data = make_7z({"zeros": b"\0" * 5_000_000})
    blob = BytesBlob(data)
    archive = sevenzip.read_7z(blob)
    got = sum(len(c) for c in sevenzip.folder_chunks(blob, archive.folders[0], max_bytes=1000))
    assert got == 1001
