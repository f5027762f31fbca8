"""A bounded zip reader that reads archives the way PyTorch's reader (miniz) does.

Python's :mod:`zipfile` rejects archives that ``torch.load`` happily opens (flag bits flipped,
bad CRCs, prepended data), so a scanner built on it can be blinded by a file that still loads.
This reader locates the end record from the back, trusts the central directory for names and
sizes (as miniz does), reads every local header, and records every disagreement between the
two views as an *anomaly* instead of failing.

Anomalies are strings ``"<kind>: <detail>"``; :func:`anomaly_kind` returns the kind, one of
the ``KIND_*`` constants below.
"""

from __future__ import annotations

import bz2
import itertools
import lzma
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from modelcustoms.artifacts.blob import Blob

_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_LOC64 = b"PK\x06\x07"
_CDH = b"PK\x01\x02"
_LFH = b"PK\x03\x04"
_MAX_COMMENT = 0xFFFF
_MAX_CD_BYTES = 512 * 1024**2
_READ = 1024 * 1024
_OUT = 1024 * 1024

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
SUPPORTED_METHODS = frozenset({STORED, DEFLATED, BZIP2, LZMA})

# Bit 0: encrypted, 5: patched data, 6: strong encryption, 13: masked local headers, and the
# reserved bits. Bits 1-3 (deflate options, data descriptor) and 11 (UTF-8) are ordinary.
_SUSPICIOUS_FLAGS = 0x0001 | 0x0010 | 0x0020 | 0x0040 | 0x0780 | 0x1000 | 0x2000 | 0xC000

KIND_NAME_MISMATCH = "name-mismatch"
KIND_DUPLICATE = "duplicate-name"
KIND_FLAGS = "flag-bits"
KIND_OVERLAP = "overlap"
KIND_SIZE_MISMATCH = "size-mismatch"
KIND_COUNT_MISMATCH = "count-mismatch"
KIND_PREFIX = "prefix-data"
KIND_TRAILING = "trailing-data"
KIND_TRAVERSAL = "path-traversal"
KIND_ODD_NAME = "odd-name"
KIND_BAD_LOCAL = "bad-local-header"
KIND_TRUNCATED = "truncated"
KIND_METHOD = "unsupported-method"

CONFUSION_KINDS = frozenset(
    {KIND_NAME_MISMATCH, KIND_DUPLICATE, KIND_FLAGS, KIND_OVERLAP, KIND_SIZE_MISMATCH}
)
"""Disagreements between views of the archive that different readers resolve differently."""


class ZipFormatError(Exception):
    """The bytes are not a zip archive this reader can list, or a member cannot be read."""


class ZipTooManyEntries(ZipFormatError):
    """The archive lists more entries than the caller allows."""


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One member as the central directory describes it, with its local header's view."""

    name: str
    """Name from the central directory (what miniz/torch looks up)."""
    local_name: str
    """Name from the local header (what streaming readers see)."""
    method: int
    flags: int
    crc32: int
    compressed_size: int
    size: int
    header_offset: int
    """Absolute offset of the local header in the blob (prepended data accounted for)."""
    data_offset: int
    """Absolute offset of the member's (compressed) data."""


@dataclass(frozen=True, slots=True)
class ZipListing:
    """The members of an archive and every structural anomaly seen while listing them."""

    entries: tuple[ZipEntry, ...]
    anomalies: tuple[str, ...]
    prefix: int
    """Bytes before the first local header (self-extractors, polyglots)."""
    end: int = 0
    """Offset just past the end record and its comment; bytes after it are trailing data."""


def anomaly_kind(anomaly: str) -> str:
    """The ``KIND_*`` part of an anomaly string."""
    return anomaly.split(":", 1)[0]


