"""Opcode-level analysis of pickle streams (plain, legacy torch.save, joblib). Never unpickles.

A symbolic stack machine follows every opcode of every pickle in the stream: imports
(GLOBAL, STACK_GLOBAL, INST) are resolved through the memo and judged by
:mod:`~modelcustoms.engines.scan.pickle_globals`; calls (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST)
mark what is invoked; constants passed to deserialisers are handed back to the engine as
nested artifacts. After a malformed region the stream is resynchronised on the next PROTO
opcode, and the unparseable bytes are swept for import text so that a payload hidden behind
a broken opcode (nullifAI) is still reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import ClassVar

from modelcustoms.artifacts.blob import BytesBlob
from modelcustoms.artifacts.pickleops import (
    BY_NAME,
    HIGHEST_PROTOCOL,
    PickleParseError,
    Source,
    Span,
    opcode_name,
    plausible_pickle,
    raw_ops,
    read_span,
)
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext
from modelcustoms.engines.scan.pickle_globals import Judgement, Tier, judge

_REFS = (
    "https://docs.python.org/3/library/pickle.html#restricting-globals",
    "https://github.com/trailofbits/fickling",
)

RULES: tuple[Rule, ...] = (
    Rule(
        id="pickle.dangerous-import",
        title="Pickle imports a dangerous callable",
        severity=Severity.CRITICAL,
        help="Loading this pickle imports a function that runs code, spawns processes, touches "
        "files or the network, or loads another payload. Do not load it; use safetensors.",
        references=_REFS,
    ),
    Rule(
        id="pickle.dynamic-import",
        title="Pickle computes the name it imports",
        severity=Severity.CRITICAL,
        help="STACK_GLOBAL receives a module or name that is not a constant string (built by "
        "calls on the stack). No legitimate pickler emits this; it hides the real import.",
        references=_REFS,
    ),
    Rule(
        id="pickle.dynamic-call",
        title="Pickle calls a computed value",
        severity=Severity.HIGH,
        help="A call opcode invokes the result of another call rather than an imported global: "
        "an indirection that legitimate pickles do not use.",
    ),
    Rule(
        id="pickle.global-mutation",
        title="Pickle mutates an imported object",
        severity=Severity.HIGH,
        help="BUILD, APPEND(S), SETITEM(S) or ADDITEMS is applied to an imported module, class or "
        "function instead of a fresh instance: attributes of live code are overwritten or its "
        "methods (extend, __setitem__, __setstate__) called.",
    ),
    Rule(
        id="pickle.nested-pickle",
        title="Pickle deserialises a nested payload",
        severity=Severity.HIGH,
        help="A constant is passed to a deserialiser (pickle.loads, torch.storage._load_from_"
        "bytes...). The payload was extracted and scanned as its own artifact; see its findings.",
        references=_REFS,
    ),
    Rule(
        id="pickle.unknown-import",
        title="Pickle imports a global outside the allow-list",
        severity=Severity.MEDIUM,
        help="Loading needs code that is not part of ordinary checkpoints: a custom class "
        "(medium), or an unknown function that the pickle calls (high). Review the code it "
        "imports before loading, or convert the model to safetensors.",
    ),
    Rule(
        id="pickle.extension-code",
        title="Pickle uses the copyreg extension registry",
        severity=Severity.HIGH,
        help="EXT1/EXT2/EXT4 import whatever the loading process registered under a number: the "
        "import cannot be resolved statically.",
    ),
    Rule(
        id="pickle.malformed",
        title="Pickle stream is malformed",
        severity=Severity.MEDIUM,
        help="The stream does not parse to its end. Loaders execute opcodes as they read, so "
        "everything before the break runs; scanners that stop at the break miss it (nullifAI). "
        "High when a dangerous import precedes the break.",
        references=(
            "https://www.reversinglabs.com/blog/rl-identifies-malware-ml-model-hosted-on-hugging-face",
        ),
    ),
    Rule(
        id="pickle.limits",
        title="Pickle analysis stopped at a limit",
        severity=Severity.MEDIUM,
        help="The opcode, memo, stack or resynchronisation limit was reached; the rest was only "
        "swept for import text, not verified. Raise ScanOptions.max_pickle_ops to go further.",
    ),
)

STACK_CAP = 2_000_000
"""Most items on the symbolic stack (all frames together)."""
MARK_CAP = 200_000
"""Deepest MARK nesting."""
MEMO_CAP = 1_000_000
"""Most memo entries holding tracked values (plain numbers are kept in a bitmap)."""
BITMAP_KEYS = 1 << 26
MAX_NESTED = 32
MAX_RESYNC = 1000
MAX_EVENTS = 20
SWEEP_LIMIT = 256 << 20
JOBLIB_WRAPPER = frozenset(
    {
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
)


class _Sentinel:
    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


class _Data:
    """An untracked data value (containers, numbers)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<data>"


