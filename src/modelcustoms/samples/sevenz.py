"""A minimal 7z writer: one folder per file, LZMA2 (stdlib :mod:`lzma`, raw) or copy coder.

Enough of the 7z format (7zFormat.txt in the LZMA SDK) for archives that 7-Zip and py7zr
open: signature header, packed streams, and a plain (unencoded) header with pack info,
folders, unpack sizes and CRCs, and file names.
"""

from __future__ import annotations

import lzma
import struct
import zlib

_SIGNATURE = b"7z\xbc\xaf\x27\x1c"
_DICT_SIZE = 1 << 20
_LZMA2_PROP = 16  # dictionary size 2**20: (2 | (p & 1)) << (p // 2 + 11)


def number(v: int) -> bytes:
    """7z's variable-length UINT64: leading 1-bits of the first byte count the extra bytes."""
    for n in range(9):
        if n == 8 or v < (1 << (7 * (n + 1))):
            break
    if n == 8:
        return b"\xff" + struct.pack("<Q", v)
    first = ((0xFF << (8 - n)) & 0xFF) | (v >> (8 * n))
    return bytes([first]) + (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")


def build_7z(files: dict[str, bytes], *, compress: bool = True) -> bytes:
    """An archive holding ``files`` (names with ``/`` separators)."""
    packed: list[bytes] = []
    for data in files.values():
        if compress:
            filters = [{"id": lzma.FILTER_LZMA2, "dict_size": _DICT_SIZE}]
            packed.append(lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters))
        else:
            packed.append(data)
    n = len(files)
    h = bytearray(b"\x01\x04")  # Header, MainStreamsInfo
    h += b"\x06" + number(0) + number(n) + b"\x09" + b"".join(number(len(p)) for p in packed)
    h += b"\x00"  # end of PackInfo
    h += b"\x07\x0b" + number(n) + b"\x00"  # UnPackInfo, Folder, count, not external
    coder = b"\x21\x21" + number(1) + bytes([_LZMA2_PROP]) if compress else b"\x01\x00"
    for _ in range(n):
        h += number(1) + coder  # one coder, one in / one out stream
    h += b"\x0c" + b"".join(number(len(d)) for d in files.values())
    h += b"\x0a\x01" + b"".join(struct.pack("<I", zlib.crc32(d)) for d in files.values())
    h += b"\x00"  # end of UnPackInfo
    h += b"\x08\x00"  # SubStreamsInfo: one stream per folder (the default), nothing else
    h += b"\x00"  # end of StreamsInfo
    names = b"\x00" + b"".join(name.encode("utf-16-le") + b"\x00\x00" for name in files)
    h += b"\x05" + number(n) + b"\x11" + number(len(names)) + names + b"\x00"
    h += b"\x00"  # end of Header
    body = b"".join(packed)
    tail = struct.pack("<QQI", len(body), len(h), zlib.crc32(h))
    start = _SIGNATURE + b"\x00\x04" + struct.pack("<I", zlib.crc32(tail)) + tail
    return start + body + bytes(h)
