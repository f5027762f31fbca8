"""Opcode writers for the data part of a pickle: scalars, strings, containers, stack control."""

from __future__ import annotations

import struct
from typing import Self


class OpcodeWriter:
    """Writes data opcodes (scalars, containers, stack control) into one pickle body.

    ``protocol`` picks the encodings of the helpers that choose (``int_``, ``str_``, ``tuple_``);
    the other methods emit exactly the opcode they name, whatever the protocol.
    """

    def __init__(self, protocol: int = 2, *, header: bool = True, framed: bool = True) -> None:
        if not 0 <= protocol <= 5:
            raise ValueError(f"pickle protocol {protocol} does not exist")
        self.protocol = protocol
        self._header = header and protocol >= 2
        self._framed = framed and protocol >= 4
        self._body = bytearray()
        self._memo_next = 0

    # -- output -----------------------------------------------------------------------

    def getvalue(self) -> bytes:
        """The stream: ``PROTO`` (protocol 2+), one ``FRAME`` (protocol 4+) and the body."""
        head = bytes([0x80, self.protocol]) if self._header else b""
        if self._framed:
            head += b"\x95" + struct.pack("<Q", len(self._body))
        return head + bytes(self._body)

    def raw(self, data: bytes) -> Self:
        """Append bytes verbatim (garbage tails, hand-made opcodes)."""
        self._body += data
        return self

    def _op(self, code: bytes, arg: bytes = b"") -> Self:
        self._body += code + arg
        return self

    # -- structure --------------------------------------------------------------------

    def mark(self) -> Self:
        """``MARK``: push a mark for the next tuple/list/dict/INST/OBJ."""
        return self._op(b"(")

    def stop(self) -> Self:
        """``STOP``: end of the pickle."""
        return self._op(b".")

    def pop(self) -> Self:
        """``POP``: drop the top of the stack."""
        return self._op(b"0")

    def pop_mark(self) -> Self:
        """``POP_MARK``: drop everything down to the last mark."""
        return self._op(b"1")

    def dup(self) -> Self:
        """``DUP``: duplicate the top of the stack."""
        return self._op(b"2")

    def frame(self, length: int) -> Self:
        """An explicit ``FRAME`` opcode inside the body (normally :meth:`getvalue` adds one)."""
        return self._op(b"\x95", struct.pack("<Q", length))

    # -- scalars ----------------------------------------------------------------------

    def none(self) -> Self:
        """``NONE``."""
        return self._op(b"N")

    def bool_(self, value: bool) -> Self:
        """``NEWTRUE``/``NEWFALSE`` (protocol 2+), else the text ``INT`` forms ``I01``/``I00``."""
        if self.protocol >= 2:
            return self._op(b"\x88" if value else b"\x89")
        return self._op(b"I01\n" if value else b"I00\n")

    def int_(self, value: int) -> Self:
        """The smallest integer opcode the protocol allows."""
        if self.protocol == 0:
            return self._op(b"I", str(value).encode() + b"\n")
        if 0 <= value < 256:
            return self._op(b"K", bytes([value]))
        if 0 <= value < 65536:
            return self._op(b"M", struct.pack("<H", value))
        if -(2**31) <= value < 2**31:
            return self._op(b"J", struct.pack("<i", value))
        raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        if self.protocol >= 2 and len(raw) < 256:
            return self._op(b"\x8a", bytes([len(raw)]) + raw)
        return self._op(b"L", str(value).encode() + b"L\n")

    def float_(self, value: float) -> Self:
        """``BINFLOAT`` (protocol 1+) or text ``FLOAT``."""
        if self.protocol >= 1:
            return self._op(b"G", struct.pack(">d", value))
        return self._op(b"F", repr(value).encode() + b"\n")

    def unicode(self, text: str) -> Self:
        """``UNICODE`` (protocol 0 text form, raw-unicode-escape)."""
        return self._op(b"V", text.encode("raw-unicode-escape") + b"\n")

    def string(self, text: str) -> Self:
        """``STRING``: protocol 0 quoted py2 str (a bytes-like str on load)."""
        return self._op(b"S", repr(text).encode("ascii") + b"\n")

    def binstring(self, data: bytes) -> Self:
        """``SHORT_BINSTRING``/``BINSTRING``: py2 str with a length prefix."""
        if len(data) < 256:
            return self._op(b"U", bytes([len(data)]) + data)
        return self._op(b"T", struct.pack("<i", len(data)) + data)

    def str_(self, text: str) -> Self:
        """A str in its native form for the protocol (``UNICODE``, ``[SHORT_]BINUNICODE``)."""
        if self.protocol == 0:
            return self.unicode(text)
        data = text.encode("utf-8", "surrogatepass")
        if self.protocol >= 4 and len(data) < 256:
            return self._op(b"\x8c", bytes([len(data)]) + data)
        if len(data) < 2**32:
            return self._op(b"X", struct.pack("<I", len(data)) + data)
        return self._op(b"\x8d", struct.pack("<Q", len(data)) + data)

    def bytes_(self, data: bytes) -> Self:
        """``SHORT_BINBYTES``/``BINBYTES``/``BINBYTES8`` (protocol 3+ opcodes, emitted as asked)."""
        if len(data) < 256:
            return self._op(b"C", bytes([len(data)]) + data)
        if len(data) < 2**32:
            return self._op(b"B", struct.pack("<I", len(data)) + data)
        return self._op(b"\x8e", struct.pack("<Q", len(data)) + data)

    def bytearray8(self, data: bytes) -> Self:
        """``BYTEARRAY8`` (protocol 5)."""
        return self._op(b"\x96", struct.pack("<Q", len(data)) + data)

    def next_buffer(self, *, readonly: bool = False) -> Self:
        """``NEXT_BUFFER`` (+ ``READONLY_BUFFER``): an out-of-band buffer (protocol 5)."""
        self._op(b"\x97")
        return self._op(b"\x98") if readonly else self

    # -- containers -------------------------------------------------------------------

    def empty_tuple(self) -> Self:
        """``EMPTY_TUPLE``."""
        return self._op(b")")

    def tuple_(self, count: int) -> Self:
        """Build a tuple of the top ``count`` items (``TUPLE1-3``) or from a mark (``TUPLE``)."""
        if self.protocol >= 2 and 1 <= count <= 3:
            return self._op(bytes([0x84 + count]))
        if count == 0 and self.protocol >= 1:
            return self.empty_tuple()
        return self._op(b"t")

    def tuple_from_mark(self) -> Self:
        """``TUPLE``: a tuple of everything since the mark."""
        return self._op(b"t")

    def empty_list(self) -> Self:
        """``EMPTY_LIST``."""
        return self._op(b"]")

    def empty_dict(self) -> Self:
        """``EMPTY_DICT``."""
        return self._op(b"}")

    def list_(self) -> Self:
        """``LIST``: a list from everything since the mark."""
        return self._op(b"l")

    def dict_(self) -> Self:
        """``DICT``: a dict from key/value pairs since the mark."""
        return self._op(b"d")

    def append(self) -> Self:
        """``APPEND``."""
        return self._op(b"a")

    def appends(self) -> Self:
        """``APPENDS``: append everything since the mark."""
        return self._op(b"e")

    def setitem(self) -> Self:
        """``SETITEM``."""
        return self._op(b"s")

    def setitems(self) -> Self:
        """``SETITEMS``: set pairs since the mark."""
        return self._op(b"u")

    def empty_set(self) -> Self:
        """``EMPTY_SET`` (protocol 4)."""
        return self._op(b"\x8f")

    def additems(self) -> Self:
        """``ADDITEMS`` (protocol 4)."""
        return self._op(b"\x90")

    def frozenset_(self) -> Self:
        """``FROZENSET`` from a mark (protocol 4)."""
        return self._op(b"\x91")