DATA = _Data()
UNKNOWN = _Sentinel("<value lost to analysis limits>")
DYNAMIC = _Sentinel("<dynamically imported object>")
EXTENSION = _Sentinel("<copyreg extension object>")
_PLAIN: frozenset[type] = frozenset({int, float, bool, type(None), _Data})


@dataclass(slots=True)
class _Import:
    module: str
    name: str
    judgement: Judgement
    offset: int
    opcode: str
    count: int = 1
    invoked: bool = False
    invoke_offset: int = 0
    invoke_op: str = ""

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


class _Global:
    __slots__ = ("joblib", "record")

    def __init__(self, record: _Import) -> None:
        self.record = record
        self.joblib = (record.module, record.name) in JOBLIB_WRAPPER

    def __repr__(self) -> str:
        return self.record.full


class _Call:
    __slots__ = ("args", "func", "offset", "state")

    def __init__(self, func: object, args: object, offset: int) -> None:
        self.func = func
        self.args = args
        self.offset = offset
        self.state: object = None

    def __repr__(self) -> str:
        return f"<result of {_describe(self.func)}(...)>"


@dataclass(frozen=True, slots=True)
class _Event:
    rule: str
    message: str
    offset: int
    pointer: str
    excerpt: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class _Nested:
    loader: str
    offset: int
    payload: Span | bytes | None


@dataclass(slots=True)
class _Recorder:
    """What one segment (one pickle, or one resynchronised attempt) showed."""

    imports: dict[tuple[str, str], _Import] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    nested: list[_Nested] = field(default_factory=list)
    protocols: set[int] = field(default_factory=set)
    limits: set[str] = field(default_factory=set)
    joblib_arrays: int = 0
    joblib_bytes: int = 0
    persistent_ids: int = 0
    ops: int = 0

    def has_dangerous(self) -> bool:
        return any(i.judgement.tier is Tier.DANGEROUS for i in self.imports.values()) or any(
            e.rule == "pickle.dynamic-import" for e in self.events
        )


@dataclass(slots=True)
class _Outcome:
    ok: bool
    offset: int
    """End offset (after STOP) when ok, else where the segment broke."""
    message: str = ""
    limit: str | None = None
    truncated: bool = False


class _Malformed(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class _Budget:
    __slots__ = ("ops_left",)

    def __init__(self, ops: int) -> None:
        self.ops_left = ops


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
DICT_KEEP = 32
"""Entries kept per symbolic dict (enough for the joblib wrapper state)."""


def _describe(value: object, depth: int = 0) -> str:
    if isinstance(value, str):
        return repr(value[:80])
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, Span):
        return f"<{value.length}-byte {value.kind}>"
    if isinstance(value, tuple) and depth < 2:
        return "(" + ", ".join(_describe(v, depth + 1) for v in value[:4]) + ")"
    if isinstance(value, _Call) and depth < 2:
        return f"<result of {_describe(value.func, depth + 1)}(...)>"
    return repr(value) if isinstance(value, _Global | _Sentinel | _Data) else type(value).__name__


