"""ONNX models: custom operator domains, Python operators, and external-data paths.

An ONNX file carries no code, but a node in a non-standard domain only runs when the loader
registers a native custom-op library (or Python callbacks, for onnxruntime-extensions' PyOp),
and a tensor stored as *external data* names a file that ``onnx.load`` opens relative to the
model; a ``location`` that is absolute or climbs out with ``..`` reads (or, on save, writes) any
file the process can reach (CVE-2022-25882, and its bypass CVE-2024-27318).

The model is walked lazily with :class:`~modelcustoms.artifacts.protobuf.WireReader`: nested
graphs (``If``/``Loop``/``Scan`` attributes), model-local functions and training graphs are
visited with an explicit stack, and tensor payloads are skipped by length, never read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from modelcustoms.artifacts.protobuf import LEN, VARINT, Field, ProtobufError, WireReader
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext

MAX_NODES = 2_000_000
MAX_TENSORS = 2_000_000
MAX_DEPTH = 64
MAX_REPORTED = 50

STANDARD_DOMAINS = frozenset(
    {
        "",
        "ai.onnx",
        "ai.onnx.ml",
        "ai.onnx.training",
        "ai.onnx.preview",
        "ai.onnx.preview.training",
        "com.microsoft",
        "com.microsoft.nchwc",
        "com.microsoft.experimental",
        "com.microsoft.mlfeaturizers",
        "com.ms.internal.nhwc",
        "org.pytorch.aten",
    }
)
"""Domains implemented by the ONNX standard or built into onnxruntime."""

_PYTHON_OPS = frozenset({"PyOp", "PythonOp", "PythonOpGrad"})

_REFS = (
    "https://nvd.nist.gov/vuln/detail/CVE-2022-25882",
    "https://nvd.nist.gov/vuln/detail/CVE-2024-27318",
    "https://nvd.nist.gov/vuln/detail/CVE-2024-5187",
    "https://onnx.ai/onnx/repo-docs/ExternalData.html",
)

RULES = (
    Rule(
        id="onnx.external-data-traversal",
        title="External tensor data outside the model folder",
        severity=Severity.HIGH,
        help="A tensor's external_data location is absolute, has a drive letter or climbs out of "
        "the model folder with '..'. Loading reads that file into the model (and saving writes "
        "it): arbitrary file read/overwrite. Do not load the model.",
        references=_REFS,
    ),
    Rule(
        id="onnx.python-op",
        title="Operator implemented by Python callbacks",
        severity=Severity.HIGH,
        help="The graph uses a Python-backed operator (onnxruntime-extensions PyOp, or "
        "onnxruntime's PythonOp). Running it calls Python code chosen by the loading process; "
        "review what implements it before running the model.",
        references=("https://github.com/microsoft/onnxruntime-extensions",),
    ),
    Rule(
        id="onnx.custom-op",
        title="Operator from a custom domain",
        severity=Severity.MEDIUM,
        help="A node uses an operator domain that is neither standard ONNX nor built into "
        "onnxruntime, nor a function defined in the model. It only runs with a native custom-op "
        "library registered by the loader; that library is code you must trust.",
        references=("https://onnxruntime.ai/docs/reference/operators/add-custom-op.html",),
    ),
    Rule(
        id="onnx.malformed",
        title="ONNX model could not be parsed completely",
        severity=Severity.MEDIUM,
        help="The protobuf structure is broken; what was read before the error was analysed, "
        "the rest was not verified.",
    ),
    Rule(
        id="onnx.limits-exceeded",
        title="ONNX model exceeds the analysis limits",
        severity=Severity.MEDIUM,
        help="The graph has more nodes, tensors or nesting than the analyzer visits; the rest "
        "was not verified.",
    ),
)


def unsafe_relative_path(path: str) -> str | None:
    """Why ``path`` may point outside the folder it is resolved against, or None when it cannot.

    Loaders join these paths to the model's folder with ``os.path.join``, which discards the
    folder for an absolute path and follows ``..``; both POSIX and Windows readings are checked.
    """
    if not path:
        return "is empty"
    if "\x00" in path:
        return "contains a NUL byte"
    norm = path.replace("\\", "/")
    if norm.startswith("/"):
        return "is absolute"
    if len(norm) >= 2 and norm[1] == ":" and norm[0].isalpha():
        return "has a drive letter"
    if "://" in norm or norm.lower().startswith("file:"):
        return "is a URL"
    for part in norm.split("/"):
        # Windows drops trailing dots and spaces, so '.. ' and '...' climb like '..'.
        if part.startswith("..") and not part.rstrip(" ."):
            return "climbs out with '..'"
    return None


_GRAPH, _NODE, _ATTR, _TENSOR, _SPARSE, _FUNCTION, _TRAINING = range(7)


@dataclass(slots=True)
class _Op:
    count: int
    node: str
    offset: int


@dataclass(slots=True)
class _State:
    ir_version: int | None = None
    producer: str = ""
    opsets: dict[str, int] = field(default_factory=dict)
    functions: set[tuple[str, str]] = field(default_factory=set)
    ops: dict[tuple[str, str], _Op] = field(default_factory=dict)
    python_ops: list[tuple[str, str, str, int]] = field(default_factory=list)
    external: list[tuple[str, str, int]] = field(default_factory=list)
    """(tensor, location, offset) of every external-data location."""
    nodes: int = 0
    tensors: int = 0
    limit: str | None = None
    errors: list[str] = field(default_factory=list)


class OnnxAnalyzer(Analyzer):
    """ONNX ModelProto: custom/Python operators and external-data path traversal."""

    name = "onnx"
    formats = frozenset({Format.ONNX})
    rules = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        st = _State()
        _walk(WireReader(ctx.blob), st)
        yield from _facts(ctx, st)
        yield from _findings(ctx, st)
        for error in st.errors[:10]:
            yield ctx.finding("onnx.malformed", f"ONNX protobuf is malformed: {error}")
        if st.limit is not None:
            yield ctx.finding("onnx.limits-exceeded", st.limit)


def _walk(r: WireReader, st: _State) -> None:
    """Visit the model; a damaged submessage is recorded and its siblings still visited."""
    stack: list[tuple[int, int, int, int]] = []
    try:
        _model(r, st, stack)
    except ProtobufError as exc:
        st.errors.append(str(exc))
    while stack:
        kind, start, end, depth = stack.pop()
        if depth > MAX_DEPTH:
            st.limit = f"subgraphs nested deeper than {MAX_DEPTH} levels were not analysed"
            continue
        try:
            if kind == _NODE:
                _node(r, st, start, end, depth, stack)
            elif kind == _TENSOR:
                _tensor(r, st, start, end)
            else:
                _container(r, kind, start, end, depth, stack, st)
        except ProtobufError as exc:
            st.errors.append(str(exc))


def _model(r: WireReader, st: _State, stack: list[tuple[int, int, int, int]]) -> None:
    for f in r.fields(0, r.size):
        if f.number == 1 and f.wire == VARINT:
            st.ir_version = f.value
        elif f.number == 2 and f.wire == LEN:
            st.producer = r.string(f, 256)
        elif f.number == 8 and f.wire == LEN:
            domain, version = _opset(r, f)
            st.opsets[domain] = version
        elif f.number == 7 and f.wire == LEN:
            stack.append((_GRAPH, f.offset, f.end, 0))
        elif f.number == 20 and f.wire == LEN:
            stack.append((_TRAINING, f.offset, f.end, 0))
        elif f.number == 25 and f.wire == LEN:
            stack.append((_FUNCTION, f.offset, f.end, 0))


# Which submessages of each container kind are pushed, and as what.
_CHILDREN: dict[int, dict[int, tuple[int, int]]] = {
    # GraphProto: node, initializer, sparse_initializer.
    _GRAPH: {1: (_NODE, 0), 5: (_TENSOR, 0), 15: (_SPARSE, 0)},
    # AttributeProto: t, g, tensors, graphs, sparse_tensor, sparse_tensors.
    _ATTR: {
        5: (_TENSOR, 0),
        6: (_GRAPH, 1),
        10: (_TENSOR, 0),
        11: (_GRAPH, 1),
        22: (_SPARSE, 0),
        23: (_SPARSE, 0),
    },
    # SparseTensorProto: values, indices.
    _SPARSE: {1: (_TENSOR, 0), 2: (_TENSOR, 0)},
    # FunctionProto: node, attribute_proto (default values may hold graphs).
    _FUNCTION: {7: (_NODE, 0), 11: (_ATTR, 0)},
    # TrainingInfoProto: initialization, algorithm.
    _TRAINING: {1: (_GRAPH, 0), 2: (_GRAPH, 0)},
}


def _container(
    r: WireReader,
    kind: int,
    start: int,
    end: int,
    depth: int,
    stack: list[tuple[int, int, int, int]],
    st: _State,
) -> None:
    children = _CHILDREN[kind]
    name = domain = ""
    for f in r.fields(start, end):
        if f.wire != LEN:
            continue
        child = children.get(f.number)
        if child is not None:
            stack.append((child[0], f.offset, f.end, depth + child[1]))
        elif kind == _FUNCTION and f.number == 1:
            name = r.string(f, 512)
        elif kind == _FUNCTION and f.number == 10:
            domain = r.string(f, 512)
    if kind == _FUNCTION:
        st.functions.add((domain, name))


def _node(
    r: WireReader,
    st: _State,
    start: int,
    end: int,
    depth: int,
    stack: list[tuple[int, int, int, int]],
) -> None:
    st.nodes += 1
    if st.nodes > MAX_NODES:
        st.limit = f"more than {MAX_NODES} nodes; the rest were not analysed"
        stack.clear()
        return
    name = op_type = domain = ""
    attrs: list[Field] = []
    for f in r.fields(start, end):
        if f.wire != LEN:
            continue
        if f.number == 3:
            name = r.string(f, 512)
        elif f.number == 4:
            op_type = r.string(f, 512)
        elif f.number == 7:
            domain = r.string(f, 512)
        elif f.number == 5:
            attrs.append(f)
    stack.extend((_ATTR, a.offset, a.end, depth) for a in attrs)
    key = ("" if domain == "ai.onnx" else domain, op_type)
    op = st.ops.get(key)
    if op is None:
        st.ops[key] = _Op(1, name, start)
    else:
        op.count += 1
    if _is_python_op(domain, op_type) and len(st.python_ops) < MAX_REPORTED:
        st.python_ops.append((domain, op_type, _attr_summary(r, attrs), start))


def _is_python_op(domain: str, op_type: str) -> bool:
    return op_type in _PYTHON_OPS or (domain == "ai.onnx.contrib" and op_type.startswith("Py"))


def _attr_summary(r: WireReader, attrs: list[Field]) -> str:
    """``name=value`` of a node's string attributes (what a Python op names as its callee)."""
    parts: list[str] = []
    for a in attrs[:16]:
        key = value = ""
        for f in r.fields(a.offset, a.end):
            if f.number == 1 and f.wire == LEN:
                key = r.string(f, 128)
            elif f.number == 4 and f.wire == LEN:
                value = r.string(f, 200)
        if value:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def _tensor(r: WireReader, st: _State, start: int, end: int) -> None:
    st.tensors += 1
    if st.tensors > MAX_TENSORS:
        st.limit = f"more than {MAX_TENSORS} tensors; the rest were not analysed"
        return
    name = ""
    locations: list[tuple[str, int]] = []
    # raw_data (9) and the typed data fields are skipped by length: only their tags are read.
    for f in r.fields(start, end):
        if f.number == 8 and f.wire == LEN:
            name = r.string(f, 512)
        elif f.number == 13 and f.wire == LEN:
            key, value = _entry(r, f)
            if key == "location":
                locations.append((value, f.tag_offset))
    for loc, offset in locations:
        st.external.append((name, loc, offset))


