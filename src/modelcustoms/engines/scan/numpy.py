"""NumPy ``.npy`` files: header parsing, object arrays (pickles), size consistency.

An ``.npy`` header is a Python dict literal. It is parsed with :func:`ast.literal_eval` only
after its length is bounded. An object dtype means the payload is a pickle that
``np.load(allow_pickle=True)`` unpickles: that pickle is handed to the engine to be scanned.
"""

from __future__ import annotations

import ast
import re
import struct
from collections.abc import Iterator
from typing import ClassVar

from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext

MAGIC = b"\x93NUMPY"
_MAX_HEADER = 1024 * 1024
_NUMPY_HEADER_LIMIT = 10_000
"""np.load refuses longer headers unless allow_pickle=True (numpy >= 1.24)."""
_CHUNK = 1024 * 1024
_TYPESTR = re.compile(r"^[<>|=]?([a-zA-Z?])(\d*)(?:\[\w+\])?$")
_ITEM = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8,
         "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32}  # fmt: skip

OBJECT = Rule(
    id="numpy.object-dtype",
    title="NumPy array of Python objects (pickle)",
    severity=Severity.HIGH,
    help="The array's dtype holds Python objects, stored as a pickle that "
    "np.load(allow_pickle=True) unpickles, which can run arbitrary code. The pickle was "
    "scanned as a member named 'pickle'.",
    references=("https://numpy.org/doc/stable/reference/generated/numpy.load.html",),
)
MALFORMED = Rule(
    id="numpy.malformed",
    title="Malformed NumPy file",
    severity=Severity.MEDIUM,
    help="The .npy header could not be parsed or is outside what numpy writes; the file is not "
    "verified.",
)
SIZE = Rule(
    id="numpy.size-mismatch",
    title="NumPy data size does not match the header",
    severity=Severity.MEDIUM,
    help="The data is shorter (truncated) or longer (trailing bytes, scanned as a member named "
    "'trailing-data') than the header's shape and dtype say.",
)


# Spellings np.dtype() accepts for the object type besides the typestr 'O' (numpy/_core/
# _type_aliases.py, sctypeDict): np.load passes a string descr straight to np.dtype().
_OBJECT_NAMES = frozenset({"object", "object_", "object0", "O", "O4", "O8"})
# A comma-separated string ('i4,O') is a structured dtype; each part may carry a repeat count
# or a subarray shape in front ('3O', '(2,3)O').
_SHAPE_PREFIX = re.compile(r"^\s*(\(\s*[\d\s,]*\)|\d+)?\s*")
_DESCR_NODES = 10_000


def _split_fields(text: str) -> list[str]:
    """``text`` split on the commas that are outside subarray shapes."""
    parts: list[str] = []
    cur: list[str] = []
    level = 0
    for ch in text:
        level += (ch == "(") - (ch == ")")
        if ch == "," and level == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _string_has_object(text: str) -> bool | None:
    """Whether a string dtype spec holds objects; None when it is not a plain typestr."""
    if len(text) > 10_000:
        return None
    parts = _split_fields(text)
    # numpy's writer emits one plain typestr; other accepted forms are not verified as clean.
    unknown = len(parts) > 1
    for part in parts:
        m = _SHAPE_PREFIX.match(part)
        if m is None:
            return None
        unknown = unknown or bool(m.group(1))
        core = part[m.end() :].strip()
        if core.lstrip("<>|=") in _OBJECT_NAMES:
            return True
        t = _TYPESTR.match(core)
        if t is None:
            unknown = True
        elif t.group(1) == "O":
            return True
    return None if unknown else False


def _has_object(descr: object) -> bool | None:
    """True if the dtype description holds objects; None if it is not understood.

    Follows numpy.lib.format.descr_to_dtype: a string goes to np.dtype(); a tuple is
    (base, shape-or-dtype); a list is fields (name, descr[, shape]). Any object anywhere makes
    the whole dtype hold objects (dtype.hasobject), so the data is a pickle.
    """
    stack: list[object] = [descr]
    seen = 0
    unknown = False
    while stack:
        seen += 1
        if seen > _DESCR_NODES:
            return None
        d = stack.pop()
        if isinstance(d, str):
            got = _string_has_object(d)
            if got:
                return True
            unknown = unknown or got is None
        elif isinstance(d, tuple):
            if len(d) != 2:
                return None
            stack.append(d[0])
            # The second element is a shape (int or tuple of ints) or another dtype spec.
            second = d[1]
            if isinstance(second, int) or (
                isinstance(second, tuple) and all(isinstance(x, int) for x in second)
            ):
                continue
            stack.append(second)
        elif isinstance(d, list):
            for field in d:
                if not isinstance(field, tuple) or len(field) not in (2, 3):
                    return None
                stack.append(field[1])
        else:
            return None
    return None if unknown else False


