"""A small pickle assembler: write pickle streams opcode by opcode, for every protocol 0-5.

The standard library can only *write* what a real object graph reduces to. Hostile samples need
opcode sequences no well-behaved pickler emits (``INST`` with a dangerous global, memo games
before ``STACK_GLOBAL``, extension codes, broken tails), so this module spells them out. Nothing
here unpickles; the bytes are only ever written to disk for scanners to read.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from modelcustoms.samples.pickle_opcodes import OpcodeWriter

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


class PickleAsm(OpcodeWriter):
    """Builds one pickle stream: data opcodes, plus memo, globals and calls.

    Call the opcode methods in order, then :meth:`getvalue`. ``protocol`` decides which
    encodings the convenience helpers (:meth:`value`, :meth:`global_ref`, :meth:`put`) choose;
    the raw opcode methods emit exactly what they name whatever the protocol.
    """

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