def _entry(r: WireReader, f: Field) -> tuple[str, str]:
    """A StringStringEntryProto; repeated keys or values keep the last (as protobuf does)."""
    key = value = ""
    for sub in r.fields(f.offset, f.end):
        if sub.number == 1 and sub.wire == LEN:
            key = r.string(sub, 256)
        elif sub.number == 2 and sub.wire == LEN:
            value = r.string(sub, 4096)
    return key, value


def _opset(r: WireReader, f: Field) -> tuple[str, int]:
    domain, version = "", 0
    for sub in r.fields(f.offset, f.end):
        if sub.number == 1 and sub.wire == LEN:
            domain = r.string(sub, 256)
        elif sub.number == 2 and sub.wire == VARINT:
            version = sub.value
    return domain, version


def _facts(ctx: ScanContext, st: _State) -> Iterator[Result]:
    if st.ir_version is not None:
        yield ctx.fact("onnx.ir_version", st.ir_version)
    if st.producer:
        yield ctx.fact("onnx.producer", st.producer)
    if st.opsets:
        yield ctx.fact("onnx.opset_imports", dict(sorted(st.opsets.items())))
    yield ctx.fact("onnx.node_count", st.nodes)
    files = sorted({loc for _, loc, _ in st.external if unsafe_relative_path(loc) is None})
    if files:
        yield ctx.fact("onnx.external_data_files", files[:200])