def itemsize(descr: object) -> int | None:
    """Bytes per element of a (non-object) description, or None when it cannot be told."""
    if isinstance(descr, str):
        m = _TYPESTR.match(descr)
        if m is None:
            return None
        kind, digits = m.group(1), m.group(2)
        if kind in ("S", "a", "V"):
            return int(digits or 0)
        if kind == "U":
            return 4 * int(digits or 0)
        if kind in ("M", "m"):
            return 8
        if digits:
            return int(digits)
        return _ITEM.get(kind)
    if isinstance(descr, list) and len(descr) <= 10_000:
        total = 0
        for field in descr:
            sub = itemsize(field[1]) if isinstance(field, tuple) and len(field) >= 2 else None
            if sub is None:
                return None
            count = 1
            if len(field) == 3:
                shape = field[2] if isinstance(field[2], tuple) else (field[2],)
                for dim in shape:
                    if not isinstance(dim, int) or dim < 0:
                        return None
                    count *= dim
            total += sub * count
        return total
    return None


class NumpyAnalyzer(Analyzer):
    """NumPy .npy files: object arrays are pickles (scanned), sizes checked against the file."""

    name: ClassVar[str] = "numpy"
    formats: ClassVar[frozenset[Format]] = frozenset({Format.NUMPY})
    rules: ClassVar[tuple[Rule, ...]] = (OBJECT, MALFORMED, SIZE)

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        head = ctx.blob.read(0, 12)
        if len(head) < 10 or not head.startswith(MAGIC):
            yield ctx.finding(MALFORMED.id, "file is too short for a .npy header")
            return
        major, minor = head[6], head[7]
        if (major, minor) not in ((1, 0), (2, 0), (3, 0)):
            yield ctx.finding(MALFORMED.id, f"unknown .npy version {major}.{minor}")
            return
        if major == 1:
            (hlen,) = struct.unpack("<H", head[8:10])
            start = 10
        else:
            if len(head) < 12:
                yield ctx.finding(MALFORMED.id, "file is too short for a .npy header")
                return
            (hlen,) = struct.unpack("<I", head[8:12])
            start = 12
        yield ctx.fact("numpy.version", f"{major}.{minor}")
        if hlen > _MAX_HEADER or start + hlen > ctx.blob.size:
            yield ctx.finding(MALFORMED.id, f"header length {hlen} does not fit the file")
            return
        if hlen > _NUMPY_HEADER_LIMIT:
            yield ctx.finding(
                MALFORMED.id,
                f"header of {hlen} bytes; np.load refuses more than {_NUMPY_HEADER_LIMIT} "
                "unless allow_pickle=True",
            )
        header = self._header(ctx, ctx.blob.read(start, hlen), major)
        if isinstance(header, str):
            yield ctx.finding(MALFORMED.id, header, offset=start)
            return
        descr, shape = header
        yield ctx.fact("numpy.dtype", str(descr)[:200])
        yield ctx.fact("numpy.shape", list(shape))
        data_start = start + hlen
        has_object = _has_object(descr)
        if has_object is None:
            yield ctx.finding(
                MALFORMED.id,
                f"dtype description {str(descr)[:100]!r} is not one numpy writes; the data "
                "was scanned as a member named 'data' in case np.load reads it as objects",
                offset=data_start,
            )
            # np.dtype() accepts more spellings than we model: whatever numpy makes of this
            # descr, a pickle in the data region is still sniffed and analysed.
            yield from ctx.member("data", ctx.blob.chunks(data_start, ctx.blob.size, _CHUNK))
            return
        if has_object:
            yield ctx.finding(
                OBJECT.id,
                "object dtype: np.load(allow_pickle=True) unpickles the data",
                offset=data_start,
                excerpt=str(descr)[:200],
            )
            yield from ctx.member("pickle", ctx.blob.chunks(data_start, ctx.blob.size, _CHUNK))
            return
        yield from self._sizes(ctx, descr, shape, data_start)

    def _header(
        self, ctx: ScanContext, raw: bytes, major: int
    ) -> tuple[object, tuple[int, ...]] | str:
        """(descr, shape) from the header literal, or a message saying what is wrong."""
        try:
            text = raw.decode("utf-8" if major == 3 else "latin-1")
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError) as exc:
            return f"header is not a Python literal: {type(exc).__name__}"
        if not isinstance(value, dict) or set(value) != {"descr", "fortran_order", "shape"}:
            return "header is not a dict with exactly descr, fortran_order and shape"
        shape = value["shape"]
        if not isinstance(shape, tuple) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            return f"invalid shape {str(shape)[:100]!r}"
        if not isinstance(value["fortran_order"], bool):
            return "fortran_order is not a boolean"
        if not raw.endswith(b"\n"):
            return "header does not end with a newline"
        return value["descr"], shape

    def _sizes(
        self, ctx: ScanContext, descr: object, shape: tuple[int, ...], data_start: int
    ) -> Iterator[Result]:
        size = itemsize(descr)
        if size is None:
            yield ctx.skip("not-applicable", "data size of this dtype is not checked")
            return
        count = 1
        for dim in shape:
            count *= dim
        expected = count * size
        actual = ctx.blob.size - data_start
        if actual < expected:
            yield ctx.finding(SIZE.id, f"data is truncated: {actual} bytes, header says {expected}")
        elif actual > expected:
            yield ctx.finding(
                SIZE.id,
                f"{actual - expected} bytes after the array data",
                offset=data_start + expected,
            )
            yield from ctx.member(
                "trailing-data", ctx.blob.chunks(data_start + expected, ctx.blob.size, _CHUNK)
            )
