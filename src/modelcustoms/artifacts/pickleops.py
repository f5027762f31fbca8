"""The pickle opcode table (protocols 0-5) and a bounded opcode parser. No judgements here.

Why not :func:`pickletools.genops`: it copies every payload, stops at the first error, reads
through ``io`` objects one call per byte group, and its length fields are trusted. This parser
reads over ``bytes`` (zero copy) or any random-access source (``read(offset, length)``, e.g. a
:class:`~modelcustoms.artifacts.blob.Blob`) through a bounded window, checks every declared
length against the bytes that remain, and returns large payloads as a :class:`Span` (offset,
length) instead of copying them. Callers restart it at any offset to continue after an error.

The table follows CPython's ``Lib/pickle.py`` and ``Lib/pickletools.py`` (PEP 307, 3154, 574).
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Iterator
from enum import IntEnum
from typing import NamedTuple, Protocol


class Arg(IntEnum):
    """How an opcode's inline argument is encoded."""

    NONE = 0
    U1 = 1
    U2 = 2
    I4 = 3
    U4 = 4
    U8 = 5
    F8 = 6
    """Big-endian IEEE double (BINFLOAT)."""
    LINE_INT = 7
    LINE_LONG = 8
    LINE_FLOAT = 9
    LINE_DECIMAL = 10
    """A decimal memo key on a line (GET, PUT)."""
    LINE_STRING = 11
    """A quoted, escaped string on a line (STRING)."""
    LINE_UNICODE = 12
    """raw-unicode-escape text on a line (UNICODE)."""
    LINE_ASCII = 13
    """A persistent id on a line (PERSID)."""
    TWO_LINES = 14
    """Module and name on two lines (GLOBAL, INST)."""
    BYTES1 = 15
    BYTES4 = 16
    BYTES4S = 17
    """Signed 4-byte length (BINSTRING): negative is an error."""
    BYTES8 = 18
    STR1 = 19
    STR4 = 20
    STR8 = 21
    LONG1 = 22
    LONG4 = 23
    LATIN1 = 24
    """SHORT_BINSTRING: 1-byte length, decoded as a py2 ``str``."""
    BYTEARRAY8 = 25


class OpInfo(NamedTuple):
    """One row of the opcode table."""

    code: int
    name: str
    arg: Arg
    proto: int
    """Lowest protocol that defines it."""


def _t(ch: str | int, name: str, arg: Arg, proto: int) -> OpInfo:
    return OpInfo(ch if isinstance(ch, int) else ord(ch), name, arg, proto)