def read_zip(blob: Blob, *, max_entries: int = 1_000_000) -> ZipListing:
    """List ``blob`` from its central directory, recording anomalies; raise if it is no zip."""
    anomalies: list[str] = []
    eocd_pos, cd_count, cd_size, cd_offset, end = _find_end(blob, anomalies)
    shift = 0
    if cd_count and blob.read(cd_offset, 4) != _CDH:
        # Like zipfile, account for data prepended to the whole archive (it shifts every offset).
        shift = eocd_pos - cd_size - cd_offset
        if shift <= 0 or blob.read(cd_offset + shift, 4) != _CDH:
            msg = f"no central directory at offset {cd_offset}"
            raise ZipFormatError(msg)
    cd_start = cd_offset + shift
    if cd_size > _MAX_CD_BYTES or cd_start + cd_size > blob.size:
        msg = f"central directory of {cd_size} bytes at {cd_start} does not fit the file"
        raise ZipFormatError(msg)
    if cd_count > max_entries:
        msg = f"{cd_count} entries exceed the limit of {max_entries}"
        raise ZipTooManyEntries(msg)
    cd = blob.read(cd_start, cd_size)
    entries = _read_central(blob, cd, shift, max_entries, anomalies)
    if len(entries) != cd_count:
        anomalies.append(
            f"{KIND_COUNT_MISMATCH}: end record says {cd_count} entries, "
            f"central directory holds {len(entries)}"
        )
    _check_layout(entries, cd_start, cd_start + cd_size, eocd_pos, end, blob.size, anomalies)
    prefix = min((e.header_offset for e in entries), default=cd_start)
    return ZipListing(entries=tuple(entries), anomalies=_capped(anomalies), prefix=prefix, end=end)


def _capped(anomalies: list[str], per_kind: int = 20) -> tuple[str, ...]:
    """At most ``per_kind`` anomalies of each kind, plus a count of the rest."""
    kept: list[str] = []
    counts: dict[str, int] = {}
    for a in anomalies:
        kind = anomaly_kind(a)
        counts[kind] = counts.get(kind, 0) + 1
        if counts[kind] <= per_kind:
            kept.append(a)
    kept.extend(f"{k}: {n - per_kind} more" for k, n in counts.items() if n > per_kind)
    return tuple(kept)


def _find_end(blob: Blob, anomalies: list[str]) -> tuple[int, int, int, int, int]:
    """Locate the (zip64) end record: position, entry count, CD size, CD offset, archive end."""
    tail_start = max(0, blob.size - (_MAX_COMMENT + 22))
    tail = blob.read(tail_start, blob.size - tail_start)
    pos = tail.rfind(_EOCD)
    # The last signature that leaves room for a full record (a comment may contain one too).
    while pos >= 0 and len(tail) - pos < 22:
        pos = tail.rfind(_EOCD, 0, pos)
    if pos < 0:
        msg = "no end-of-central-directory record"
        raise ZipFormatError(msg)
    rec = tail[pos : pos + 22]
    _, disk, cd_disk, _n_disk, count, cd_size, cd_offset, comment_len = struct.unpack(
        "<4sHHHHIIH", rec
    )
    eocd_pos = tail_start + pos
    end = eocd_pos + 22 + comment_len
    if disk != 0 or cd_disk != 0:
        msg = "multi-disk archives are not supported"
        raise ZipFormatError(msg)
    loc = blob.read(eocd_pos - 20, 20) if eocd_pos >= 20 else b""
    if loc[:4] == _LOC64:
        _, _, z64_off, _ = struct.unpack("<4sIQI", loc)
        rec64 = blob.read(z64_off, 56)
        if rec64[:4] != _EOCD64 and eocd_pos >= 76:
            # Like zipfile: with data prepended the record still sits right before the locator.
            z64_off = eocd_pos - 76
            rec64 = blob.read(z64_off, 56)
        if len(rec64) < 56 or rec64[:4] != _EOCD64:
            msg = "zip64 end record is missing"
            raise ZipFormatError(msg)
        count, cd_size, cd_offset = struct.unpack("<QQQ", rec64[32:56])
        eocd_pos = z64_off
    if end > blob.size:
        anomalies.append(f"{KIND_TRUNCATED}: archive comment runs past the end of the file")
    return eocd_pos, count, cd_size, cd_offset, min(end, blob.size)


