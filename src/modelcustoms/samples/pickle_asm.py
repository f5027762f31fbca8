"""A small pickle assembler: write pickle streams opcode by opcode, for every protocol 0-5.

The standard library can only *write* what a real object graph reduces to. Hostile samples need
opcode sequences no well-behaved pickler emits (``INST`` with a dangerous global, memo games
before ``STACK_GLOBAL``, extension codes, broken tails), so this module spells them out. Nothing
here unpickles; the bytes are only ever written to disk for scanners to read.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

#: Plain values :meth:`PickleAsm.value` knows how to push.
PyLit = (
    None
    | bool
    | int
    | float
    | str
    | bytes
    | tuple["PyLit", ...]
    | list["PyLit"]
    | dict[str, "PyLit"]
)


class PickleAsm:
    """Builds one pickle stream.

    Call the opcode methods in order, then :meth:`getvalue`. ``protocol`` decides which
    encodings the convenience helpers (:meth:`value`, :meth:`global_ref`, :meth:`put`) choose;
    the raw opcode methods emit exactly what they name whatever the protocol.
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

    def raw(self, data: bytes) -> PickleAsm:
        """Append bytes verbatim (garbage tails, hand-made opcodes)."""
        self._body += data
        return self

    def _op(self, code: bytes, arg: bytes = b"") -> PickleAsm:
        self._body += code + arg
        return self

    # -- structure --------------------------------------------------------------------

    def mark(self) -> PickleAsm:
        """``MARK``: push a mark for the next tuple/list/dict/INST/OBJ."""
        return self._op(b"(")

    def stop(self) -> PickleAsm:
        """``STOP``: end of the pickle."""
        return self._op(b".")

    def pop(self) -> PickleAsm:
        """``POP``: drop the top of the stack."""
        return self._op(b"0")

    def pop_mark(self) -> PickleAsm:
        """``POP_MARK``: drop everything down to the last mark."""
        return self._op(b"1")

    def dup(self) -> PickleAsm:
        """``DUP``: duplicate the top of the stack."""
        return self._op(b"2")

    def frame(self, length: int) -> PickleAsm:
        """An explicit ``FRAME`` opcode inside the body (normally :meth:`getvalue` adds one)."""
        return self._op(b"\x95", struct.pack("<Q", length))

    # -- scalars ----------------------------------------------------------------------

    def none(self) -> PickleAsm:
        """``NONE``."""
        return self._op(b"N")

    def bool_(self, value: bool) -> PickleAsm:
        """``NEWTRUE``/``NEWFALSE`` (protocol 2+), else the text ``INT`` forms ``I01``/``I00``."""
        if self.protocol >= 2:
            return self._op(b"\x88" if value else b"\x89")
        return self._op(b"I01\n" if value else b"I00\n")

    def int_(self, value: int) -> PickleAsm:
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

    def float_(self, value: float) -> PickleAsm:
        """``BINFLOAT`` (protocol 1+) or text ``FLOAT``."""
        if self.protocol >= 1:
            return self._op(b"G", struct.pack(">d", value))
        return self._op(b"F", repr(value).encode() + b"\n")

    def unicode(self, text: str) -> PickleAsm:
        """``UNICODE`` (protocol 0 text form, raw-unicode-escape)."""
        return self._op(b"V", text.encode("raw-unicode-escape") + b"\n")

    def string(self, text: str) -> PickleAsm:
        """``STRING``: protocol 0 quoted py2 str (a bytes-like str on load)."""
        return self._op(b"S", repr(text).encode("ascii") + b"\n")

    def binstring(self, data: bytes) -> PickleAsm:
        """``SHORT_BINSTRING``/``BINSTRING``: py2 str with a length prefix."""
        if len(data) < 256:
            return self._op(b"U", bytes([len(data)]) + data)
        return self._op(b"T", struct.pack("<i", len(data)) + data)

    def str_(self, text: str) -> PickleAsm:
        """A str in the protocol's native form (``UNICODE``, ``BINUNICODE``, ``SHORT_BINUNICODE``)."""
        if self.protocol == 0:
            return self.unicode(text)
        data = text.encode("utf-8", "surrogatepass")
        if self.protocol >= 4 and len(data) < 256:
            return self._op(b"\x8c", bytes([len(data)]) + data)
        if len(data) < 2**32:
            return self._op(b"X", struct.pack("<I", len(data)) + data)
        return self._op(b"\x8d", struct.pack("<Q", len(data)) + data)

    def bytes_(self, data: bytes) -> PickleAsm:
        """``SHORT_BINBYTES``/``BINBYTES``/``BINBYTES8`` (protocol 3+ opcodes, emitted as asked)."""
        if len(data) < 256:
            return self._op(b"C", bytes([len(data)]) + data)
        if len(data) < 2**32:
            return self._op(b"B", struct.pack("<I", len(data)) + data)
        return self._op(b"\x8e", struct.pack("<Q", len(data)) + data)

    def bytearray8(self, data: bytes) -> PickleAsm:
        """``BYTEARRAY8`` (protocol 5)."""
        return self._op(b"\x96", struct.pack("<Q", len(data)) + data)

    def next_buffer(self, *, readonly: bool = False) -> PickleAsm:
        """``NEXT_BUFFER`` (+ ``READONLY_BUFFER``): an out-of-band buffer (protocol 5)."""
        self._op(b"\x97")
        return self._op(b"\x98") if readonly else self

    # -- containers -------------------------------------------------------------------

    def empty_tuple(self) -> PickleAsm:
        """``EMPTY_TUPLE``."""
        return self._op(b")")

    def tuple_(self, count: int) -> PickleAsm:
        """Build a tuple of the top ``count`` items (``TUPLE1-3``) or from a mark (``TUPLE``)."""
        if self.protocol >= 2 and 1 <= count <= 3:
            return self._op(bytes([0x84 + count]))
        if count == 0 and self.protocol >= 1:
            return self.empty_tuple()
        return self._op(b"t")

    def empty_list(self) -> PickleAsm:
        """``EMPTY_LIST``."""
        return self._op(b"]")

    def empty_dict(self) -> PickleAsm:
        """``EMPTY_DICT``."""
        return self._op(b"}")

    def list_(self) -> PickleAsm:
        """``LIST``: a list from everything since the mark."""
        return self._op(b"l")

    def dict_(self) -> PickleAsm:
        """``DICT``: a dict from key/value pairs since the mark."""
        return self._op(b"d")

    def append(self) -> PickleAsm:
        """``APPEND``."""
        return self._op(b"a")

    def appends(self) -> PickleAsm:
        """``APPENDS``: append everything since the mark."""
        return self._op(b"e")

    def setitem(self) -> PickleAsm:
        """``SETITEM``."""
        return self._op(b"s")

    def setitems(self) -> PickleAsm:
        """``SETITEMS``: set pairs since the mark."""
        return self._op(b"u")

    def empty_set(self) -> PickleAsm:
        """``EMPTY_SET`` (protocol 4)."""
        return self._op(b"\x8f")

    def additems(self) -> PickleAsm:
        """``ADDITEMS`` (protocol 4)."""
        return self._op(b"\x90")

    def frozenset_(self) -> PickleAsm:
        """``FROZENSET`` from a mark (protocol 4)."""
        return self._op(b"\x91")

    # -- memo -------------------------------------------------------------------------

    def put(self, index: int | None = None) -> PickleAsm:
        """Store the top of the stack in the memo (``MEMOIZE`` on protocol 4+ when no index)."""
        if index is None:
            index = self._memo_next
            if self.protocol >= 4:
                self._memo_next += 1
                return self._op(b"\x94")
        self._memo_next = max(self._memo_next, index + 1)
        if self.protocol == 0:
            return self._op(b"p", str(index).encode() + b"\n")
        if index < 256:
            return self._op(b"q", bytes([index]))
        return self._op(b"r", struct.pack("<I", index))

    def get(self, index: int) -> PickleAsm:
        """Push a memo entry (``GET``/``BINGET``/``LONG_BINGET``)."""
        if self.protocol == 0:
            return self._op(b"g", str(index).encode() + b"\n")
        if index < 256:
            return self._op(b"h", bytes([index]))
        return self._op(b"j", struct.pack("<I", index))

    @property
    def memo_size(self) -> int:
        """Index the next automatic :meth:`put` will use."""
        return self._memo_next

    # -- callables --------------------------------------------------------------------

    def global_(self, module: str, name: str) -> PickleAsm:
        """``GLOBAL module name`` (text operands; valid in every protocol)."""
        return self._op(b"c", f"{module}\n{name}\n".encode())

    def stack_global(self) -> PickleAsm:
        """``STACK_GLOBAL``: module and name are the two str on top of the stack (protocol 4)."""
        return self._op(b"\x93")

    def global_ref(self, module: str, name: str) -> PickleAsm:
        """Push a global the way the protocol's own pickler would."""
        if self.protocol >= 4:
            return self.str_(module).str_(name).stack_global()
        return self.global_(module, name)

    def reduce(self) -> PickleAsm:
        """``REDUCE``: call the callable under the argument tuple."""
        return self._op(b"R")

    def build(self) -> PickleAsm:
        """``BUILD``: ``__setstate__`` or ``__dict__.update`` with the top item."""
        return self._op(b"b")

    def inst(self, module: str, name: str) -> PickleAsm:
        """``INST module name``: call the class with the items since the mark (protocol 0)."""
        return self._op(b"i", f"{module}\n{name}\n".encode())

    def obj(self) -> PickleAsm:
        """``OBJ``: the first item after the mark is called with the rest (protocol 1)."""
        return self._op(b"o")

    def newobj(self) -> PickleAsm:
        """``NEWOBJ``: ``cls.__new__(cls, *args)`` (protocol 2)."""
        return self._op(b"\x81")

    def newobj_ex(self) -> PickleAsm:
        """``NEWOBJ_EX``: ``cls.__new__(cls, *args, **kwargs)`` (protocol 4)."""
        return self._op(b"\x92")

    def ext(self, code: int) -> PickleAsm:
        """``EXT1``/``EXT2``/``EXT4``: a global from the copyreg extension registry."""
        if code < 256:
            return self._op(b"\x82", bytes([code]))
        if code < 65536:
            return self._op(b"\x83", struct.pack("<H", code))
        return self._op(b"\x84", struct.pack("<i", code))

    def persid(self, pid: str) -> PickleAsm:
        """``PERSID``: a text persistent id (protocol 0)."""
        return self._op(b"P", pid.encode("ascii") + b"\n")

    def binpersid(self) -> PickleAsm:
        """``BINPERSID``: the persistent id is the top of the stack."""
        return self._op(b"Q")

    # -- convenience ------------------------------------------------------------------

    def value(self, v: PyLit) -> PickleAsm:
        """Push a literal built from plain values, in the protocol's usual encodings."""
        if v is None:
            return self.none()
        if isinstance(v, bool):
            return self.bool_(v)
        if isinstance(v, int):
            return self.int_(v)
        if isinstance(v, float):
            return self.float_(v)
        if isinstance(v, str):
            return self.str_(v)
        if isinstance(v, bytes):
            return self.bytes_(v) if self.protocol >= 3 else self.binstring(v)
        if isinstance(v, tuple):
            return self._tuple_value(v)
        if isinstance(v, list):
            return self._seq_value(v)
        return self._map_value(v)

    def _tuple_value(self, items: Sequence[PyLit]) -> PickleAsm:
        if not items and self.protocol >= 1:
            return self.empty_tuple()
        small = self.protocol >= 2 and len(items) <= 3
        if not small:
            self.mark()
        for item in items:
            self.value(item)
        return self.tuple_(len(items)) if small else self._op(b"t")

    def _seq_value(self, items: Sequence[PyLit]) -> PickleAsm:
        if self.protocol == 0:
            self.mark()
            for item in items:
                self.value(item)
            return self.list_()
        self.empty_list()
        if items:
            self.mark()
            for item in items:
                self.value(item)
            self.appends()
        return self

    def _map_value(self, items: Mapping[str, PyLit]) -> PickleAsm:
        if self.protocol == 0:
            self.mark()
            for k, item in items.items():
                self.value(k).value(item)
            return self.dict_()
        self.empty_dict()
        if items:
            self.mark()
            for k, item in items.items():
                self.value(k).value(item)
            self.setitems()
        return self

    def call(self, module: str, name: str, *args: PyLit) -> PickleAsm:
        """``module.name(*args)`` as global + argument tuple + ``REDUCE``."""
        return self.global_ref(module, name).value(tuple(args)).reduce()


def call_pickle(module: str, name: str, *args: PyLit, protocol: int = 2) -> bytes:
    """A complete pickle whose only effect is ``module.name(*args)``."""
    return PickleAsm(protocol).call(module, name, *args).stop().getvalue()