_TABLE: tuple[OpInfo, ...] = (
    # Protocol 0 and 1 (Lib/pickle.py "Pickle opcodes").
    _t("(", "MARK", Arg.NONE, 0),
    _t(".", "STOP", Arg.NONE, 0),
    _t("0", "POP", Arg.NONE, 0),
    _t("1", "POP_MARK", Arg.NONE, 1),
    _t("2", "DUP", Arg.NONE, 0),
    _t("F", "FLOAT", Arg.LINE_FLOAT, 0),
    _t("I", "INT", Arg.LINE_INT, 0),
    _t("J", "BININT", Arg.I4, 1),
    _t("K", "BININT1", Arg.U1, 1),
    _t("L", "LONG", Arg.LINE_LONG, 0),
    _t("M", "BININT2", Arg.U2, 1),
    _t("N", "NONE", Arg.NONE, 0),
    _t("P", "PERSID", Arg.LINE_ASCII, 0),
    _t("Q", "BINPERSID", Arg.NONE, 1),
    _t("R", "REDUCE", Arg.NONE, 0),
    _t("S", "STRING", Arg.LINE_STRING, 0),
    _t("T", "BINSTRING", Arg.BYTES4S, 1),
    _t("U", "SHORT_BINSTRING", Arg.LATIN1, 1),
    _t("V", "UNICODE", Arg.LINE_UNICODE, 0),
    _t("X", "BINUNICODE", Arg.STR4, 1),
    _t("a", "APPEND", Arg.NONE, 0),
    _t("b", "BUILD", Arg.NONE, 0),
    _t("c", "GLOBAL", Arg.TWO_LINES, 0),
    _t("d", "DICT", Arg.NONE, 0),
    _t("}", "EMPTY_DICT", Arg.NONE, 1),
    _t("e", "APPENDS", Arg.NONE, 1),
    _t("g", "GET", Arg.LINE_DECIMAL, 0),
    _t("h", "BINGET", Arg.U1, 1),
    _t("i", "INST", Arg.TWO_LINES, 0),
    _t("j", "LONG_BINGET", Arg.U4, 1),
    _t("l", "LIST", Arg.NONE, 0),
    _t("]", "EMPTY_LIST", Arg.NONE, 1),
    _t("o", "OBJ", Arg.NONE, 1),
    _t("p", "PUT", Arg.LINE_DECIMAL, 0),
    _t("q", "BINPUT", Arg.U1, 1),
    _t("r", "LONG_BINPUT", Arg.U4, 1),
    _t("s", "SETITEM", Arg.NONE, 0),
    _t("t", "TUPLE", Arg.NONE, 0),
    _t(")", "EMPTY_TUPLE", Arg.NONE, 1),
    _t("u", "SETITEMS", Arg.NONE, 1),
    _t("G", "BINFLOAT", Arg.F8, 1),
    # Protocol 2 (PEP 307).
    _t(0x80, "PROTO", Arg.U1, 2),
    _t(0x81, "NEWOBJ", Arg.NONE, 2),
    _t(0x82, "EXT1", Arg.U1, 2),
    _t(0x83, "EXT2", Arg.U2, 2),
    _t(0x84, "EXT4", Arg.I4, 2),
    _t(0x85, "TUPLE1", Arg.NONE, 2),
    _t(0x86, "TUPLE2", Arg.NONE, 2),
    _t(0x87, "TUPLE3", Arg.NONE, 2),
    _t(0x88, "NEWTRUE", Arg.NONE, 2),
    _t(0x89, "NEWFALSE", Arg.NONE, 2),
    _t(0x8A, "LONG1", Arg.LONG1, 2),
    _t(0x8B, "LONG4", Arg.LONG4, 2),
    # Protocol 3.
    _t("B", "BINBYTES", Arg.BYTES4, 3),
    _t("C", "SHORT_BINBYTES", Arg.BYTES1, 3),
    # Protocol 4 (PEP 3154).
    _t(0x8C, "SHORT_BINUNICODE", Arg.STR1, 4),
    _t(0x8D, "BINUNICODE8", Arg.STR8, 4),
    _t(0x8E, "BINBYTES8", Arg.BYTES8, 4),
    _t(0x8F, "EMPTY_SET", Arg.NONE, 4),
    _t(0x90, "ADDITEMS", Arg.NONE, 4),
    _t(0x91, "FROZENSET", Arg.NONE, 4),
    _t(0x92, "NEWOBJ_EX", Arg.NONE, 4),
    _t(0x93, "STACK_GLOBAL", Arg.NONE, 4),
    _t(0x94, "MEMOIZE", Arg.NONE, 4),
    _t(0x95, "FRAME", Arg.U8, 4),
    # Protocol 5 (PEP 574).
    _t(0x96, "BYTEARRAY8", Arg.BYTEARRAY8, 5),
    _t(0x97, "NEXT_BUFFER", Arg.NONE, 5),
    _t(0x98, "READONLY_BUFFER", Arg.NONE, 5),
)

OPCODES: dict[int, OpInfo] = {row.code: row for row in _TABLE}
"""Opcode byte → table row."""
BY_NAME: dict[str, int] = {row.name: row.code for row in _TABLE}
"""Opcode name → byte."""
HIGHEST_PROTOCOL = 5

_KIND: list[int] = [-1] * 256
for _row in _TABLE:
    _KIND[_row.code] = int(_row.arg)

INLINE_LIMIT = 4096
"""Payloads up to this size are returned as values; larger ones as a :class:`Span`."""
MAX_LINE = 1 << 20
"""Longest text line (protocol 0 argument) searched for; longer lines are an error."""
WINDOW = 8 << 20
"""Bytes read at a time from sources that are not in memory."""

_I4 = struct.Struct("<i")
_U4 = struct.Struct("<I")
_U8 = struct.Struct("<Q")
_F8 = struct.Struct(">d")
_U2 = struct.Struct("<H")