class _Machine:
    """Interprets one pickle symbolically, from ``start`` to its STOP."""

    def __init__(
        self, src: Source, end: int, budget: _Budget, rec: _Recorder, *, joblib: bool = True
    ) -> None:
        self.src = src
        self.end = end
        self.budget = budget
        self.rec = rec
        self.joblib = joblib
        self.memo: dict[int, object] = {}
        self.bits = bytearray()
        self.mlen = 0

    # -- the loop --------------------------------------------------------------------------

    def run(self, start: int) -> _Outcome:
        """Interpret from ``start``; the outcome says where it stopped and why."""
        stack: list[object] = []
        meta: list[list[object]] = []
        memo = self.memo
        pos = start
        off = start
        code = 0
        cat = _CAT
        plain = _PLAIN
        try:
            while True:
                left = self.budget.ops_left
                if left <= 0:
                    return _Outcome(False, off, "opcode limit reached", limit="opcodes")
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
                            _store(target, items)
                        elif type(target) is _Global:
                            self._mutation(target, code, off)
                    elif c == _C_ONE:
                        if code == _SETITEM:
                            value = stack.pop()
                            key = stack.pop()
                            target = stack[-1]
                            if type(target) is dict:
                                _store(target, [key, value])
                        else:
                            stack.pop()
                            target = stack[-1]
                        if type(target) is _Global:
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
                        if type(target) is _Call:
                            target.state = state
                            f = target.func
                            if self.joblib and type(f) is _Global and f.joblib:
                                jump = self._joblib(target, off)
                                break
                        elif type(target) is _Global:
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
                        stack.append(_dict_from(items) if code == _DICT else DATA)
                    elif c == _C_STOP:
                        stack.pop()
                        self._spend(count)
                        return _Outcome(True, off + 1)
                    elif c == _C_NOP:
                        pass
                    else:
                        stack = self._rare(code, arg, off, stack, meta)
                    if count & 0xFFFF == 0 and len(stack) + len(meta) > STACK_CAP:
                        return self._limit(off, "stack", count)
                self._spend(count)
                if jump < 0:
                    # islice ran out: the opcode budget is spent.
                    return _Outcome(False, off, "opcode limit reached", limit="opcodes")
                if jump > self.end:
                    return _Outcome(
                        False, off, "joblib array data runs past the end", truncated=True
                    )
                pos = jump
        except PickleParseError as exc:
            return _Outcome(False, exc.offset, exc.message, truncated=exc.truncated)
        except _Malformed as exc:
            return _Outcome(False, exc.offset, exc.message)
        except IndexError:
            return _Outcome(False, off, f"stack underflow or missing MARK at {opcode_name(code)}")
        except TypeError as exc:
            return _Outcome(False, off, f"invalid operand of {opcode_name(code)}: {exc}")

    def _spend(self, count: int) -> None:
        self.budget.ops_left -= count
        self.rec.ops += count

    def _limit(self, off: int, what: str, count: int) -> _Outcome:
        self._spend(count)
        return _Outcome(False, off, f"{what} limit reached", limit=what)

    def _rare(
        self, code: int, arg: object, off: int, stack: list[object], meta: list[list[object]]
    ) -> list[object]:
        name = opcode_name(code)
        if name == "PROTO":
            assert isinstance(arg, int)
            if arg > HIGHEST_PROTOCOL:
                raise _Malformed(off, f"unsupported pickle protocol {arg}")
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
            raise _Malformed(off, f"unhandled opcode {name}")
        return stack

    # -- memo ------------------------------------------------------------------------------

    def _present(self, key: int) -> bool:
        if key in self.memo:
            return True
        bits = self.bits
        return key < len(bits) * 8 and bool(bits[key >> 3] >> (key & 7) & 1)

    def _put(self, key: int, value: object, plain: frozenset[type]) -> None:
        if not self._present(key):
            self.mlen += 1
        if value.__class__ in plain and key < BITMAP_KEYS:
            self.memo.pop(key, None)
            bits = self.bits
            idx = key >> 3
            if idx >= len(bits):
                bits.extend(bytes(max(idx + 1 - len(bits), len(bits))))
            bits[idx] |= 1 << (key & 7)
            return
        if len(self.memo) >= MEMO_CAP and key not in self.memo:
            self.rec.limits.add("memo")
            return
        self.memo[key] = value

    def _missing(self, key: int, off: int) -> object:
        bits = self.bits
        if key < len(bits) * 8 and bits[key >> 3] >> (key & 7) & 1:
            return DATA
        if "memo" in self.rec.limits:
            return UNKNOWN
        raise _Malformed(off, f"memo key {key} was never stored")

    # -- imports and calls -----------------------------------------------------------------

    def _import(self, module: str, name: str, off: int, op: str) -> _Global:
        key = (module, name)
        rec = self.rec.imports.get(key)
        if rec is None:
            rec = _Import(module, name, judge(module, name), off, op)
            self.rec.imports[key] = rec
        else:
            rec.count += 1
        return _Global(rec)

    def _stack_global(self, module: object, name: object, off: int) -> object:
        if type(module) is str and type(name) is str:
            return self._import(module, name, off, "STACK_GLOBAL")
        lost = (
            module is UNKNOWN
            or name is UNKNOWN
            or isinstance(module, Span)
            or isinstance(name, Span)
        )
        what = f"module={_describe(module)} name={_describe(name)}"
        if lost:
            self._event(
                "pickle.dynamic-import",
                f"STACK_GLOBAL operands could not be resolved ({what}); the import is unverified",
                off,
                "STACK_GLOBAL",
                excerpt=what,
                severity=Severity.HIGH,
            )
        else:
            self._event(
                "pickle.dynamic-import",
                f"STACK_GLOBAL imports a name computed on the stack ({what})",
                off,
                "STACK_GLOBAL",
                excerpt=what,
            )
        return DYNAMIC

    def _call(self, func: object, args: object, off: int, op: str) -> _Call:
        t = type(func)
        if t is _Global:
            assert isinstance(func, _Global)
            rec = func.record
            if not rec.invoked:
                rec.invoked = True
                rec.invoke_offset = off
                rec.invoke_op = op
            if rec.judgement.loader:
                first = args[0] if isinstance(args, tuple) and args else None
                if isinstance(first, str):
                    first = first.encode("latin-1", "replace")
                payload = first if isinstance(first, bytes | Span) else None
                if isinstance(payload, Span) and payload.kind not in ("bytes", "bytearray", "str"):
                    payload = None
                self.rec.nested.append(_Nested(rec.full, off, payload))
        elif t is _Call:
            self._event(
                "pickle.dynamic-call",
                f"{op} calls {_describe(func)}, a value computed by the pickle",
                off,
                op,
                excerpt=_describe(func),
            )
        return _Call(func, args, off)

    def _mutation(self, target: _Global, code: int, off: int) -> None:
        op = opcode_name(code)
        self._event(
            "pickle.global-mutation",
            f"{op} is applied to the imported object {target.record.full}",
            off,
            op,
            excerpt=target.record.full,
        )

    def _event(
        self,
        rule: str,
        message: str,
        off: int,
        op: str,
        *,
        excerpt: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        self.rec.events.append(_Event(rule, message, off, f"opcode {op} @{off}", excerpt, severity))

    # -- joblib ----------------------------------------------------------------------------

    def _joblib(self, wrapper: _Call, off: int) -> int:
        """Where parsing resumes after a joblib NumpyArrayWrapper's inline array data."""
        state = wrapper.state
        if type(state) is not dict:
            raise _Malformed(off, "joblib NumpyArrayWrapper without a state dict")
        shape = state.get("shape")
        info = _dtype_info(state.get("dtype"))
        if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
            raise _Malformed(off, "joblib NumpyArrayWrapper with an unreadable shape")
        if info is None:
            raise _Malformed(off, "joblib NumpyArrayWrapper with an unreadable dtype")
        itemsize, hasobject = info
        pos = off + 1
        self.rec.joblib_arrays += 1
        if hasobject:
            # Object arrays are written as a complete nested pickle (joblib write_array).
            inner = _Machine(self.src, self.end, self.budget, self.rec, joblib=False)
            out = inner.run(pos)
            if not out.ok:
                raise _Malformed(out.offset, f"joblib object array pickle: {out.message}")
            return out.offset
        if state.get("numpy_array_alignment_bytes") is not None:
            pad = read_span(self.src, Span(pos, 1, "bytes"))
            if not pad:
                raise _Malformed(pos, "joblib padding byte missing")
            pos += 1 + pad[0]
        nbytes = itemsize
        for d in shape:
            nbytes *= d
        self.rec.joblib_bytes += nbytes
        return pos + nbytes


def _store(target: dict[object, object], items: list[object]) -> None:
    for i in range(0, len(items) - 1, 2):
        if len(target) >= DICT_KEEP:
            return
        key = items[i]
        if type(key) is str:
            target[key] = items[i + 1]


def _dict_from(items: list[object]) -> dict[object, object]:
    d: dict[object, object] = {}
    _store(d, items)
    return d


_DTYPE_DIGITS = re.compile(r"^[<>|=]?([a-zA-Z])(\d*)")


def _dtype_info(value: object) -> tuple[int, bool] | None:
    """(itemsize, has objects) of a pickled ``numpy.dtype(...)`` call, from its args and state."""
    if type(value) is not _Call or not isinstance(value.args, tuple) or not value.args:
        return None
    spec = value.args[0]
    if type(spec) is not str:
        return None
    m = _DTYPE_DIGITS.match(spec)
    if m is None:
        return None
    kind, digits = m.group(1), m.group(2)
    state = value.state
    elsize = state[5] if isinstance(state, tuple) and len(state) > 5 else -1
    flags = state[7] if isinstance(state, tuple) and len(state) > 7 else 0
    hasobject = kind == "O" or (type(flags) is int and bool(flags & 1))
    if type(elsize) is int and elsize > 0:
        return elsize, hasobject
    if not digits:
        return (8, True) if kind == "O" else None
    size = int(digits)
    return (size * 4 if kind == "U" else size), hasobject


_SWEEP_GLOBAL = re.compile(rb"[ci]([A-Za-z_][\w.]{0,127})\n([A-Za-z_][\w.]{0,127})\n")
_SWEEP_STACK = re.compile(
    rb"[\x8cU]([\x01-\x80])([A-Za-z_][\w.]{0,127})(?:\x94|q[\x00-\xff])?"
    rb"[\x8cU]([\x01-\x80])([A-Za-z_][\w.]{0,127})(?:\x94|q[\x00-\xff])?\x93"
)


class _Stream:
    """Drives the machine over every pickle of an artifact and gathers what it saw."""

    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        blob = ctx.blob
        self.src: Source = blob.data if isinstance(blob, BytesBlob) else blob
        self.size = blob.size
        self.budget = _Budget(ctx.options.max_pickle_ops)
        self.total = _Recorder()
        self.pickles = 0
        self.malformed: list[tuple[int, str, Severity]] = []
        self.sweep_hits: list[_Event] = []
        self.swept = 0
        self.trailing: tuple[int, int] | None = None
        self.payload: tuple[int, int] | None = None

    def run(self) -> None:
        """Analyse the whole stream."""
        legacy = self.ctx.artifact.format is Format.PYTORCH_LEGACY
        pos = 0
        trusted = True
        resyncs = 0
        while pos < self.size:
            rec = _Recorder()
            out = _Machine(self.src, self.size, self.budget, rec).run(pos)
            if out.ok:
                self._commit(rec, full=True)
                self.pickles += 1
                pos = out.offset
                if legacy and self.pickles == 5:
                    # torch/serialization.py _legacy_save: raw storage bytes follow; never parsed.
                    self.payload = (pos, self.size - pos)
                    return
                trusted = pos < self.size and self._starts_pickle(pos)
                continue
            if out.limit is not None:
                self._commit(rec, full=True)
                self.total.limits.add(out.limit)
                self._sweep(out.offset, self.size)
                return
            if trusted:
                self._commit(rec, full=True)
                sev = Severity.HIGH if rec.has_dangerous() else Severity.MEDIUM
                self.malformed.append((out.offset, out.message, sev))
                sweep_from, search_from = out.offset, out.offset + 1
            else:
                self._commit(rec, full=False)
                if self.trailing is None:
                    self.trailing = (pos, self.size - pos)
                sweep_from, search_from = pos, pos + 1
            nxt = self._find_proto(search_from)
            self._sweep(sweep_from, self.size if nxt is None else nxt)
            if nxt is None:
                break
            resyncs += 1
            if resyncs > MAX_RESYNC:
                self.total.limits.add("resynchronisation")
                self._sweep(nxt, self.size)
                break
            pos, trusted = nxt, False
        if legacy and self.pickles < 5 and not self.malformed:
            self.malformed.append(
                (
                    self.size,
                    f"legacy torch file ends after {self.pickles} of 5 pickles",
                    Severity.MEDIUM,
                )
            )

    def _starts_pickle(self, pos: int) -> bool:
        head = read_span(self.src, Span(pos, 4096, "bytes"))
        if head[:1] == b"\x80":
            return len(head) > 1 and head[1] <= HIGHEST_PROTOCOL
        return plausible_pickle(head)

    def _find_proto(self, start: int) -> int | None:
        """Offset of the next ``PROTO 2..5`` at or after ``start``."""
        chunk = 8 << 20
        pos = start
        while pos < self.size - 1:
            data = read_span(self.src, Span(pos, chunk + 1, "bytes"))
            i = data.find(b"\x80")
            while 0 <= i < len(data) - 1:
                if 2 <= data[i + 1] <= HIGHEST_PROTOCOL:
                    return pos + i
                i = data.find(b"\x80", i + 1)
            pos += chunk
        return None

    def _commit(self, rec: _Recorder, *, full: bool) -> None:
        total = self.total
        total.ops += rec.ops
        if not full:
            # Bytes that are not a pickle: keep only what cannot be noise, a dangerous import
            # spelled with valid names.
            for key, imp in rec.imports.items():
                if imp.judgement.tier is Tier.DANGEROUS and _valid(imp.module, imp.name):
                    self._merge(key, imp)
            return
        for key, imp in rec.imports.items():
            self._merge(key, imp)
        total.events.extend(rec.events)
        total.nested.extend(rec.nested)
        total.protocols |= rec.protocols
        total.limits |= rec.limits
        total.joblib_arrays += rec.joblib_arrays
        total.joblib_bytes += rec.joblib_bytes
        total.persistent_ids += rec.persistent_ids

    def _merge(self, key: tuple[str, str], imp: _Import) -> None:
        have = self.total.imports.get(key)
        if have is None:
            self.total.imports[key] = imp
            return
        have.count += imp.count
        if imp.invoked and not have.invoked:
            have.invoked, have.invoke_offset, have.invoke_op = (
                True,
                imp.invoke_offset,
                imp.invoke_op,
            )

    def _sweep(self, start: int, end: int) -> None:
        """Look for import text in bytes that did not parse (a payload behind a break)."""
        step = 16 << 20
        pos = start
        while pos < end and self.swept < SWEEP_LIMIT:
            n = min(step, end - pos)
            data = read_span(self.src, Span(pos, n + 512, "bytes"))[: n + 512]
            self.swept += n
            for m in _SWEEP_GLOBAL.finditer(data, 0, n + 512):
                if m.start() < n:
                    self._sweep_hit(m.group(1), m.group(2), pos + m.start())
            for m in _SWEEP_STACK.finditer(data):
                mod, name = m.group(2), m.group(4)
                if m.start() < n and len(mod) == m.group(1)[0] and len(name) == m.group(3)[0]:
                    self._sweep_hit(mod, name, pos + m.start())
            pos += n

    def _sweep_hit(self, module: bytes, name: bytes, off: int) -> None:
        mod, nm = module.decode("ascii"), name.decode("ascii")
        j = judge(mod, nm)
        if j.tier is not Tier.DANGEROUS or len(self.sweep_hits) >= MAX_EVENTS:
            return
        if any(h.excerpt == f"{mod}.{nm}" for h in self.sweep_hits):
            return
        self.sweep_hits.append(
            _Event(
                "pickle.dangerous-import",
                f"bytes that do not parse as a pickle spell an import of {mod}.{nm} "
                f"({j.reason}); a lenient or differently-framed loader may run it",
                off,
                f"bytes @{off}",
                f"{mod}.{nm}",
            )
        )


def _valid(module: str, name: str) -> bool:
    return all(p.isidentifier() for p in (*module.split("."), *name.split(".")))


class PickleAnalyzer(Analyzer):
    """Opcode-level analysis of pickle streams: plain pickles, legacy torch.save and joblib files.

    Interprets every opcode symbolically (never executing anything), resolves imports through
    the memo, judges them against an allow-list and a deny model, follows every pickle in the
    stream and keeps going after malformed regions.
    """

    name: ClassVar[str] = "pickle"
    formats: ClassVar[frozenset[Format]] = frozenset({Format.PICKLE, Format.PYTORCH_LEGACY})
    rules: ClassVar[tuple[Rule, ...]] = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        """Yield findings and facts for one pickle artifact, then scan its nested payloads."""
        stream = _Stream(ctx)
        stream.run()
        yield from _findings(ctx, stream)
        yield from _facts(ctx, stream)
        for n, nested in enumerate(stream.total.nested):
            if n >= MAX_NESTED or nested.payload is None:
                continue
            yield from ctx.member(f"pickle@{nested.offset}", _payload(stream.src, nested.payload))


def _payload(src: Source, payload: Span | bytes) -> Iterator[bytes] | bytes:
    if isinstance(payload, bytes):
        return payload
    span = payload

    def chunks() -> Iterator[bytes]:
        step = 8 << 20
        for start in range(span.offset, span.offset + span.length, step):
            yield read_span(src, Span(start, min(step, span.offset + span.length - start), "bytes"))

    return chunks()


def _findings(ctx: ScanContext, s: _Stream) -> Iterator[Result]:
    total = s.total
    for imp in sorted(total.imports.values(), key=lambda i: i.offset):
        yield from _import_finding(ctx, imp)
    counts: dict[str, int] = {}
    seen = {i.full for i in total.imports.values() if i.judgement.tier is Tier.DANGEROUS}
    hits = [h for h in s.sweep_hits if h.excerpt not in seen]
    for ev in [*total.events, *hits]:
        counts[ev.rule] = counts.get(ev.rule, 0) + 1
        if counts[ev.rule] > MAX_EVENTS:
            continue
        yield ctx.finding(
            ev.rule,
            ev.message,
            pointer=ev.pointer,
            offset=ev.offset,
            excerpt=ev.excerpt,
            severity=ev.severity,
        )
    for rule, n in counts.items():
        if n > MAX_EVENTS:
            yield ctx.finding(rule, f"{n - MAX_EVENTS} more occurrences not listed")
    for i, nested in enumerate(total.nested):
        if i >= MAX_NESTED:
            yield ctx.finding(
                "pickle.limits",
                f"{len(total.nested) - MAX_NESTED} more nested payloads not scanned",
            )
            break
        where = f"pickle@{nested.offset}"
        msg = (
            f"{nested.loader} deserialises a constant payload, scanned as member {where}"
            if nested.payload is not None
            else f"{nested.loader} deserialises a value that is not a constant; it was not scanned"
        )
        yield ctx.finding(
            "pickle.nested-pickle",
            msg,
            pointer=f"opcode @{nested.offset}",
            offset=nested.offset,
            excerpt=nested.loader,
        )
    for off, message, sev in s.malformed:
        extra = " after a dangerous import" if sev is Severity.HIGH else ""
        yield ctx.finding(
            "pickle.malformed",
            f"stream breaks{extra}: {message}; what precedes the break runs when loaded",
            pointer=f"offset {off}",
            offset=off,
            severity=sev,
        )
    for what in sorted(total.limits):
        yield ctx.finding(
            "pickle.limits",
            f"{what} limit reached after {total.ops} opcodes; the rest was only swept for imports",
        )


def _import_finding(ctx: ScanContext, imp: _Import) -> Iterator[Result]:
    j = imp.judgement
    called = f", called by {imp.invoke_op} @{imp.invoke_offset}" if imp.invoked else ""
    rule = "pickle.unknown-import"
    severity: Severity | None = None
    if j.tier is Tier.DANGEROUS:
        rule, message = "pickle.dangerous-import", f"imports {imp.full}{called}: {j.reason}"
    elif j.tier is Tier.LOADER and not imp.invoked:
        rule, message = "pickle.nested-pickle", f"imports {imp.full}: {j.reason}"
    elif j.tier is Tier.UNKNOWN_CLASS:
        message = f"imports {imp.full}{called}: {j.reason} (custom code needed)"
    elif j.tier is Tier.UNKNOWN_CALLABLE:
        message = f"imports {imp.full}{called}: {j.reason}"
        severity = Severity.HIGH if imp.invoked else Severity.MEDIUM
    else:
        return
    yield ctx.finding(
        rule,
        message,
        pointer=f"opcode {imp.opcode} @{imp.offset}",
        offset=imp.offset,
        excerpt=imp.full,
        severity=severity,
    )


def _facts(ctx: ScanContext, s: _Stream) -> Iterator[Result]:
    total = s.total
    yield ctx.fact("pickle.streams", s.pickles)
    yield ctx.fact("pickle.protocols", sorted(total.protocols))
    yield ctx.fact("pickle.opcodes", total.ops)
    yield ctx.fact("pickle.globals", sorted(i.full for i in total.imports.values())[:256])
    if total.persistent_ids:
        yield ctx.fact("pickle.persistent_ids", total.persistent_ids)
    if total.joblib_arrays:
        yield ctx.fact(
            "pickle.joblib_arrays", {"count": total.joblib_arrays, "bytes": total.joblib_bytes}
        )
    if s.payload is not None:
        yield ctx.fact(
            "pickle.legacy_torch_payload",
            {"offset": s.payload[0], "length": s.payload[1], "analysed": False},
            pointer=f"offset {s.payload[0]}",
        )
    if s.trailing is not None:
        yield ctx.fact(
            "pickle.trailing_bytes",
            {"offset": s.trailing[0], "length": s.trailing[1]},
            pointer=f"offset {s.trailing[0]}",
        )
