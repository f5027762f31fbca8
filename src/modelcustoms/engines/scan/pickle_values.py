"""The symbolic values and records of pickle analysis: what the machine pushes and remembers.

Nothing here is ever a real Python object built from the pickle: imports become
:class:`Global` markers, calls become :class:`Call` markers, and containers collapse to
``DATA`` except the few dicts kept to read a joblib wrapper's state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from modelcustoms.artifacts.pickleops import Span
from modelcustoms.core import Severity
from modelcustoms.engines.scan.pickle_globals import Judgement, Tier

JOBLIB_WRAPPER = frozenset(
    {
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
)
DICT_KEEP = 32
"""Entries kept per symbolic dict (enough for the joblib wrapper state)."""


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
PLAIN: frozenset[type] = frozenset({int, float, bool, type(None), _Data})


@dataclass(slots=True)
class Import:
    """An import the pickle performs, with where it was first seen and called."""

    module: str
    name: str
    judgement: Judgement
    offset: int
    opcode: str
    count: int = 1
    invoked: bool = False
    invoke_offset: int = 0
    invoke_op: str = ""
    executed: bool = False
    """Called by an opcode that runs its body (REDUCE, INST, OBJ, or through a helper that
    calls its argument), not only ``cls.__new__`` (NEWOBJ, NEWOBJ_EX)."""
    execute_offset: int = 0
    execute_op: str = ""

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


class Global:
    """The value an import pushes on the symbolic stack."""

    __slots__ = ("joblib", "record")

    def __init__(self, record: Import) -> None:
        self.record = record
        self.joblib = (record.module, record.name) in JOBLIB_WRAPPER

    def __repr__(self) -> str:
        return self.record.full


class Call:
    """The value a call opcode pushes: the callee, its arguments and its BUILD state."""

    __slots__ = ("args", "func", "offset", "state")

    def __init__(self, func: object, args: object, offset: int) -> None:
        self.func = func
        self.args = args
        self.offset = offset
        self.state: object = None

    def __repr__(self) -> str:
        return f"<result of {describe(self.func)}(...)>"


@dataclass(frozen=True, slots=True)
class Event:
    """One observation that becomes a finding (other than imports)."""

    rule: str
    message: str
    offset: int
    pointer: str
    excerpt: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Nested:
    """A constant handed to a deserialiser, to scan as its own artifact."""

    loader: str
    offset: int
    payload: Span | bytes | None


@dataclass(slots=True)
class Recorder:
    """What one segment (one pickle, or one resynchronised attempt) showed."""

    imports: dict[tuple[str, str], Import] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    nested: list[Nested] = field(default_factory=list)
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
class Outcome:
    """How one run of the machine ended."""

    ok: bool
    offset: int
    """End offset (after STOP) when ok, else where the segment broke."""
    message: str = ""
    limit: str | None = None
    truncated: bool = False


class Malformed(Exception):
    """The stream breaks at ``offset``."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class Budget:
    """Opcodes left to interpret, shared by every machine of one artifact."""

    __slots__ = ("ops_left",)

    def __init__(self, ops: int) -> None:
        self.ops_left = ops


def describe(value: object, depth: int = 0) -> str:
    """A short, bounded description of a symbolic value for messages."""
    if isinstance(value, str):
        return repr(value[:80])
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, Span):
        return f"<{value.length}-byte {value.kind}>"
    if isinstance(value, tuple) and depth < 2:
        return "(" + ", ".join(describe(v, depth + 1) for v in value[:4]) + ")"
    if isinstance(value, Call) and depth < 2:
        return f"<result of {describe(value.func, depth + 1)}(...)>"
    return repr(value) if isinstance(value, Global | _Sentinel | _Data) else type(value).__name__


def store(target: dict[object, object], items: list[object]) -> None:
    """Keep the first string-keyed pairs of ``items`` (key, value, key, value ...)."""
    for i in range(0, len(items) - 1, 2):
        if len(target) >= DICT_KEEP:
            return
        key = items[i]
        if type(key) is str:
            target[key] = items[i + 1]


def dict_from(items: list[object]) -> dict[object, object]:
    """A symbolic dict of the string-keyed pairs of ``items``."""
    d: dict[object, object] = {}
    store(d, items)
    return d


_DTYPE_DIGITS = re.compile(r"^[<>|=]?([a-zA-Z])(\d*)")


def dtype_info(value: object) -> tuple[int, bool] | None:
    """(itemsize, has objects) of a pickled ``numpy.dtype(...)`` call, from its args and state."""
    if type(value) is not Call or not isinstance(value.args, tuple) or not value.args:
        return None
    spec = value.args[0]
    if type(spec) is not str:
        return None
    if spec.lstrip("<>|=") in ("object", "object_", "object0"):
        # np.dtype("object") is the object type spelled by name, not kind "o".
        return 8, True
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
