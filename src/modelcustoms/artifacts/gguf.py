"""A bounded reader of the GGUF header: version, key/value metadata, tensor infos.

Only the header region is read (through a :class:`~modelcustoms.artifacts.blob.Blob`), never
tensor data. Every count and length read from the file is checked against the bytes that
remain and against :class:`GGUFLimits` before it is used, so a billion-entry array or a
20 GB string length is a :class:`GGUFError` at once, with no allocation.

The reader never raises on malformed input: :func:`read_gguf` returns a :class:`GGUFFile`
holding everything parsed before the problem and the problem itself in ``error``.

Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from modelcustoms.artifacts.blob import Blob

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
_WINDOW = 1 << 20


class ValueType(IntEnum):
    """Type tag of a GGUF metadata value."""

    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


# struct code per fixed-size scalar type.
_SCALAR = {
    ValueType.UINT8: "B",
    ValueType.INT8: "b",
    ValueType.UINT16: "H",
    ValueType.INT16: "h",
    ValueType.UINT32: "I",
    ValueType.INT32: "i",
    ValueType.FLOAT32: "f",
    ValueType.BOOL: "?",
    ValueType.UINT64: "Q",
    ValueType.INT64: "q",
    ValueType.FLOAT64: "d",
}


@dataclass(frozen=True, slots=True)
class GGUFLimits:
    """Caps applied while reading; exceeding one is an error, never an allocation."""

    max_kv: int = 1_000_000
    max_tensors: int = 10_000_000
    max_string_bytes: int = 64 * 1024**2
    """Longest string value kept (a whole ``tokenizer.huggingface.json`` fits)."""
    max_key_bytes: int = 65_536
    max_array_items: int = 16_000_000
    """Most items in one array of strings or arrays (each must be walked to be skipped)."""
    max_array_depth: int = 3
    keep_items: int = 64
    """Items kept from arrays larger than this (the count and a digest are always kept)."""
    max_digest_bytes: int = 256 * 1024**2
    max_dims: int = 4
    """GGML_MAX_DIMS: llama.cpp refuses tensors with more dimensions."""


@dataclass(frozen=True, slots=True)
class GGUFArray:
    """An array value: its element type, its full count, and the items kept."""

    item_type: ValueType
    count: int
    items: tuple[object, ...]
    """All items when ``count <= keep_items``, else the first ``keep_items``."""
    digest: str | None = None
    """sha256 of the array's encoded items (not of the type/count prefix), for fingerprints."""

    @property
    def complete(self) -> bool:
        """True when ``items`` holds every item."""
        return len(self.items) == self.count


Value = int | float | bool | str | GGUFArray


