"""The symbolic pickle machine: interprets every opcode of one pickle without executing it.

Imports (GLOBAL, STACK_GLOBAL, INST) are resolved through the memo and judged by
:mod:`~modelcustoms.engines.scan.pickle_globals`; calls (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST)
mark what is invoked. A joblib ``NumpyArrayWrapper`` is followed past its inline array data.
"""

from __future__ import annotations

from itertools import islice

from modelcustoms.artifacts.pickleops import (
    BY_NAME,
    HIGHEST_PROTOCOL,
    PickleParseError,
    Span,
    opcode_name,
    raw_ops,
    read_span,
)
from modelcustoms.engines.scan.pickle_effects import MachineState
from modelcustoms.engines.scan.pickle_values import (
    DATA,
    EXTENSION,
    PLAIN,
    Call,
    Global,
    Malformed,
    Outcome,
    dict_from,
    dtype_info,
    store,
)

STACK_CAP = 2_000_000
"""Most items on the symbolic stack (all frames together)."""
MARK_CAP = 200_000
"""Deepest MARK nesting."""

# Opcode categories of the interpreter loop, most frequent first.
_C_PUSH, _C_MEMOIZE, _C_PUT, _C_GET, _C_MARK, _C_MANY, _C_ONE, _C_EMPTY = range(8)
_C_EDICT, _C_ETUPLE, _C_TUPLEN, _C_TUPLE, _C_REDUCE, _C_BUILD, _C_NEWOBJ = range(8, 15)
_C_SGLOBAL, _C_GLOBAL, _C_CONST, _C_MARKED, _C_STOP, _C_NOP, _C_RARE = range(15, 22)

_CAT = [_C_RARE] * 256


def _cat(cat: int, *names: str) -> None:
    for n in names:
        _CAT[BY_NAME[n]] = cat


_cat(
    _C_PUSH,
    "INT",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG",
    "LONG1",
    "LONG4",
    "FLOAT",
    "BINFLOAT",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
    "BYTEARRAY8",
)
_cat(_C_MEMOIZE, "MEMOIZE")
_cat(_C_PUT, "PUT", "BINPUT", "LONG_BINPUT")
_cat(_C_GET, "GET", "BINGET", "LONG_BINGET")
_cat(_C_MARK, "MARK")
_cat(_C_MANY, "APPENDS", "SETITEMS", "ADDITEMS")
_cat(_C_ONE, "APPEND", "SETITEM")
_cat(_C_EMPTY, "EMPTY_LIST", "EMPTY_SET")
_cat(_C_EDICT, "EMPTY_DICT")
_cat(_C_ETUPLE, "EMPTY_TUPLE")
_cat(_C_TUPLEN, "TUPLE1", "TUPLE2", "TUPLE3")
_cat(_C_TUPLE, "TUPLE")
_cat(_C_REDUCE, "REDUCE")
_cat(_C_BUILD, "BUILD")
_cat(_C_NEWOBJ, "NEWOBJ")
_cat(_C_SGLOBAL, "STACK_GLOBAL")
_cat(_C_GLOBAL, "GLOBAL")
_cat(_C_CONST, "NONE", "NEWTRUE", "NEWFALSE")
_cat(_C_MARKED, "LIST", "DICT", "FROZENSET")
_cat(_C_STOP, "STOP")
_cat(_C_NOP, "FRAME")
_CONSTS: dict[int, object] = {
    BY_NAME["NONE"]: None,
    BY_NAME["NEWTRUE"]: True,
    BY_NAME["NEWFALSE"]: False,
}
_TUPLE_N = {BY_NAME["TUPLE1"]: 1, BY_NAME["TUPLE2"]: 2, BY_NAME["TUPLE3"]: 3}
_SETITEM = BY_NAME["SETITEM"]
_SETITEMS = BY_NAME["SETITEMS"]
_DICT = BY_NAME["DICT"]
_PROTO = BY_NAME["PROTO"]


