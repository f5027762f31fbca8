"""The miniz-compatible zip reader: listings, anomalies, streaming, CRC."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

import pytest

from modelcustoms.artifacts import zipfmt
from modelcustoms.artifacts.blob import BytesBlob


@dataclass
class M:
    """One member for :func:`build_zip`; the optional fields forge disagreements."""

    name: str
    data: bytes
    method: int = 0
    flags: int = 0
    local_name: str | None = None
    local_flags: int | None = None
    crc: int | None = None
    size: int | None = None
    """Declared uncompressed size (both headers) when forged."""
    offset: int | None = None
    """Central-directory offset of the local header when forged (to overlap members)."""


def build_zip(members: list[M], *, prefix: bytes = b"", trailing: bytes = b"") -> bytes:
    """A zip built byte by byte, so that tests can forge what zipfile would refuse to write."""
    out = bytearray(prefix)
    central = bytearray()
    for m in members:
        if m.method == 8:
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            packed = co.compress(m.data) + co.flush()
        else:
            packed = m.data
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        size = len(m.data) if m.size is None else m.size
        name = m.name.encode()
        lname = (m.local_name if m.local_name is not None else m.name).encode()
        lflags = m.flags if m.local_flags is None else m.local_flags
        offset = len(out) - len(prefix) if m.offset is None else m.offset
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, lflags, m.method, 0, 0, crc, len(packed), size,
            len(lname), 0,
        )  # fmt: skip
        out += lname + packed
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, m.flags, m.method, 0, 0, crc,
            len(packed), size, len(name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += name
    cd_offset = len(out) - len(prefix)
    out += central
    out += struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), cd_offset, 0
    )
    return bytes(out) + trailing


def _kinds(listing: zipfmt.ZipListing) -> set[str]:
    return {zipfmt.anomaly_kind(a) for a in listing.anomalies}


def _read_all(blob: BytesBlob, entry: zipfmt.ZipEntry) -> tuple[bytes, zipfmt.MemberStream]:
    stream = zipfmt.member_chunks(blob, entry, max_bytes=1 << 30)
    return b"".join(stream), stream


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_reads_what_zipfile_writes(method: int) -> None:
    buf = io.BytesIO()
    payload = b"weights " * 5000
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/version", b"3\n")
    blob = BytesBlob(buf.getvalue())
    listing = zipfmt.read_zip(blob)
    assert listing.anomalies == ()
    assert listing.prefix == 0
    assert [e.name for e in listing.entries] == ["archive/data.pkl", "archive/version"]
    data, stream = _read_all(blob, listing.entries[0])
    assert data == payload
    assert stream.crc_ok is True
    assert stream.error is None
    assert zipfmt.read_member(blob, listing.entries[1], max_bytes=10) == b"3\n"


def test_zip64_records_are_followed() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, z.open("big", "w", force_zip64=True) as fh:
        fh.write(b"x" * 100)
    listing = zipfmt.read_zip(BytesBlob(buf.getvalue()))
    assert [(e.name, e.size) for e in listing.entries] == [("big", 100)]


def test_not_a_zip_raises() -> None:
    with pytest.raises(zipfmt.ZipFormatError):
        zipfmt.read_zip(BytesBlob(b"hello world" * 10))


def test_central_directory_out_of_bounds_raises() -> None:
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, 10**9, 5, 0)
    with pytest.raises(zipfmt.ZipFormatError):
        zipfmt.read_zip(BytesBlob(b"PK\x03\x04" + b"\0" * 40 + eocd))


def test_name_mismatch_is_an_anomaly() -> None:
    data = build_zip([M("archive/data.pkl", b"x", local_name="archive/other.pkl")])
    listing = zipfmt.read_zip(BytesBlob(data))
    assert zipfmt.KIND_NAME_MISMATCH in _kinds(listing)
    assert listing.entries[0].name == "archive/data.pkl"
    assert listing.entries[0].local_name == "archive/other.pkl"


def test_duplicates_and_overlap_are_anomalies() -> None:
    data = build_zip([M("a", b"one"), M("a", b"two"), M("b", b"three", offset=0)])
    assert {zipfmt.KIND_DUPLICATE, zipfmt.KIND_OVERLAP} <= _kinds(zipfmt.read_zip(BytesBlob(data)))


def test_flag_bits_are_anomalies() -> None:
    data = build_zip([M("a", b"x", flags=1), M("b", b"y", local_flags=0x20)])
    listing = zipfmt.read_zip(BytesBlob(data))
    assert sum(zipfmt.anomaly_kind(a) == zipfmt.KIND_FLAGS for a in listing.anomalies) == 2


def test_ordinary_flags_are_not_anomalies() -> None:
    data = build_zip([M("a", b"x" * 50, method=8, flags=0x0802)])
    assert zipfmt.read_zip(BytesBlob(data)).anomalies == ()


def test_bad_crc_is_found_while_streaming() -> None:
    blob = BytesBlob(build_zip([M("a", b"payload", crc=0x1234)]))
    listing = zipfmt.read_zip(blob)
    data, stream = _read_all(blob, listing.entries[0])
    assert data == b"payload"
    assert stream.crc_ok is False


def test_prefix_and_trailing_data() -> None:
    blob = BytesBlob(build_zip([M("a", b"x")], prefix=b"\x80\x02N.", trailing=b"junk"))
    listing = zipfmt.read_zip(blob)
    assert listing.prefix == 4
    assert {zipfmt.KIND_PREFIX, zipfmt.KIND_TRAILING} <= _kinds(listing)
    assert zipfmt.read_member(blob, listing.entries[0], max_bytes=10) == b"x"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("../evil", zipfmt.KIND_TRAVERSAL),
        ("a/../../evil", zipfmt.KIND_TRAVERSAL),
        ("/etc/passwd", zipfmt.KIND_TRAVERSAL),
        ("C:/x", zipfmt.KIND_TRAVERSAL),
        ("..\\evil", zipfmt.KIND_TRAVERSAL),
        ("dir\\file", zipfmt.KIND_ODD_NAME),
    ],
)
def test_path_names(name: str, kind: str) -> None:
    assert kind in _kinds(zipfmt.read_zip(BytesBlob(build_zip([M(name, b"x")]))))


def test_inner_dotdot_is_fine() -> None:
    assert not zipfmt.path_escapes("a/b/../c")


def test_size_mismatch_and_truncation() -> None:
    blob = BytesBlob(build_zip([M("a", b"abc", size=5)]))
    listing = zipfmt.read_zip(blob)
    assert zipfmt.KIND_SIZE_MISMATCH in _kinds(listing)
    with pytest.raises(zipfmt.ZipFormatError):
        zipfmt.read_member(blob, listing.entries[0], max_bytes=100)


def test_missing_local_header_is_reported_not_raised() -> None:
    data = bytearray(build_zip([M("a", b"x"), M("b", b"y")]))
    data[0:4] = b"XXXX"
    listing = zipfmt.read_zip(BytesBlob(bytes(data)))
    assert [e.name for e in listing.entries] == ["b"]
    assert zipfmt.KIND_BAD_LOCAL in _kinds(listing)


def test_streaming_stops_after_max_bytes() -> None:
    blob = BytesBlob(build_zip([M("z", b"\0" * 10_000_000, method=8)]))
    entry = zipfmt.read_zip(blob).entries[0]
    got = sum(len(c) for c in zipfmt.member_chunks(blob, entry, max_bytes=1000))
    assert got == 1001
    with pytest.raises(zipfmt.ZipFormatError):
        zipfmt.read_member(blob, entry, max_bytes=1000)


def test_corrupt_deflate_ends_stream_with_error() -> None:
    data = bytearray(build_zip([M("z", b"hello" * 1000, method=8)]))
    data[30 + 1 : 30 + 6] = b"\xff\xff\xff\xff\xff"
    blob = BytesBlob(bytes(data))
    _, stream = _read_all(blob, zipfmt.read_zip(blob).entries[0])
    assert stream.error is not None
    assert stream.crc_ok is None


def test_unsupported_method_raises_on_stream() -> None:
    blob = BytesBlob(build_zip([M("a", b"x", method=99)]))
    listing = zipfmt.read_zip(blob)
    assert zipfmt.KIND_METHOD in _kinds(listing)
    with pytest.raises(zipfmt.ZipFormatError):
        zipfmt.member_chunks(blob, listing.entries[0], max_bytes=10)


def test_anomalies_are_capped_per_kind() -> None:
    data = build_zip([M("same", b"x") for _ in range(100)])
    listing = zipfmt.read_zip(BytesBlob(data))
    dup = [a for a in listing.anomalies if zipfmt.anomaly_kind(a) == zipfmt.KIND_DUPLICATE]
    assert len(dup) == 21
    assert dup[-1].endswith("more")


def test_zip64_archive_with_prepended_data() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, z.open("big", "w", force_zip64=True) as fh:
        fh.write(b"x" * 100)
    blob = BytesBlob(b"J" * 1000 + buf.getvalue())
    listing = zipfmt.read_zip(blob)
    assert listing.prefix == 1000
    assert zipfmt.read_member(blob, listing.entries[0], max_bytes=200) == b"x" * 100
