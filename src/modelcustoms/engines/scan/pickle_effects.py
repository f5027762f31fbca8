"""What the symbolic pickle machine remembers: the memo, imports, calls and events.

:class:`MachineState` is the half of the machine that opcodes act on; the interpreter loop in
:mod:`~modelcustoms.engines.scan.pickle_machine` drives it.
"""

from __future__ import annotations

from modelcustoms.artifacts.pickleops import Source, Span, opcode_name
from modelcustoms.core import Severity
from modelcustoms.engines.scan.pickle_globals import judge
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

    def _call(self, func: object, args: object, off: int, op: str) -> Call:
        t = type(func)
        if t is Global:
            assert isinstance(func, Global)
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
                self.rec.nested.append(Nested(rec.full, off, payload))
        elif t is Call:
            self._event(
                "pickle.dynamic-call",
                f"{op} calls {describe(func)}, a value computed by the pickle",
                off,
                op,
                excerpt=describe(func),
            )
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
