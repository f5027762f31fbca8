"""What the symbolic pickle machine remembers: the memo, imports, calls and events.

:class:`MachineState` is the half of the machine that opcodes act on; the interpreter loop in
:mod:`~modelcustoms.engines.scan.pickle_machine` drives it.
"""

from __future__ import annotations

from modelcustoms.artifacts.pickleops import Source, Span, opcode_name
from modelcustoms.core import Severity
from modelcustoms.engines.scan.pickle_globals import PARTIALS, judge
from modelcustoms.engines.scan.pickle_values import (
    DATA,
    DYNAMIC,
    UNKNOWN,
    Budget,
    Call,
    Event,
    Global,
    Import,
    Malformed,
    Nested,
    Recorder,
    describe,
)

_NEW_ONLY = frozenset({"NEWOBJ", "NEWOBJ_EX"})
"""Call opcodes that run only ``cls.__new__``, never ``__init__`` or a function body."""
_CALL_DEPTH = 8
"""Most helper-within-helper calls followed (partial of partial ...)."""

MEMO_CAP = 1_000_000
"""Most memo entries holding tracked values (plain numbers are kept in a bitmap)."""
BITMAP_KEYS = 1 << 26


class MachineState:
    """The memo and the recorder of one symbolic machine, with the effects opcodes have on them."""

    def __init__(
        self, src: Source, end: int, budget: Budget, rec: Recorder, *, joblib: bool = True
    ) -> None:
        self.src = src
        self.end = end
        self.budget = budget
        self.rec = rec
        self.joblib = joblib
        self.memo: dict[int, object] = {}
        self.bits = bytearray()
        self.mlen = 0

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
        raise Malformed(off, f"memo key {key} was never stored")

    # -- imports and calls -----------------------------------------------------------------

    def _import(self, module: str, name: str, off: int, op: str) -> Global:
        key = (module, name)
        rec = self.rec.imports.get(key)
        if rec is None:
            rec = Import(module, name, judge(module, name), off, op)
            self.rec.imports[key] = rec
        else:
            rec.count += 1
        return Global(rec)

    def _stack_global(self, module: object, name: object, off: int) -> object:
        if type(module) is str and type(name) is str:
            return self._import(module, name, off, "STACK_GLOBAL")
        lost = (
            module is UNKNOWN
            or name is UNKNOWN
            or isinstance(module, Span)
            or isinstance(name, Span)
        )
        what = f"module={describe(module)} name={describe(name)}"
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

    def _call(self, func: object, args: object, off: int, op: str, depth: int = 0) -> Call:
        t = type(func)
        if t is Global:
            assert isinstance(func, Global)
            rec = func.record
            if not rec.invoked:
                rec.invoked = True
                rec.invoke_offset = off
                rec.invoke_op = op
            if not rec.executed and op not in _NEW_ONLY:
                rec.executed = True
                rec.execute_offset = off
                rec.execute_op = op
            if rec.judgement.loader:
                first = args[0] if isinstance(args, tuple) and args else None
                if isinstance(first, str):
                    first = first.encode("latin-1", "replace")
                payload = first if isinstance(first, bytes | Span) else None
                if isinstance(payload, Span) and payload.kind not in ("bytes", "bytearray", "str"):
                    payload = None
                self.rec.nested.append(Nested(rec.full, off, payload))
            calls = rec.judgement.calls
            if calls is not None and op not in _NEW_ONLY and depth < _CALL_DEPTH:
                # An allow-listed helper that calls one of its arguments (torch
                # _rebuild_from_type_v2 runs func(*args)): judge that argument as called.
                callee, inner = _pick(args, calls[0]), _pick(args, calls[1])
                self._call(callee, inner, off, f"{op} via {rec.full}", depth + 1)
        elif t is Call:
            assert isinstance(func, Call)
            self._event(
                "pickle.dynamic-call",
                f"{op} calls {describe(func)}, a value computed by the pickle",
                off,
                op,
                excerpt=describe(func),
            )
            inner_func = func.func
            if (
                type(inner_func) is Global
                and inner_func.record.full in PARTIALS
                and depth < _CALL_DEPTH
            ):
                # Calling a functools.partial calls what it wraps: the constructor argument,
                # or the func a BUILD state (func, args, kwds, dict) swapped in.
                via = f"{op} via {inner_func.record.full}"
                for wrapped in (_pick(func.args, 0), _pick(func.state, 0)):
                    if type(wrapped) in (Global, Call):
                        self._call(wrapped, args, off, via, depth + 1)
        return Call(func, args, off)

    def _mutation(self, target: Global, code: int, off: int) -> None:
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
        self.rec.events.append(Event(rule, message, off, f"opcode {op} @{off}", excerpt, severity))


def _pick(values: object, index: int | None) -> object:
    """``values[index]`` of a symbolic tuple, or None when it is not there."""
    if index is None or not isinstance(values, tuple) or index >= len(values):
        return None
    return values[index]