@dataclass(frozen=True, slots=True)
class KV:
    """One metadata entry."""

    key: str
    type: ValueType
    value: Value
    offset: int
    """File offset of the entry (its key length field)."""


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor description (the data itself is never read)."""

    name: str
    dims: tuple[int, ...]
    """Sizes, innermost first (``ne[0]`` is the row length), as stored."""
    ggml_type: int
    offset: int
    """Offset of the data relative to the start of the data section."""
    info_offset: int
    """File offset of this tensor info."""

    @property
    def n_elements(self) -> int:
        """Product of the dimensions (1 for a scalar)."""
        n = 1
        for d in self.dims:
            n *= d
        return n


@dataclass(frozen=True, slots=True)
class GGUFHeader:
    """The fixed header."""

    version: int
    tensor_count: int
    kv_count: int
    byte_order: str
    """``little`` or ``big`` (big-endian files exist for s390x builds)."""


@dataclass(frozen=True, slots=True)
class GGUFError:
    """Why parsing stopped, and where."""

    message: str
    offset: int
    kind: str = "malformed"
    """``malformed``, ``truncated``, ``limit`` (a cap of :class:`GGUFLimits` was hit) or
    ``unsupported`` (a version this reader does not know)."""
    declared: int | None = None
    """Bytes the offending length or count field claimed, when one did (for triage: a claim
    larger than the whole file is hostile, not a short download)."""


@dataclass(slots=True)
class GGUFFile:
    """What was read from a GGUF header; partial when ``error`` is set."""

    header: GGUFHeader | None = None
    kvs: list[KV] = field(default_factory=list)
    tensors: list[TensorInfo] = field(default_factory=list)
    alignment: int = DEFAULT_ALIGNMENT
    data_start: int | None = None
    """File offset of the data section (end of tensor infos, padded to ``alignment``)."""
    error: GGUFError | None = None

    @property
    def complete(self) -> bool:
        """True when the whole header was read without error."""
        return self.error is None and self.data_start is not None

    def get(self, key: str) -> Value | None:
        """The value of the first entry named ``key``, or None."""
        for kv in self.kvs:
            if kv.key == key:
                return kv.value
        return None

    def items(self, prefix: str = "") -> Iterator[KV]:
        """Entries whose key starts with ``prefix``."""
        return (kv for kv in self.kvs if kv.key.startswith(prefix))


class _Stop(Exception):
    """Internal: carries a :class:`GGUFError` out of the reading loop."""

    def __init__(self, error: GGUFError) -> None:
        super().__init__(error.message)
        self.error = error


class _Cursor:
    """Sequential reads over a blob through a bounded window."""

    def __init__(self, blob: Blob, order: str) -> None:
        self.blob = blob
        self.size = blob.size
        self.pos = 0
        self.o = order
        self._buf = b""
        self._start = 0

    def remaining(self) -> int:
        return self.size - self.pos

    def _need(self, n: int) -> int:
        """Make ``[pos, pos+n)`` available; return its index in the window."""
        if n > self.size - self.pos:
            msg = f"needs {n} bytes at offset {self.pos}, only {self.size - self.pos} remain"
            raise _Stop(GGUFError(msg, self.pos, "truncated", n))
        rel = self.pos - self._start
        if rel < 0 or rel + n > len(self._buf):
            self._buf = self.blob.read(self.pos, max(n, _WINDOW))
            self._start = self.pos
            rel = 0
        return rel

    def take(self, n: int) -> bytes:
        rel = self._need(n)
        self.pos += n
        return self._buf[rel : rel + n]

    def unpack(self, code: str) -> object:
        size = struct.calcsize(code)
        rel = self._need(size)
        self.pos += size
        value: object = struct.unpack_from(self.o + code, self._buf, rel)[0]
        return value

    def u32(self) -> int:
        rel = self._need(4)
        self.pos += 4
        return int.from_bytes(self._buf[rel : rel + 4], _ORDER[self.o])

    def u64(self) -> int:
        rel = self._need(8)
        self.pos += 8
        return int.from_bytes(self._buf[rel : rel + 8], _ORDER[self.o])

    def skip_strings(self, count: int, wide: bool, keep: int, cap: int) -> tuple[list[str], int]:
        """Walk ``count`` length-prefixed strings; keep the first ``keep``; return end offset."""
        kept: list[str] = []
        lw = 8 if wide else 4
        order = _ORDER[self.o]
        for i in range(count):
            rel = self._need(lw)
            n = int.from_bytes(self._buf[rel : rel + lw], order)
            if n > cap or n > self.size - self.pos - lw:
                msg = f"string {i} of array declares {n} bytes"
                kind = "limit" if n <= self.size - self.pos - lw else "truncated"
                raise _Stop(GGUFError(msg, self.pos, kind, n))
            self.pos += lw
            if i < keep:
                kept.append(self.take(n).decode("utf-8", "replace"))
            else:
                # Bounds were checked above; the next read refills the window if needed.
                self.pos += n
        return kept, self.pos


_ORDER: dict[str, Literal["little", "big"]] = {"<": "little", ">": "big"}


def read_gguf(blob: Blob, limits: GGUFLimits | None = None) -> GGUFFile:
    """Read the GGUF header of ``blob``; never raises on malformed content."""
    lim = limits or GGUFLimits()
    out = GGUFFile()
    head = blob.head(8)
    if len(head) < 8 or head[:4] != MAGIC:
        out.error = GGUFError("not a GGUF file (bad magic or too short)", 0)
        return out
    le = int.from_bytes(head[4:8], "little")
    be = int.from_bytes(head[4:8], "big")
    # A big-endian file stores the version big-endian: 3 reads as 0x03000000 little-endian.
    order = "<" if le & 0xFFFF else ">" if be & 0xFFFF else "<"
    cur = _Cursor(blob, order)
    try:
        _read(cur, out, lim)
    except _Stop as stop:
        out.error = stop.error
    return out


def _read(cur: _Cursor, out: GGUFFile, lim: GGUFLimits) -> None:
    cur.take(4)
    version = cur.u32()
    if version not in (1, 2, 3):
        msg = f"unsupported GGUF version {version}"
        raise _Stop(GGUFError(msg, 4, "unsupported"))
    wide = version >= 2
    n_tensors = cur.u64() if wide else cur.u32()
    n_kv = cur.u64() if wide else cur.u32()
    out.header = GGUFHeader(version, n_tensors, n_kv, "little" if cur.o == "<" else "big")
    # Smallest possible entry: key length + 1-byte key is not required, so 0-byte key + type + u8.
    _check_count("metadata entries", n_kv, lim.max_kv, (8 if wide else 4) + 5, cur)
    _check_count("tensor infos", n_tensors, lim.max_tensors, (8 if wide else 4) + 4 + 4 + 8, cur)
    for _ in range(n_kv):
        start = cur.pos
        key = _string(cur, wide, lim.max_key_bytes, "key")
        vtype = _vtype(cur)
        value = _value(cur, vtype, wide, lim, 0)
        out.kvs.append(KV(key, vtype, value, start))
    align = out.get("general.alignment")
    if align is not None:
        if (
            not isinstance(align, int)
            or isinstance(align, bool)
            or align <= 0
            or align & (align - 1)
        ):
            msg = f"general.alignment must be a positive power of two, not {align!r}"
            raise _Stop(GGUFError(msg, cur.pos))
        out.alignment = align
    for _ in range(n_tensors):
        start = cur.pos
        name = _string(cur, wide, lim.max_key_bytes, "tensor name")
        n_dims = cur.u32()
        if n_dims > lim.max_dims:
            msg = f"tensor {name!r} has {n_dims} dimensions (at most {lim.max_dims})"
            raise _Stop(GGUFError(msg, start))
        dims = tuple(cur.u64() if wide else cur.u32() for _ in range(n_dims))
        gtype = cur.u32()
        offset = cur.u64()
        out.tensors.append(TensorInfo(name, dims, gtype, offset, start))
    out.data_start = -(-cur.pos // out.alignment) * out.alignment


def _check_count(what: str, n: int, cap: int, min_size: int, cur: _Cursor) -> None:
    if n > cap:
        msg = f"{n} {what} exceeds the limit of {cap}"
        raise _Stop(GGUFError(msg, cur.pos, "limit", n * min_size))
    if n * min_size > cur.remaining():
        msg = f"{n} {what} cannot fit in the {cur.remaining()} bytes that remain"
        raise _Stop(GGUFError(msg, cur.pos, "truncated", n * min_size))


def _string(cur: _Cursor, wide: bool, cap: int, what: str) -> str:
    at = cur.pos
    n = cur.u64() if wide else cur.u32()
    if n > cur.remaining():
        msg = f"{what} declares {n} bytes, only {cur.remaining()} remain"
        raise _Stop(GGUFError(msg, at, "truncated", n))
    if n > cap:
        msg = f"{what} of {n} bytes exceeds the limit of {cap}"
        raise _Stop(GGUFError(msg, at, "limit", n))
    return cur.take(n).decode("utf-8", "replace")


def _vtype(cur: _Cursor) -> ValueType:
    at = cur.pos
    raw = cur.u32()
    try:
        return ValueType(raw)
    except ValueError:
        raise _Stop(GGUFError(f"unknown metadata value type {raw}", at)) from None


def _value(cur: _Cursor, vtype: ValueType, wide: bool, lim: GGUFLimits, depth: int) -> Value:
    if vtype is ValueType.STRING:
        return _string(cur, wide, lim.max_string_bytes, "string value")
    if vtype is ValueType.ARRAY:
        return _array(cur, wide, lim, depth + 1)
    value = cur.unpack(_SCALAR[vtype])
    assert isinstance(value, int | float | bool)
    return value


def _array(cur: _Cursor, wide: bool, lim: GGUFLimits, depth: int) -> GGUFArray:
    at = cur.pos
    if depth > lim.max_array_depth:
        raise _Stop(GGUFError(f"arrays nested deeper than {lim.max_array_depth}", at, "limit"))
    itype = _vtype(cur)
    count = cur.u64() if wide else cur.u32()
    body = cur.pos
    if itype in _SCALAR:
        width = struct.calcsize(_SCALAR[itype])
        if count > cur.remaining() // width:
            msg = f"array of {count} {itype.name} items cannot fit in {cur.remaining()} bytes"
            raise _Stop(GGUFError(msg, at, "truncated", count * width))
        n_keep = min(count, lim.keep_items)
        raw = cur.take(n_keep * width)
        items: tuple[object, ...] = struct.unpack(f"{cur.o}{n_keep}{_SCALAR[itype]}", raw)
        cur.pos = body + count * width
        return GGUFArray(itype, count, items, _digest(cur, body, lim, depth))
    min_item = (8 if wide else 4) if itype is ValueType.STRING else 4 + (8 if wide else 4)
    if count > cur.remaining() // min_item:
        msg = f"array of {count} {itype.name} items cannot fit in {cur.remaining()} bytes"
        raise _Stop(GGUFError(msg, at, "truncated", count * min_item))
    if count > lim.max_array_items:
        msg = f"array of {count} items exceeds the limit of {lim.max_array_items}"
        raise _Stop(GGUFError(msg, at, "limit", count * min_item))
    keep = lim.keep_items if count > lim.keep_items else count
    if itype is ValueType.STRING:
        kept, _ = cur.skip_strings(count, wide, keep, lim.max_string_bytes)
        return GGUFArray(itype, count, tuple(kept), _digest(cur, body, lim, depth))
    # Only STRING, ARRAY and the scalars exist, so what is left is an array of arrays.
    nested: list[object] = []
    for i in range(count):
        sub = _array(cur, wide, lim, depth + 1)
        if i < keep:
            nested.append(sub)
    return GGUFArray(itype, count, tuple(nested), _digest(cur, body, lim, depth))


def _digest(cur: _Cursor, start: int, lim: GGUFLimits, depth: int = 1) -> str | None:
    """sha256 of ``[start, cur.pos)``, re-read in chunks; None past the cap or when nested."""
    if depth > 1 or cur.pos - start > lim.max_digest_bytes:
        return None
    h = hashlib.sha256()
    for chunk in cur.blob.chunks(start, cur.pos):
        h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class GGMLType:
    """A tensor element type: ``block_size`` elements are stored in ``type_size`` bytes."""

    name: str
    block_size: int
    type_size: int
    removed: bool = False
    """Dropped from ggml (files using it still exist but current llama.cpp refuses them)."""


# ggml.h ``enum ggml_type`` with block sizes from ggml-common.h. Ids 4 and 5 (Q4_2, Q4_3) were
# removed before GGUF existed and are therefore unknown here.
GGML_TYPES: dict[int, GGMLType] = {
    0: GGMLType("F32", 1, 4),
    1: GGMLType("F16", 1, 2),
    2: GGMLType("Q4_0", 32, 18),
    3: GGMLType("Q4_1", 32, 20),
    6: GGMLType("Q5_0", 32, 22),
    7: GGMLType("Q5_1", 32, 24),
    8: GGMLType("Q8_0", 32, 34),
    9: GGMLType("Q8_1", 32, 36),
    10: GGMLType("Q2_K", 256, 84),
    11: GGMLType("Q3_K", 256, 110),
    12: GGMLType("Q4_K", 256, 144),
    13: GGMLType("Q5_K", 256, 176),
    14: GGMLType("Q6_K", 256, 210),
    15: GGMLType("Q8_K", 256, 292),
    16: GGMLType("IQ2_XXS", 256, 66),
    17: GGMLType("IQ2_XS", 256, 74),
    18: GGMLType("IQ3_XXS", 256, 98),
    19: GGMLType("IQ1_S", 256, 50),
    20: GGMLType("IQ4_NL", 32, 18),
    21: GGMLType("IQ3_S", 256, 110),
    22: GGMLType("IQ2_S", 256, 82),
    23: GGMLType("IQ4_XS", 256, 136),
    24: GGMLType("I8", 1, 1),
    25: GGMLType("I16", 1, 2),
    26: GGMLType("I32", 1, 4),
    27: GGMLType("I64", 1, 8),
    28: GGMLType("F64", 1, 8),
    29: GGMLType("IQ1_M", 256, 56),
    30: GGMLType("BF16", 1, 2),
    31: GGMLType("Q4_0_4_4", 32, 18, removed=True),
    32: GGMLType("Q4_0_4_8", 32, 18, removed=True),
    33: GGMLType("Q4_0_8_8", 32, 18, removed=True),
    34: GGMLType("TQ1_0", 256, 54),
    35: GGMLType("TQ2_0", 256, 66),
    36: GGMLType("IQ4_NL_4_4", 32, 18, removed=True),
    37: GGMLType("IQ4_NL_4_8", 32, 18, removed=True),
    38: GGMLType("IQ4_NL_8_8", 32, 18, removed=True),
    39: GGMLType("MXFP4", 32, 17),
}


def tensor_nbytes(info: TensorInfo) -> int | None:
    """Bytes of the tensor's data, as ggml computes it; None for an unknown type or a row
    length that is not a whole number of blocks."""
    t = GGML_TYPES.get(info.ggml_type)
    if t is None:
        return None
    if not info.dims:
        return t.type_size if t.block_size == 1 else None
    if info.dims[0] % t.block_size:
        return None
    return info.n_elements // t.block_size * t.type_size