class Machine(MachineState):
    """Interprets one pickle symbolically, from ``start`` to its STOP."""

    # -- the loop --------------------------------------------------------------------------

    def run(self, start: int) -> Outcome:
        """Interpret from ``start``; the outcome says where it stopped and why."""
        stack: list[object] = []
        meta: list[list[object]] = []
        memo = self.memo
        pos = start
        off = start
        code = 0
        cat = _CAT
        plain = PLAIN
        try:
            while True:
                left = self.budget.ops_left
                if left <= 0:
                    return Outcome(False, off, "opcode limit reached", limit="opcodes")
                jump = -1
                count = 0
                for code, arg, off in islice(raw_ops(self.src, pos, self.end), left):
                    count += 1
                    c = cat[code]
                    if c == _C_PUSH:
                        stack.append(arg)
                    elif c == _C_MEMOIZE:
                        self._put(self.mlen, stack[-1], plain)
                    elif c == _C_PUT:
                        assert isinstance(arg, int)
                        self._put(arg, stack[-1], plain)
                    elif c == _C_GET:
                        assert isinstance(arg, int)
                        v = memo.get(arg, memo)
                        stack.append(self._missing(arg, off) if v is memo else v)
                    elif c == _C_MARK:
                        meta.append(stack)
                        stack = []
                        if len(meta) > MARK_CAP:
                            return self._limit(off, "marks", count)
                    elif c == _C_MANY:
                        items = stack
                        stack = meta.pop()
                        target = stack[-1]
                        if code == _SETITEMS and type(target) is dict:
                            store(target, items)
                        elif type(target) is Global:
                            self._mutation(target, code, off)
                    elif c == _C_ONE:
                        if code == _SETITEM:
                            value = stack.pop()
                            key = stack.pop()
                            target = stack[-1]
                            if type(target) is dict:
                                store(target, [key, value])
                        else:
                            stack.pop()
                            target = stack[-1]
                        if type(target) is Global:
                            self._mutation(target, code, off)
                    elif c == _C_EMPTY:
                        stack.append(DATA)
                    elif c == _C_EDICT:
                        stack.append({})
                    elif c == _C_ETUPLE:
                        stack.append(())
                    elif c == _C_TUPLEN:
                        k = _TUPLE_N[code]
                        if len(stack) < k:
                            raise IndexError
                        t = tuple(stack[-k:])
                        del stack[-k:]
                        stack.append(t)
                    elif c == _C_TUPLE:
                        t = tuple(stack)
                        stack = meta.pop()
                        stack.append(t)
                    elif c == _C_REDUCE:
                        args = stack.pop()
                        func = stack.pop()
                        stack.append(self._call(func, args, off, "REDUCE"))
                    elif c == _C_BUILD:
                        state = stack.pop()
                        target = stack[-1]
                        if type(target) is Call:
                            target.state = state
                            f = target.func
                            if self.joblib and type(f) is Global and f.joblib:
                                jump = self._joblib(target, off)
                                break
                        elif type(target) is Global:
                            self._mutation(target, code, off)
                    elif c == _C_NEWOBJ:
                        args = stack.pop()
                        func = stack.pop()
                        stack.append(self._call(func, args, off, "NEWOBJ"))
                    elif c == _C_SGLOBAL:
                        name = stack.pop()
                        module = stack.pop()
                        stack.append(self._stack_global(module, name, off))
                    elif c == _C_GLOBAL:
                        assert isinstance(arg, tuple)
                        stack.append(self._import(arg[0], arg[1], off, "GLOBAL"))
                    elif c == _C_CONST:
                        stack.append(_CONSTS[code])
                    elif c == _C_MARKED:
                        items = stack
                        stack = meta.pop()
                        stack.append(dict_from(items) if code == _DICT else DATA)
                    elif c == _C_STOP:
                        stack.pop()
                        self._spend(count)
                        return Outcome(True, off + 1)
                    elif c == _C_NOP:
                        pass
                    else:
                        stack = self._rare(code, arg, off, stack, meta)
                    if count & 0xFFFF == 0 and len(stack) + len(meta) > STACK_CAP:
                        return self._limit(off, "stack", count)
                self._spend(count)
                if jump < 0:
                    # islice ran out: the opcode budget is spent.
                    return Outcome(False, off, "opcode limit reached", limit="opcodes")
                if jump > self.end:
                    return Outcome(
                        False, off, "joblib array data runs past the end", truncated=True
                    )
                pos = jump
        except PickleParseError as exc:
            return Outcome(False, exc.offset, exc.message, truncated=exc.truncated)
        except Malformed as exc:
            return Outcome(False, exc.offset, exc.message)
        except IndexError:
            return Outcome(False, off, f"stack underflow or missing MARK at {opcode_name(code)}")
        except TypeError as exc:
            return Outcome(False, off, f"invalid operand of {opcode_name(code)}: {exc}")

    def _spend(self, count: int) -> None:
        self.budget.ops_left -= count
        self.rec.ops += count

    def _limit(self, off: int, what: str, count: int) -> Outcome:
        self._spend(count)
        return Outcome(False, off, f"{what} limit reached", limit=what)

    def _rare(
        self, code: int, arg: object, off: int, stack: list[object], meta: list[list[object]]
    ) -> list[object]:
        name = opcode_name(code)
        if name == "PROTO":
            assert isinstance(arg, int)
            if arg > HIGHEST_PROTOCOL:
                raise Malformed(off, f"unsupported pickle protocol {arg}")
            self.rec.protocols.add(arg)
        elif name == "POP":
            if stack:
                stack.pop()
            else:
                stack = meta.pop()
        elif name == "POP_MARK":
            stack = meta.pop()
        elif name == "DUP":
            stack.append(stack[-1])
        elif name == "PERSID":
            self.rec.persistent_ids += 1
            stack.append(DATA)
        elif name == "BINPERSID":
            stack.pop()
            self.rec.persistent_ids += 1
            stack.append(DATA)
        elif name == "INST":
            assert isinstance(arg, tuple)
            args = tuple(stack)
            stack = meta.pop()
            imported = self._import(arg[0], arg[1], off, "INST")
            stack.append(self._call(imported, args, off, "INST"))
        elif name == "OBJ":
            items = stack
            stack = meta.pop()
            stack.append(self._call(items[0], tuple(items[1:]), off, "OBJ"))
        elif name == "NEWOBJ_EX":
            stack.pop()
            cargs = stack.pop()
            cls = stack.pop()
            stack.append(self._call(cls, cargs, off, "NEWOBJ_EX"))
        elif name in ("EXT1", "EXT2", "EXT4"):
            self._event(
                "pickle.extension-code",
                f"{name} {arg} imports whatever the loading process registered under that code",
                off,
                name,
                excerpt=f"{name} {arg}",
            )
            stack.append(EXTENSION)
        elif name == "NEXT_BUFFER":
            stack.append(DATA)
        elif name == "READONLY_BUFFER":
            if not stack:
                raise IndexError
        else:  # pragma: no cover - every table opcode has a category
            raise Malformed(off, f"unhandled opcode {name}")
        return stack

    # -- joblib ----------------------------------------------------------------------------

    def _joblib(self, wrapper: Call, off: int) -> int:
        """Where parsing resumes after a joblib NumpyArrayWrapper's inline array data."""
        state = wrapper.state
        if type(state) is not dict:
            raise Malformed(off, "joblib NumpyArrayWrapper without a state dict")
        shape = state.get("shape")
        info = dtype_info(state.get("dtype"))
        if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
            raise Malformed(off, "joblib NumpyArrayWrapper with an unreadable shape")
        if info is None:
            raise Malformed(off, "joblib NumpyArrayWrapper with an unreadable dtype")
        itemsize, hasobject = info
        pos = off + 1
        self.rec.joblib_arrays += 1
        if hasobject:
            # Object arrays are written as a complete nested pickle (joblib write_array).
            inner = Machine(self.src, self.end, self.budget, self.rec, joblib=False)
            out = inner.run(pos)
            if not out.ok:
                raise Malformed(out.offset, f"joblib object array pickle: {out.message}")
            return out.offset
        if state.get("numpy_array_alignment_bytes") is not None:
            pad = read_span(self.src, Span(pos, 1, "bytes"))
            if not pad:
                raise Malformed(pos, "joblib padding byte missing")
            pos += 1 + pad[0]
        nbytes = itemsize
        for d in shape:
            nbytes *= d
        self.rec.joblib_bytes += nbytes
        return pos + nbytes
