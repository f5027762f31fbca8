"""A byte-level ZIP writer: ordinary archives, PyTorch's aligned layout, and malformed ones.

:mod:`zipfile` cannot write what attackers write (a central directory that disagrees with the
local headers, flag bits, wrong CRCs, duplicate names, junk before the archive), and it cannot
write PyTorch's layout (64-byte aligned data, data descriptors, zip64 end records), so the
records are laid out here by hand following APPNOTE.TXT.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass


@dataclass
class Entry:
    """One member, with every field an attacker might make inconsistent."""

    name: str
    data: bytes
    deflate: bool = False
    flags: int = 0
    crc: int | None = None
    """CRC written in the headers (None: the correct one)."""
    cd_name: str | None = None
    """Name written in the central directory (None: same as the local header)."""
    align: int = 0
    """Align the data to this many bytes with PyTorch's ``FB`` padding extra field."""
    descriptor: bool = False
    """Write CRC and sizes in a data descriptor after the data (PyTorch style)."""
    packed: bytes | None = None
    """An already-deflated stream for ``data`` (then ``size`` and ``crc`` describe the data)."""
    size: int | None = None


def _payload(e: Entry) -> tuple[bytes, int]:
    if e.packed is not None:
        return e.packed, 8
    if e.deflate:
        co = zlib.compressobj(6, zlib.DEFLATED, -15)
        return co.compress(e.data) + co.flush(), 8
    return e.data, 0


def build_zip(
    entries: list[Entry], *, prefix: bytes = b"", zip64_end: bool = False, version: int = 20
) -> bytes:
    """Lay out the archive. Offsets count ``prefix`` (junk before the first local header)."""
    out = bytearray(prefix)
    central = bytearray()
    for e in entries:
        payload, method = _payload(e)
        crc = zlib.crc32(e.data) if e.crc is None else e.crc
        usize = len(e.data) if e.size is None else e.size
        name = e.name.encode()
        offset = len(out)
        extra = b""
        if e.align:
            start = offset + 30 + len(name) + 4
            pad = (-start) % e.align
            extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
        ver = 0 if e.descriptor else version
        sizes = (0, 0, 0) if e.descriptor else (crc, len(payload), usize)
        out += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            ver,
            e.flags,
            method,
            0,
            0x21 if not e.descriptor else 0,
            *sizes,
            len(name),
            len(extra),
        )
        out += name + extra + payload
        if e.descriptor:
            out += struct.pack("<4sIII", b"PK\x07\x08", crc, len(payload), usize)
        cd_name = (e.cd_name if e.cd_name is not None else e.name).encode()
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            ver,
            ver,
            e.flags,
            method,
            0,
            0x21 if not e.descriptor else 0,
            crc,
            len(payload),
            usize,
            len(cd_name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += cd_name
    cd_offset = len(out)
    out += central
    n = len(entries)
    if zip64_end:
        eocd64 = len(out)
        out += struct.pack(
            "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 0x031E, 0x2D, 0, 0, n, n, len(central), cd_offset
        )
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd64, 1)
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(central), cd_offset, 0)
    return bytes(out)


def simple_zip(members: dict[str, bytes], *, deflate: bool = True) -> bytes:
    """An ordinary, well-formed archive (what ``zipfile`` would produce, at a fixed date)."""
    return build_zip([Entry(name, data, deflate=deflate) for name, data in members.items()])


def torch_zip(members: dict[str, bytes]) -> bytes:
    """PyTorch's layout: stored members, 64-byte aligned data, data descriptors, zip64 end."""
    entries = [Entry(n, d, flags=0x0808, align=64, descriptor=True) for n, d in members.items()]
    return build_zip(entries, zip64_end=True)