def _findings(ctx: ScanContext, st: _State) -> Iterator[Result]:
    reported = 0
    for tensor, loc, offset in st.external:
        why = unsafe_relative_path(loc)
        if why is None:
            continue
        reported += 1
        if reported > MAX_REPORTED:
            break
        yield ctx.finding(
            "onnx.external-data-traversal",
            f"tensor {tensor!r} stores its data at {loc!r}, which {why}",
            pointer=f"tensor {tensor}",
            offset=offset,
            excerpt=loc,
        )
    for domain, op_type, attrs, offset in st.python_ops:
        yield ctx.finding(
            "onnx.python-op",
            f"node of Python-backed operator {domain or 'ai.onnx'}::{op_type}",
            pointer=f"op {domain}::{op_type}",
            offset=offset,
            excerpt=attrs or None,
        )
    custom = [
        (d, o, info)
        for (d, o), info in sorted(st.ops.items())
        if d not in STANDARD_DOMAINS and (d, o) not in st.functions and not _is_python_op(d, o)
    ]
    for domain, op_type, info in custom[:MAX_REPORTED]:
        yield ctx.finding(
            "onnx.custom-op",
            f"operator {op_type!r} of custom domain {domain!r} ({info.count} node(s), first "
            f"{info.node!r}) needs a custom-op library",
            pointer=f"op {domain}::{op_type}",
            offset=info.offset,
        )
    if len(custom) > MAX_REPORTED:
        yield ctx.fact("onnx.custom_ops_not_listed", len(custom) - MAX_REPORTED)