def _read_central(
    blob: Blob, cd: bytes, shift: int, max_entries: int, anomalies: list[str]
) -> list[ZipEntry]:
    entries: list[ZipEntry] = []
    seen: set[str] = set()
    pos = 0
    while pos + 46 <= len(cd) and cd[pos : pos + 4] == _CDH:
        if len(entries) >= max_entries:
            msg = f"more than {max_entries} entries"
            raise ZipTooManyEntries(msg)
        (flags, method, _t, _d, crc, csize, usize, n_len, x_len, c_len) = struct.unpack(
            "<HHHHIIIHHH", cd[pos + 8 : pos + 34]
        )
        (offset,) = struct.unpack("<I", cd[pos + 42 : pos + 46])
        name_end = pos + 46 + n_len
        if name_end + x_len + c_len > len(cd):
            anomalies.append(f"{KIND_TRUNCATED}: central directory entry {len(entries)} is cut")
            break
        raw_name = cd[pos + 46 : name_end]
        extra = cd[name_end : name_end + x_len]
        usize, csize, offset = _zip64_sizes(extra, usize, csize, offset)
        name = _decode_name(raw_name, flags)
        pos = name_end + x_len + c_len
        entry = _with_local(blob, name, flags, method, crc, csize, usize, offset + shift, anomalies)
        if entry is None:
            continue
        if name in seen:
            anomalies.append(f"{KIND_DUPLICATE}: {name!r} appears more than once")
        seen.add(name)
        _check_name(name, anomalies)
        if flags & _SUSPICIOUS_FLAGS:
            anomalies.append(f"{KIND_FLAGS}: {name!r} has general-purpose flags 0x{flags:04x}")
        if method not in SUPPORTED_METHODS:
            anomalies.append(f"{KIND_METHOD}: {name!r} uses compression method {method}")
        entries.append(entry)
    return entries


def _with_local(
    blob: Blob,
    name: str,
    flags: int,
    method: int,
    crc: int,
    csize: int,
    usize: int,
    offset: int,
    anomalies: list[str],
) -> ZipEntry | None:
    head = blob.read(offset, 30)
    if len(head) < 30 or head[:4] != _LFH:
        anomalies.append(f"{KIND_BAD_LOCAL}: no local header for {name!r} at offset {offset}")
        return None
    (l_flags, l_method, _t, _d, l_crc, l_csize, l_usize, n_len, x_len) = struct.unpack(
        "<HHHHIIIHH", head[6:30]
    )
    tail = blob.read(offset + 30, n_len + x_len)
    if len(tail) < n_len + x_len:
        anomalies.append(f"{KIND_TRUNCATED}: local header of {name!r} is cut")
        return None
    local_name = _decode_name(tail[:n_len], l_flags)
    l_usize, l_csize, _ = _zip64_sizes(tail[n_len:], l_usize, l_csize, 0)
    if local_name != name:
        anomalies.append(f"{KIND_NAME_MISMATCH}: central name {name!r}, local name {local_name!r}")
    if l_flags != flags or l_method != method:
        anomalies.append(
            f"{KIND_FLAGS}: {name!r} local header says flags 0x{l_flags:04x} method {l_method}, "
            f"central directory says flags 0x{flags:04x} method {method}"
        )
    if not flags & 0x08 and (l_crc, l_csize, l_usize) != (crc, csize, usize):
        anomalies.append(f"{KIND_SIZE_MISMATCH}: {name!r} sizes or CRC differ between headers")
    if method == STORED and csize != usize:
        anomalies.append(f"{KIND_SIZE_MISMATCH}: stored {name!r} has two different sizes")
    data_offset = offset + 30 + n_len + x_len
    if data_offset + csize > blob.size:
        anomalies.append(f"{KIND_TRUNCATED}: data of {name!r} runs past the end of the file")
    return ZipEntry(
        name=name,
        local_name=local_name,
        method=method,
        flags=flags,
        crc32=crc,
        compressed_size=csize,
        size=usize,
        header_offset=offset,
        data_offset=data_offset,
    )


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if tag != 0x0001:
            continue
        vals = [struct.unpack("<Q", body[i : i + 8])[0] for i in range(0, len(body) - 7, 8)]
        if usize == 0xFFFFFFFF and vals:
            usize = vals.pop(0)
        if csize == 0xFFFFFFFF and vals:
            csize = vals.pop(0)
        if offset == 0xFFFFFFFF and vals:
            offset = vals.pop(0)
    return usize, csize, offset


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & 0x800:
        return raw.decode("utf-8", "surrogateescape")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def _check_name(name: str, anomalies: list[str]) -> None:
    if path_escapes(name):
        anomalies.append(f"{KIND_TRAVERSAL}: {name!r} escapes the extraction folder")
    elif "\\" in name or "\x00" in name:
        anomalies.append(f"{KIND_ODD_NAME}: {name!r} contains a backslash or NUL")


