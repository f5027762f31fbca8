"""A minimal, bounded 7z reader on the standard library's :mod:`lzma`.

It lists and streams the members of archives that 7-Zip and py7zr write with their default
settings: LZMA/LZMA2 (optionally behind BCJ or delta filters), copy, deflate and bzip2 coders,
with plain or LZMA-encoded headers. Anything else (AES, BCJ2, PPMd, ...) raises
:class:`SevenZipUnsupported`, which callers report as "could not verify". Every count and size
read from the archive is checked against the bytes that remain before it is used.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelcustoms.artifacts.blob import Blob

MAGIC = b"7z\xbc\xaf\x27\x1c"
_MAX_HEADER = 64 * 1024**2
_OUT = 1024 * 1024
_READ = 1024 * 1024

_END, _HEADER, _ARCHIVE_PROPS, _ADD_STREAMS, _MAIN_STREAMS, _FILES = 0, 1, 2, 3, 4, 5
_PACK_INFO, _UNPACK_INFO, _SUBSTREAMS, _SIZE, _CRC, _FOLDER = 6, 7, 8, 9, 10, 11
_UNPACK_SIZE, _NUM_UNPACK, _EMPTY_STREAM, _EMPTY_FILE, _NAME = 12, 13, 14, 15, 17
_ATTRIBUTES, _ENCODED_HEADER, _DUMMY = 21, 23, 25

_LZMA_FILTERS: dict[bytes, int] = {
    b"\x03\x03\x01\x03": lzma.FILTER_X86,
    b"\x03\x03\x02\x05": lzma.FILTER_POWERPC,
    b"\x03\x03\x04\x01": lzma.FILTER_IA64,
    b"\x03\x03\x05\x01": lzma.FILTER_ARM,
    b"\x03\x03\x07\x01": lzma.FILTER_ARMTHUMB,
    b"\x03\x03\x08\x05": lzma.FILTER_SPARC,
}
_COPY, _LZMA2, _LZMA1, _DELTA = b"\x00", b"\x21", b"\x03\x01\x01", b"\x03"
_DEFLATE, _BZIP2 = b"\x04\x01\x08", b"\x04\x02\x02"


class SevenZipError(Exception):
    """The bytes are not a 7z archive this reader can parse."""


class SevenZipUnsupported(SevenZipError):
    """The archive uses a feature (coder, encryption, layout) this reader does not decode."""


@dataclass(frozen=True, slots=True)
class Coder:
    """One coder of a folder: its method id and properties."""

    method: bytes
    props: bytes
    n_in: int
    n_out: int


@dataclass(frozen=True, slots=True)
class Folder:
    """A solid block: coders, where its packed bytes are, and what it unpacks to."""

    coders: tuple[Coder, ...]
    """From the coder that produces the output to the one that reads the packed bytes."""
    pack_offset: int
    """Absolute offset of the (single) packed stream in the blob."""
    pack_size: int
    unpack_size: int
    """Size of the folder's final output."""
    crc32: int | None


@dataclass(frozen=True, slots=True)
class SevenZipEntry:
    """One file or folder entry of the archive."""

    name: str
    size: int
    folder: int | None
    """Index of the folder holding the data; None for directories and empty files."""
    is_dir: bool
    crc32: int | None


@dataclass(frozen=True, slots=True)
class SevenZipArchive:
    """What :func:`read_7z` learnt: folders, entries and anomalies."""

    folders: tuple[Folder, ...]
    entries: tuple[SevenZipEntry, ...]
    anomalies: tuple[str, ...]
    encoded_header: bool