class Readable(Protocol):
    """Random access to a byte sequence of known size (a Blob satisfies this)."""

    @property
    def size(self) -> int:
        """Total size in bytes."""
        ...

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``."""
        ...


Source = bytes | memoryview | Readable
"""What the parser reads."""


class Span(NamedTuple):
    """A payload that was not copied: ``length`` bytes at ``offset`` of the source."""

    offset: int
    length: int
    kind: str
    """``bytes``, ``str``, ``bytearray`` or ``long`` (an integer too long to decode)."""


class Op(NamedTuple):
    """One decoded opcode."""

    code: int
    name: str
    arg: object
    """Decoded argument (None for opcodes without one; a :class:`Span` for large payloads)."""
    offset: int


class PickleParseError(Exception):
    """The bytes at ``offset`` are not a valid opcode or argument."""

    def __init__(self, offset: int, message: str, *, truncated: bool = False) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset
        self.message = message
        self.truncated = truncated
        """True when the input ended inside an opcode (as opposed to invalid bytes)."""


def opcode_name(code: int) -> str:
    """The name of opcode ``code`` (``0x..`` for unknown bytes)."""
    row = OPCODES.get(code)
    return row.name if row else f"0x{code:02x}"


def read_span(src: Source, span: Span, limit: int | None = None) -> bytes:
    """The bytes of ``span`` (at most ``limit`` of them)."""
    n = span.length if limit is None else min(span.length, limit)
    if isinstance(src, bytes | memoryview):
        return bytes(src[span.offset : span.offset + n])
    return src.read(span.offset, n)


def _size(src: Source) -> int:
    if isinstance(src, bytes | memoryview):
        return len(src)
    return src.size


def raw_ops(
    src: Source, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, object, int]]:
    """``(code, argument, offset)`` for each opcode from ``start``; never stops at STOP.

    Raises :class:`PickleParseError` at the first invalid opcode or argument and at the end of
    the input (a stream that ends without STOP is truncated). The caller bounds the count.
    """
    total = _size(src)
    stop = total if end is None else min(end, total)
    mem = isinstance(src, bytes)
    if mem:
        assert isinstance(src, bytes)
        buf: bytes = src
        base = 0
        i = start
        n = stop
    else:
        buf = b""
        base = start
        i = 0
        n = 0
    kinds = _KIND
    fixed = _FIXED
    u2, i4, u4, u8, f8 = (
        _U2.unpack_from,
        _I4.unpack_from,
        _U4.unpack_from,
        _U8.unpack_from,
        _F8.unpack_from,
    )
    while True:
        if n - i < 9 and base + n < stop:
            # Refill: the window always holds at least the opcode and a fixed-size argument.
            assert not isinstance(src, bytes)
            base += i
            buf = _read(src, base, min(WINDOW, stop - base))
            i = 0
            n = len(buf)
        if i >= n:
            raise PickleParseError(
                base + i, "pickle data truncated (no STOP opcode)", truncated=True
            )
        code = buf[i]
        kind = kinds[code]
        i += 1
        # Fast paths first: the opcodes that make up the bulk of ordinary data.
        if kind == 0:
            yield code, None, base + i - 1
            continue
        if kind == 1:
            if i >= n:
                raise PickleParseError(base + i - 1, "truncated argument", truncated=True)
            i += 1
            yield code, buf[i - 1], base + i - 2
            continue
        if kind == 19:
            if i >= n:
                raise PickleParseError(base + i - 1, "truncated length", truncated=True)
            length = buf[i]
            if n - i - 1 >= length:
                raw = buf[i + 1 : i + 1 + length]
                i += 1 + length
                try:
                    text = raw.decode("utf-8", "surrogatepass")
                except UnicodeDecodeError as exc:
                    raise PickleParseError(base + i - length - 2, "invalid UTF-8") from exc
                yield code, text, base + i - length - 2
                continue
        off = base + i - 1
        if kind < 0:
            raise PickleParseError(off, f"invalid opcode 0x{code:02x}")
        if kind <= 6:
            width = fixed[kind]
            if n - i < width:
                raise PickleParseError(
                    off, f"truncated argument of {opcode_name(code)}", truncated=True
                )
            if kind == 3:
                arg: object = i4(buf, i)[0]
            elif kind == 6:
                arg = f8(buf, i)[0]
            elif kind == 2:
                arg = u2(buf, i)[0]
            elif kind == 4:
                arg = u4(buf, i)[0]
            else:
                arg = u8(buf, i)[0]
            i += width
            yield code, arg, off
            continue
        if kind <= 14:
            # Text-line arguments (protocol 0): find the newline, growing the window if needed.
            lines = 2 if kind == 14 else 1
            vals: list[bytes] = []
            for _ in range(lines):
                j = buf.find(b"\n", i, n)
                while j < 0 and not mem and base + n < stop and n - i < MAX_LINE:
                    assert not isinstance(src, bytes)
                    base += i
                    buf = _read(src, base, min(max(WINDOW, 2 * (n - i)), stop - base))
                    i = 0
                    n = len(buf)
                    j = buf.find(b"\n", i, n)
                if j < 0 or j - i > MAX_LINE:
                    raise PickleParseError(
                        off,
                        f"unterminated line argument of {opcode_name(code)}",
                        truncated=j < 0 and base + n >= stop,
                    )
                vals.append(buf[i:j])
                i = j + 1
            yield code, _decode_line(kind, vals, off, code), off
            continue
        # Length-prefixed payloads.
        width = _LENW[kind]
        if n - i < width:
            raise PickleParseError(off, f"truncated length of {opcode_name(code)}", truncated=True)
        if width == 1:
            length = buf[i]
        elif width == 4:
            length = (_I4 if kind in _SIGNED else _U4).unpack_from(buf, i)[0]
        else:
            length = _U8.unpack_from(buf, i)[0]
        i += width
        if length < 0:
            raise PickleParseError(off, f"negative length in {opcode_name(code)}")
        pos = base + i
        if length > stop - pos:
            raise PickleParseError(
                off,
                f"{opcode_name(code)} declares {length} bytes, only {stop - pos} remain",
                truncated=True,
            )
        if length <= INLINE_LIMIT:
            if n - i >= length:
                raw = buf[i : i + length]
                i += length
            else:
                raw = _read_at(src, pos, length)
                base, i, buf, n = pos + length, 0, b"", 0
            yield code, _decode_payload(kind, raw, off, code, pos), off
        else:
            # Large payload: skip it without copying; the caller re-reads it only if needed.
            if n - i >= length:
                i += length
            else:
                if mem:
                    i += length
                else:
                    base, i, buf, n = pos + length, 0, b"", 0
            yield code, Span(pos, length, _SPAN_KIND[kind]), off


_FIXED = {1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 6: 8}
_LENW = {15: 1, 16: 4, 17: 4, 18: 8, 19: 1, 20: 4, 21: 8, 22: 1, 23: 4, 24: 1, 25: 8}
_SIGNED = frozenset({17, 23})
_SPAN_KIND = {
    15: "bytes",
    16: "bytes",
    17: "str",
    18: "bytes",
    19: "str",
    20: "str",
    21: "str",
    22: "long",
    23: "long",
    24: "str",
    25: "bytearray",
}


def _read(src: Source, offset: int, length: int) -> bytes:
    if isinstance(src, memoryview):
        return bytes(src[offset : offset + length])
    assert not isinstance(src, bytes)
    return src.read(offset, length)


def _read_at(src: Source, offset: int, length: int) -> bytes:
    if isinstance(src, bytes):
        return src[offset : offset + length]
    return _read(src, offset, length)


def _decode_payload(kind: int, raw: bytes, off: int, code: int, pos: int) -> object:
    if kind in (15, 16, 18, 25):
        return raw
    if kind in (17, 24):
        # py2 str: unpicklers decode it (ASCII by default, latin1 for numpy); latin1 never fails.
        return raw.decode("latin-1")
    if kind in (22, 23):
        return (
            int.from_bytes(raw, "little", signed=True)
            if len(raw) <= 64
            else Span(pos, len(raw), "long")
        )
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise PickleParseError(off, f"invalid UTF-8 in {opcode_name(code)}") from exc


def _decode_line(kind: int, vals: list[bytes], off: int, code: int) -> object:
    data = vals[0]
    try:
        if kind == 14:
            return (vals[0].decode("utf-8"), vals[1].decode("utf-8"))
        if kind == 7:
            if data == b"00":
                return False
            if data == b"01":
                return True
            return int(data, 0)
        if kind == 8:
            return int(data[:-1] if data.endswith(b"L") else data, 0)
        if kind == 9:
            return float(data)
        if kind == 10:
            return int(data)
        if kind == 11:
            if len(data) < 2 or data[:1] != data[-1:] or data[:1] not in (b"'", b'"'):
                raise PickleParseError(off, "STRING argument is not quoted")
            return codecs.escape_decode(data[1:-1])[0].decode("latin-1")
        if kind == 12:
            return data.decode("raw-unicode-escape")
        return data.decode("ascii")
    except PickleParseError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise PickleParseError(off, f"invalid argument of {opcode_name(code)}: {exc}") from exc


def iter_ops(src: Source, start: int = 0, end: int | None = None) -> Iterator[Op]:
    """Each :class:`Op` from ``start`` (see :func:`raw_ops` for errors and limits)."""
    for code, arg, off in raw_ops(src, start, end):
        yield Op(code, OPCODES[code].name, arg, off)


# Opcodes that consume items (how many, or -1: everything down to the last MARK) and push one.
_POPS: dict[str, tuple[int, int]] = {
    "STOP": (1, 0),
    "POP": (1, 0),
    "DUP": (1, 2),
    "BINPERSID": (1, 1),
    "REDUCE": (2, 1),
    "APPEND": (2, 1),
    "BUILD": (2, 1),
    "SETITEM": (3, 1),
    "NEWOBJ": (2, 1),
    "NEWOBJ_EX": (3, 1),
    "STACK_GLOBAL": (2, 1),
    "TUPLE1": (1, 1),
    "TUPLE2": (2, 1),
    "TUPLE3": (3, 1),
    "PUT": (1, 1),
    "BINPUT": (1, 1),
    "LONG_BINPUT": (1, 1),
    "MEMOIZE": (1, 1),
    "READONLY_BUFFER": (1, 1),
}
_MARKED = frozenset(
    {
        "TUPLE",
        "LIST",
        "DICT",
        "INST",
        "OBJ",
        "FROZENSET",
        "POP_MARK",
        "APPENDS",
        "SETITEMS",
        "ADDITEMS",
    }
)
_MARKED_KEEPS = frozenset({"APPENDS", "SETITEMS", "ADDITEMS"})
_CALLS = frozenset({"REDUCE", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD", "INST"})
_IDENT = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def plausible_pickle(head: bytes, max_ops: int = 256) -> bool:
    """Whether ``head`` (the first bytes of a file) parses as a protocol 0/1 pickle.

    A structural check, stack and marks included: text that happens to start with an opcode
    letter fails within a few opcodes (an unquoted STRING, a DICT without a MARK, a GLOBAL
    whose names are not identifiers, a byte that is no opcode). A stream that breaks after it
    has imported and called something is still a pickle: loaders run that prefix before they
    reach the break (nullifAI), so it must be analysed, not dismissed as unknown bytes.
    """
    depth = 0
    marks: list[int] = []
    count = 0
    imported = called = False
    try:
        for op in iter_ops(head):
            count += 1
            name = op.name
            if name in ("GLOBAL", "INST"):
                assert isinstance(op.arg, tuple)
                if not all(part and set(part.encode()) <= _IDENT for part in op.arg):
                    return False
                imported = True
            if imported and name in _CALLS:
                called = True
            if name == "MARK":
                marks.append(depth)
                continue
            if name in _MARKED:
                if not marks:
                    return False
                depth = marks.pop()
                if name in _MARKED_KEEPS:
                    if depth < 1:
                        return False
                    continue
                if name in ("POP_MARK",):
                    continue
                if name == "OBJ" and depth < 0:
                    return False
                depth += 1
                continue
            pops, pushes = _POPS.get(name, (0, 1))
            floor = marks[-1] if marks else 0
            if depth - pops < floor:
                return False
            depth += pushes - pops
            if name == "STOP":
                return depth == 0 and not marks and count >= 2
            if count >= max_ops:
                return True
    except PickleParseError as exc:
        # Running off the end of the head is fine for a long pickle; anything else is not.
        return (exc.truncated and count >= 4) or (imported and called)
    return False