def path_escapes(name: str) -> bool:
    """True when a member name is absolute, has a drive letter or climbs out with ``..``."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) >= 2 and norm[1] == ":" and norm[0].isalpha()):
        return True
    depth = 0
    for part in norm.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _check_layout(
    entries: list[ZipEntry],
    cd_start: int,
    cd_end: int,
    eocd_pos: int,
    end: int,
    size: int,
    anomalies: list[str],
) -> None:
    spans = sorted((e.header_offset, e.data_offset + e.compressed_size, e.name) for e in entries)
    for (_, a_end, a_name), (b_start, _, b_name) in itertools.pairwise(spans):
        if b_start < a_end:
            anomalies.append(f"{KIND_OVERLAP}: {a_name!r} overlaps {b_name!r}")
    if spans and spans[-1][1] > cd_start:
        anomalies.append(f"{KIND_OVERLAP}: {spans[-1][2]!r} overlaps the central directory")
    first = spans[0][0] if spans else cd_start
    if first > 0:
        anomalies.append(f"{KIND_PREFIX}: {first} bytes before the first member")
    if eocd_pos > cd_end:
        anomalies.append(f"{KIND_TRAILING}: {eocd_pos - cd_end} bytes after the central directory")
    if end < size:
        anomalies.append(f"{KIND_TRAILING}: {size - end} bytes after the end record")


class MemberStream(Iterator[bytes]):
    """Decompressed chunks of one member, with the CRC and size learnt while streaming.

    Decoding errors end the stream and are kept in :attr:`error` (the bytes read so far are
    still worth analysing); check :attr:`crc_ok` once the stream is exhausted.
    """

    def __init__(self, blob: Blob, entry: ZipEntry, max_bytes: int) -> None:
        if entry.method not in SUPPORTED_METHODS:
            msg = f"compression method {entry.method} of {entry.name!r} is not supported"
            raise ZipFormatError(msg)
        self.entry = entry
        self.max_bytes = max_bytes
        self.consumed = 0
        """Compressed bytes read so far."""
        self.produced = 0
        """Decompressed bytes yielded so far."""
        self.crc = 0
        self.finished = False
        """True once the whole member was decoded."""
        self.error: str | None = None
        self._gen = self._run(blob)

    @property
    def crc_ok(self) -> bool | None:
        """Whether the CRC matched; None while the member was not decoded completely."""
        if not self.finished:
            return None
        return self.crc == self.entry.crc32

    def __next__(self) -> bytes:
        return next(self._gen)

    def _run(self, blob: Blob) -> Iterator[bytes]:
        e = self.entry
        try:
            for out in _decode(e, self._raw(blob)):
                room = self.max_bytes + 1 - self.produced
                out = out[:room]
                self.crc = zlib.crc32(out, self.crc)
                self.produced += len(out)
                yield out
                if self.produced > self.max_bytes:
                    return
        except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return
        if self.consumed < e.compressed_size:
            self.error = "compressed data is cut short"
            return
        if self.produced != e.size:
            self.error = f"decoded {self.produced} bytes, headers say {e.size}"
        self.finished = True

    def _raw(self, blob: Blob) -> Iterator[bytes]:
        e = self.entry
        for chunk in blob.chunks(e.data_offset, e.data_offset + e.compressed_size, _READ):
            self.consumed += len(chunk)
            yield chunk


def _decode(entry: ZipEntry, raw: Iterator[bytes]) -> Iterator[bytes]:
    if entry.method == STORED:
        yield from raw
        return
    if entry.method == DEFLATED:
        d = zlib.decompressobj(-15)
        for chunk in raw:
            data = chunk
            while data:
                out = d.decompress(data, _OUT)
                data = d.unconsumed_tail
                if out:
                    yield out
            if d.eof:
                return
        msg = "deflate stream is incomplete"
        raise ValueError(msg)
    yield from _decode_other(entry, raw)


def _decode_other(entry: ZipEntry, raw: Iterator[bytes]) -> Iterator[bytes]:
    dec: bz2.BZ2Decompressor | lzma.LZMADecompressor
    if entry.method == BZIP2:
        dec = bz2.BZ2Decompressor()
    else:
        first = next(raw, b"")
        while len(first) < 9:
            more = next(raw, b"")
            if not more:
                msg = "LZMA member header is cut"
                raise ValueError(msg)
            first += more
        (psize,) = struct.unpack("<H", first[2:4])
        if psize != 5 or len(first) < 4 + psize:
            msg = "unexpected LZMA properties size"
            raise ValueError(msg)
        dec = lzma_raw_decoder(first[4:9], entry.size)
        raw = _prepend(first[9:], raw)
    for chunk in raw:
        out = dec.decompress(chunk, _OUT)
        if out:
            yield out
        while not dec.eof and not dec.needs_input:
            out = dec.decompress(b"", _OUT)
            if not out:
                break
            yield out
        if dec.eof:
            return


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def lzma_raw_decoder(props: bytes, size_hint: int) -> lzma.LZMADecompressor:
    """A raw LZMA1 decoder from 5 property bytes, its dictionary capped by the output size.

    A back-reference cannot reach further than the bytes already produced, so a dictionary no
    larger than the output is enough, and a hostile 4 GiB dictionary size allocates nothing.
    """
    if len(props) != 5 or props[0] >= 9 * 5 * 5:
        msg = "invalid LZMA properties"
        raise ValueError(msg)
    lc, rest = props[0] % 9, props[0] // 9
    lp, pb = rest % 5, rest // 5
    (dict_size,) = struct.unpack("<I", props[1:5])
    dict_size = max(4096, min(dict_size, max(size_hint, 4096), 1 << 30))
    filt = {"id": lzma.FILTER_LZMA1, "lc": lc, "lp": lp, "pb": pb, "dict_size": dict_size}
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt])


def member_chunks(blob: Blob, entry: ZipEntry, *, max_bytes: int) -> MemberStream:
    """Stream a member's decompressed bytes, stopping after ``max_bytes + 1`` bytes.

    The returned :class:`MemberStream` is an iterator of chunks; after it is exhausted its
    ``crc_ok`` and ``error`` say whether the member decoded cleanly.
    """
    return MemberStream(blob, entry, max_bytes)


def read_member(blob: Blob, entry: ZipEntry, *, max_bytes: int) -> bytes:
    """The whole decompressed member; raises :class:`ZipFormatError` when larger or broken."""
    stream = member_chunks(blob, entry, max_bytes=max_bytes)
    data = b"".join(stream)
    if len(data) > max_bytes:
        msg = f"member {entry.name!r} is larger than {max_bytes} bytes"
        raise ZipFormatError(msg)
    if stream.error is not None:
        msg = f"member {entry.name!r}: {stream.error}"
        raise ZipFormatError(msg)
    return data