class _Reader:
    """A cursor over header bytes; every read is bounds-checked."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise SevenZipError("header ends early")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise SevenZipError(f"header field of {n} bytes runs past the end")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def number(self) -> int:
        first = self.byte()
        mask, value = 0x80, 0
        for i in range(8):
            if not first & mask:
                return value | ((first & (mask - 1)) << (8 * i))
            value |= self.byte() << (8 * i)
            mask >>= 1
        return value

    def count(self, limit: int) -> int:
        """A count that must not exceed ``limit`` (usually the bytes left)."""
        n = self.number()
        if n > limit:
            raise SevenZipError(f"count {n} exceeds what the header can hold ({limit})")
        return n

    def left(self) -> int:
        return len(self.data) - self.pos

    def bits(self, n: int) -> list[bool]:
        raw = self.take((n + 7) // 8)
        return [bool(raw[i // 8] & (0x80 >> (i % 8))) for i in range(n)]

    def defined(self, n: int) -> list[bool]:
        all_defined = self.byte()
        return [True] * n if all_defined else self.bits(n)

    def digests(self, n: int) -> list[int | None]:
        mask = self.defined(n)
        return [struct.unpack("<I", self.take(4))[0] if d else None for d in mask]


@dataclass(slots=True)
class _Streams:
    pack_pos: int = 0
    pack_sizes: tuple[int, ...] = ()
    folders: tuple[tuple[Coder, ...], ...] = ()
    unpack_sizes: tuple[int, ...] = ()
    folder_crcs: tuple[int | None, ...] = ()
    per_folder: tuple[int, ...] = ()
    sub_sizes: tuple[int, ...] = ()
    sub_crcs: tuple[int | None, ...] = ()


def read_7z(blob: Blob, *, max_entries: int = 1_000_000) -> SevenZipArchive:
    """Parse the headers of a 7z archive (decoding an encoded header) and list its entries."""
    start = blob.read(0, 32)
    if len(start) < 32 or start[:6] != MAGIC:
        raise SevenZipError("not a 7z archive")
    anomalies: list[str] = []
    start_crc, next_off, next_size, next_crc = struct.unpack("<IQQI", start[8:32])
    if zlib.crc32(start[12:32]) != start_crc:
        anomalies.append("start header CRC does not match")
    if next_size > _MAX_HEADER or 32 + next_off + next_size > blob.size:
        raise SevenZipError(f"header of {next_size} bytes at {32 + next_off} is out of bounds")
    header = blob.read(32 + next_off, next_size)
    if zlib.crc32(header) != next_crc:
        anomalies.append("header CRC does not match")
    encoded = False
    for _ in range(4):
        r = _Reader(header)
        kind = r.byte()
        if kind == _HEADER:
            return _parse_header(blob, r, anomalies, encoded, max_entries)
        if kind != _ENCODED_HEADER:
            raise SevenZipError(f"unexpected header type {kind}")
        encoded = True
        streams = _streams_info(r)
        folders = _folders(streams)
        if not folders:
            raise SevenZipError("encoded header without a folder")
        header = b"".join(folder_chunks(blob, folders[0], max_bytes=_MAX_HEADER))
        if len(header) > _MAX_HEADER:
            raise SevenZipError("decoded header is too large")
    raise SevenZipError("header encoded too many times")


def _parse_header(
    blob: Blob, r: _Reader, anomalies: list[str], encoded: bool, max_entries: int
) -> SevenZipArchive:
    pid = r.byte()
    if pid == _ARCHIVE_PROPS:
        while r.byte() != _END:
            r.take(r.count(r.left()))
        pid = r.byte()
    if pid == _ADD_STREAMS:
        _streams_info(r)
        pid = r.byte()
    streams = _Streams()
    if pid == _MAIN_STREAMS:
        streams = _streams_info(r)
        pid = r.byte()
    folders = _folders(streams)
    entries: list[SevenZipEntry] = []
    if pid == _FILES:
        entries = _files(r, streams, max_entries)
        pid = r.byte()
    if pid != _END:
        anomalies.append(f"unexpected property {pid} at the end of the header")
    if any(f.pack_offset + f.pack_size > blob.size for f in folders):
        anomalies.append("packed data runs past the end of the file")
    return SevenZipArchive(
        folders=tuple(folders),
        entries=tuple(entries),
        anomalies=tuple(anomalies),
        encoded_header=encoded,
    )


def _streams_info(r: _Reader) -> _Streams:
    s = _Streams()
    pid = r.byte()
    if pid == _PACK_INFO:
        s.pack_pos = r.number()
        n = r.count(r.left())
        while (pid := r.byte()) != _END:
            if pid == _SIZE:
                s.pack_sizes = tuple(r.number() for _ in range(n))
            elif pid == _CRC:
                r.digests(n)
            else:
                raise SevenZipError(f"unexpected property {pid} in pack info")
        pid = r.byte()
    if pid == _UNPACK_INFO:
        _unpack_info(r, s)
        pid = r.byte()
    if pid == _SUBSTREAMS:
        _substreams(r, s)
        pid = r.byte()
    if pid != _END:
        raise SevenZipError(f"unexpected property {pid} in streams info")
    if not s.per_folder:
        s.per_folder = (1,) * len(s.folders)
        s.sub_sizes = s.unpack_sizes
        s.sub_crcs = s.folder_crcs
    return s


def _unpack_info(r: _Reader, s: _Streams) -> None:
    if r.byte() != _FOLDER:
        raise SevenZipError("unpack info without folders")
    n = r.count(r.left())
    if r.byte() != 0:
        raise SevenZipUnsupported("external folder definitions")
    parsed = [_folder(r) for _ in range(n)]
    s.folders = tuple(coders for coders, _ in parsed)
    if r.byte() != _UNPACK_SIZE:
        raise SevenZipError("folders without unpack sizes")
    # Only the final output size of each folder is kept; the others are internal.
    sizes: list[int] = []
    for coders, final in parsed:
        outs = [r.number() for _ in coders]
        sizes.append(outs[final])
    s.unpack_sizes = tuple(sizes)
    s.folder_crcs = (None,) * n
    while (pid := r.byte()) != _END:
        if pid != _CRC:
            raise SevenZipError(f"unexpected property {pid} in unpack info")
        s.folder_crcs = tuple(r.digests(n))


def _folder(r: _Reader) -> tuple[tuple[Coder, ...], int]:
    n = r.count(min(64, r.left()))
    coders: list[Coder] = []
    for _ in range(n):
        flag = r.byte()
        if flag & 0xC0:
            raise SevenZipUnsupported("alternative coder methods")
        method = r.take(flag & 0x0F)
        n_in = n_out = 1
        if flag & 0x10:
            n_in, n_out = r.count(64), r.count(64)
        props = r.take(r.count(r.left())) if flag & 0x20 else b""
        coders.append(Coder(method=method, props=props, n_in=n_in, n_out=n_out))
    total_in = sum(c.n_in for c in coders)
    total_out = sum(c.n_out for c in coders)
    if total_out != len(coders) or total_in != len(coders):
        raise SevenZipUnsupported("coders with several streams (e.g. BCJ2)")
    # Only chains are decoded: each pair binds one coder's input to another coder's output.
    feeds: dict[int, int] = {}
    for _ in range(total_out - 1):
        in_index, out_index = r.count(64), r.count(64)
        if in_index >= len(coders) or out_index >= len(coders) or in_index in feeds:
            raise SevenZipUnsupported("non-linear coder graph")
        feeds[in_index] = out_index
    if total_in - (total_out - 1) != 1:
        raise SevenZipUnsupported("several packed streams in one folder")
    # With exactly one packed stream its index is implied (nothing more to read).
    finals = set(range(len(coders))) - set(feeds.values())
    if len(finals) != 1:
        raise SevenZipUnsupported("non-linear coder graph")
    order = [finals.pop()]
    while order[-1] in feeds and len(order) <= len(coders):
        order.append(feeds[order[-1]])
    if len(order) != len(coders):
        raise SevenZipUnsupported("non-linear coder graph")
    return tuple(coders[i] for i in order), order[0]


def _substreams(r: _Reader, s: _Streams) -> None:
    per = [1] * len(s.folders)
    pid = r.byte()
    if pid == _NUM_UNPACK:
        per = [r.count(r.left() + 1) for _ in s.folders]
        pid = r.byte()
    sizes: list[int] = []
    for i, k in enumerate(per):
        if k == 0:
            continue
        part = [r.number() for _ in range(k - 1)] if pid == _SIZE else []
        rest = s.unpack_sizes[i] - sum(part)
        if rest < 0:
            raise SevenZipError("substream sizes exceed the folder size")
        sizes.extend([*part, rest])
    if pid == _SIZE:
        pid = r.byte()
    # Folders with a single stream and a known folder CRC do not repeat it here.
    known: list[int | None] = []
    need = 0
    for i, k in enumerate(per):
        if k == 1 and s.folder_crcs[i] is not None:
            known.append(s.folder_crcs[i])
        else:
            known.extend([None] * k)
            need += k
    crcs = known
    while pid != _END:
        if pid != _CRC:
            raise SevenZipError(f"unexpected property {pid} in substreams info")
        got = iter(r.digests(need))
        crcs = [c if c is not None else next(got, None) for c in known]
        pid = r.byte()
    s.per_folder, s.sub_sizes, s.sub_crcs = tuple(per), tuple(sizes), tuple(crcs)


def _folders(s: _Streams) -> list[Folder]:
    if len(s.pack_sizes) < len(s.folders):
        raise SevenZipError("fewer packed streams than folders")
    out: list[Folder] = []
    pos = 32 + s.pack_pos
    for i, coders in enumerate(s.folders):
        out.append(
            Folder(
                coders=coders,
                pack_offset=pos,
                pack_size=s.pack_sizes[i],
                unpack_size=s.unpack_sizes[i],
                crc32=s.folder_crcs[i],
            )
        )
        pos += s.pack_sizes[i]
    return out


def _files(r: _Reader, s: _Streams, max_entries: int) -> list[SevenZipEntry]:
    n = r.count(min(max_entries, r.left()))
    empty_stream = [False] * n
    empty_file: list[bool] = []
    names: list[str] = []
    dirs_attr = [False] * n
    while (pid := r.byte()) != _END:
        size = r.count(r.left())
        body = _Reader(r.take(size))
        if pid == _EMPTY_STREAM:
            empty_stream = body.bits(n)
        elif pid == _EMPTY_FILE:
            empty_file = body.bits(sum(empty_stream))
        elif pid == _NAME:
            if body.byte() != 0:
                raise SevenZipUnsupported("external file names")
            blob_names = body.take(body.left())
            raw = blob_names[: len(blob_names) // 2 * 2].decode("utf-16-le", "replace")
            names = raw.split("\x00")[:n]
        elif pid == _ATTRIBUTES:
            mask = body.defined(n)
            for i, d in enumerate(mask):
                if d:
                    dirs_attr[i] = bool(struct.unpack("<I", body.take(4))[0] & 0x10)
    names += [f"file{i}" for i in range(len(names), n)]
    entries: list[SevenZipEntry] = []
    sub = 0
    empty_i = 0
    stream_folders = [i for i, k in enumerate(s.per_folder) for _ in range(k)]
    for i in range(n):
        if empty_stream[i]:
            is_file = empty_i < len(empty_file) and empty_file[empty_i]
            empty_i += 1
            is_dir = not is_file or dirs_attr[i]
            entries.append(SevenZipEntry(names[i], 0, None, is_dir, None))
            continue
        if sub >= len(s.sub_sizes):
            raise SevenZipError("more files with data than streams")
        entries.append(
            SevenZipEntry(names[i], s.sub_sizes[sub], stream_folders[sub], False, s.sub_crcs[sub])
        )
        sub += 1
    return entries


def check_coders(folder: Folder) -> None:
    """Raise :class:`SevenZipUnsupported` unless this reader can decode ``folder``."""
    _decoder(folder)


class _Stepper:
    """Feeds compressed bytes to a decompressor and yields bounded pieces of output."""

    def __init__(self, dec: Any, kind: str) -> None:
        self.dec = dec
        self.kind = kind

    @property
    def eof(self) -> bool:
        return self.kind == "copy" or bool(self.dec.eof)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.kind == "copy":
            yield data
            return
        if self.kind == "zlib":
            while data and not self.dec.eof:
                out = self.dec.decompress(data, _OUT)
                data = self.dec.unconsumed_tail
                if out:
                    yield out
            return
        out = self.dec.decompress(data, _OUT)
        if out:
            yield out
        while not self.dec.eof and not self.dec.needs_input:
            out = self.dec.decompress(b"", _OUT)
            if not out:
                return
            yield out


def _decoder(folder: Folder) -> _Stepper:
    coders = [c for c in folder.coders if c.method != _COPY]
    if not coders:
        return _Stepper(None, "copy")
    if len(coders) == 1 and coders[0].method == _DEFLATE:
        return _Stepper(zlib.decompressobj(-15), "zlib")
    if len(coders) == 1 and coders[0].method == _BZIP2:
        return _Stepper(bz2.BZ2Decompressor(), "bz2")
    filters: list[dict[str, Any]] = []
    for c in coders:
        if c.method in _LZMA_FILTERS:
            filters.append({"id": _LZMA_FILTERS[c.method]})
        elif c.method == _DELTA and len(c.props) == 1:
            filters.append({"id": lzma.FILTER_DELTA, "dist": c.props[0] + 1})
        elif c.method in (_LZMA1, _LZMA2):
            filters.append(_lzma_filter(c, folder.unpack_size))
        else:
            raise SevenZipUnsupported(f"coder {c.method.hex()} is not supported")
    if filters[-1]["id"] not in (lzma.FILTER_LZMA1, lzma.FILTER_LZMA2):
        raise SevenZipUnsupported("filter chain does not end in LZMA")
    try:
        return _Stepper(lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters), "lzma")
    except (lzma.LZMAError, ValueError) as exc:
        raise SevenZipUnsupported(f"filter chain rejected: {exc}") from exc


def _lzma_filter(c: Coder, size_hint: int) -> dict[str, Any]:
    # A back-reference cannot reach past the bytes produced, so the dictionary is capped by
    # the output size: a hostile 4 GiB dictionary size allocates nothing.
    cap = max(4096, min(size_hint, 1 << 30))
    if c.method == _LZMA2:
        if len(c.props) != 1 or c.props[0] > 40:
            raise SevenZipError("invalid LZMA2 properties")
        p = c.props[0]
        dict_size = 0xFFFFFFFF if p == 40 else (2 | (p & 1)) << (p // 2 + 11)
        return {"id": lzma.FILTER_LZMA2, "dict_size": max(4096, min(dict_size, cap))}
    if len(c.props) != 5 or c.props[0] >= 225:
        raise SevenZipError("invalid LZMA properties")
    lc, rest = c.props[0] % 9, c.props[0] // 9
    (dict_size,) = struct.unpack("<I", c.props[1:5])
    return {
        "id": lzma.FILTER_LZMA1,
        "lc": lc,
        "lp": rest % 5,
        "pb": rest // 5,
        "dict_size": max(4096, min(dict_size, cap)),
    }


def folder_chunks(blob: Blob, folder: Folder, *, max_bytes: int) -> Iterator[bytes]:
    """Stream a folder's decoded output, at most ``max_bytes + 1`` bytes (then it stops).

    Raises :class:`SevenZipError` on corrupt data and :class:`SevenZipUnsupported` on coders
    this reader does not decode.
    """
    dec = _decoder(folder)
    end = min(folder.pack_offset + folder.pack_size, blob.size)
    limit = min(max_bytes + 1, folder.unpack_size)
    produced = 0
    try:
        for chunk in blob.chunks(folder.pack_offset, end, _READ):
            for out in dec.feed(chunk):
                piece = out[: limit - produced]
                produced += len(piece)
                yield piece
                if produced >= limit:
                    return
            if dec.eof:
                break
    except (lzma.LZMAError, zlib.error, OSError, EOFError, ValueError) as exc:
        raise SevenZipError(f"corrupt packed data: {exc}") from exc
    if produced < folder.unpack_size:
        raise SevenZipError(f"folder decoded to {produced} of {folder.unpack_size} bytes")


def iter_members(
    blob: Blob, archive: SevenZipArchive, folder_index: int, *, max_bytes: int
) -> Iterator[tuple[SevenZipEntry, Iterator[bytes]]]:
    """The entries with data in one folder, each with an iterator over its bytes, in order.

    Members of a solid folder share one stream: consume each member's iterator before asking
    for the next (whatever is left of it is skipped by decoding through it).
    """
    folder = archive.folders[folder_index]
    source = _Chunks(folder_chunks(blob, folder, max_bytes=max_bytes))
    for entry in archive.entries:
        if entry.folder != folder_index:
            continue
        member = source.take(entry.size)
        yield entry, member
        for _ in member:
            pass


class _Chunks:
    """Splits one stream of chunks into consecutive byte ranges."""

    def __init__(self, it: Iterator[bytes]) -> None:
        self._it = it
        self._buf = b""

    def take(self, n: int) -> Iterator[bytes]:
        while n > 0:
            if not self._buf:
                self._buf = next(self._it, b"")
                if not self._buf:
                    return
            out, self._buf = self._buf[:n], self._buf[n:]
            n -= len(out)
            yield out
