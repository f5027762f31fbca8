"""TensorFlow SavedModels (``saved_model.pb``), frozen GraphDefs and Keras SavedModel metadata.

A SavedModel graph cannot run Python by itself, but its ops can: ``PyFunc`` calls back into the
loading process, ``ReadFile``/``WriteFile``/``MatchingFiles`` and the dataset readers touch any
file the process can reach, ``PrintV2`` and the debug ops write to ``file://`` URLs, and RPC or
data-service ops reach the network. Those run when a signature is called, which is what loading
a model is for.

Every real SavedModel also writes and restores checkpoints through ``SaveV2``, ``RestoreV2`` and
``MergeV2Checkpoints``. Those ops are only judged outside the saver: the functions reachable from
the graph's ``saver_def`` (TF2 ``__inference__traced_save/restore_*``) and the TF1 ``save/`` scope.

Keras models saved in the SavedModel format keep each layer's config as JSON metadata (here, or
in ``keras_metadata.pb``); it is checked with the Keras config rules (Lambda bytecode etc.).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from modelcustoms.artifacts.protobuf import LEN, VARINT, Field, ProtobufError, WireReader
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext
from modelcustoms.engines.scan.keras_config import check_config, config_rules, load_json
from modelcustoms.engines.scan.onnx import unsafe_relative_path

MAX_NODES = 2_000_000
MAX_REPORTED = 50
MAX_METADATA_BYTES = 64 * 1024**2

PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
FILE_OPS = frozenset(
    {
        *("ReadFile", "WriteFile", "MatchingFiles", "ImmutableConst"),
        *("WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2"),
        *("FixedLengthRecordReader", "FixedLengthRecordReaderV2", "TFRecordReader"),
        *("TFRecordReaderV2", "LMDBReader", "TextLineDataset", "TFRecordDataset"),
        *("TFRecordDatasetV2", "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2"),
        *("CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset", "SqlDataset"),
        *("ExperimentalSqlDataset", "LMDBDataset", "ExperimentalLMDBDataset"),
        *("MatchingFilesDataset", "ExperimentalMatchingFilesDataset", "SaveDataset"),
        *("SaveDatasetV2", "LoadDataset", "DatasetToTFRecord", "ExperimentalDatasetToTFRecord"),
        *("CreateSummaryFileWriter", "CreateSummaryDbWriter", "LoadAndRemapMatrix"),
        "GenerateVocabRemapping",
    }
)
"""Ops that read, list or write files named by their inputs."""
NETWORK_OPS = frozenset(
    {
        *("Rpc", "TryRpc", "RpcCall", "RpcClient", "RpcServer", "DataServiceDataset"),
        *("DataServiceDatasetV2", "DataServiceDatasetV3", "DataServiceDatasetV4"),
        *("RegisterDataset", "RegisterDatasetV2", "BigQueryReader", "KafkaDataset"),
    }
)
CHECKPOINT_OPS = frozenset(
    {"SaveV2", "Save", "SaveSlices", "RestoreV2", "Restore", "RestoreSlice", "MergeV2Checkpoints"}
)
"""File I/O that every SavedModel's saver uses; findings only outside the saver."""
_DEBUG_OPS = frozenset({"DebugIdentity", "DebugIdentityV2", "DebugNanCount", "DebugNumericSummary"})
_PROTO_OPS = frozenset({"DecodeProtoV2", "EncodeProto"})
_WANTED_ATTRS = frozenset(
    {"output_stream", "debug_urls", "dump_root", "descriptor_source", "token"}
)

_KERAS = "savedmodel.keras-"
"""Prefix of the Keras config rules this analyzer applies to Keras SavedModel metadata."""

_TRACED_SAVER = re.compile(r"__inference__traced_(save|restore)_\d+")
_TF1_SAVER_SCOPE = re.compile(r"save(_\d+)?/")

RULES: tuple[Rule, ...] = (
    Rule(
        id="savedmodel.python-op",
        title="Graph calls back into Python",
        severity=Severity.HIGH,
        help="PyFunc/EagerPyFunc ops run a Python function registered in the loading process "
        "when the graph runs. The code is not in the file, but a model that needs it only "
        "works with code you must review; treat as code execution.",
        references=("https://www.tensorflow.org/api_docs/python/tf/py_function",),
    ),
    Rule(
        id="savedmodel.file-io",
        title="Graph reads or writes files",
        severity=Severity.HIGH,
        help="The graph has ops that read, list or write files (ReadFile, WriteFile, "
        "MatchingFiles, dataset readers, checkpoint ops outside the saver, file:// outputs). "
        "Calling the model can exfiltrate or overwrite local files.",
        references=(
            "https://github.com/tensorflow/tensorflow/blob/master/SECURITY.md",
            "https://www.tensorflow.org/api_docs/python/tf/io/read_file",
        ),
    ),
    Rule(
        id="savedmodel.network-io",
        title="Graph reaches the network",
        severity=Severity.HIGH,
        help="The graph has RPC, data-service or debug ops that connect to other hosts.",
        references=("https://github.com/tensorflow/tensorflow/blob/master/SECURITY.md",),
    ),
    Rule(
        id="savedmodel.asset-traversal",
        title="Asset path outside the SavedModel folder",
        severity=Severity.HIGH,
        help="An asset file name is absolute or climbs out with '..'; loading reads that file "
        "(e.g. as a vocabulary) instead of one shipped with the model.",
    ),
    Rule(
        id="savedmodel.malformed",
        title="SavedModel could not be parsed completely",
        severity=Severity.MEDIUM,
        help="The protobuf structure is broken or exceeds the analysis limits; the rest was not "
        "verified.",
    ),
    *config_rules(_KERAS),
)


@dataclass(frozen=True, slots=True)
class _Node:
    name: str
    op: str
    function: str | None
    """The library function holding the node; None in the main graph."""
    offset: int
    attrs: tuple[tuple[str, str], ...]
    """Values of the few string attributes some checks need."""


@dataclass(slots=True)
class _Graph:
    nodes: list[_Node] = field(default_factory=list)
    calls: dict[str | None, set[str]] = field(default_factory=dict)
    """Functions called from each function (None: the main graph)."""
    node_calls: dict[str, set[str]] = field(default_factory=dict)
    """Functions called by each main-graph node."""
    saver: list[str] = field(default_factory=list)
    """Tensor and op names from the SaverDef."""
    errors: list[str] = field(default_factory=list)
    """Damaged nodes or functions (skipped; their siblings were still read)."""


@dataclass(slots=True)
class _Budget:
    nodes: int = 0
    limit: bool = False


class SavedModelAnalyzer(Analyzer):
    """TensorFlow SavedModel/GraphDef: Python, file and network ops outside the saver."""

    name = "savedmodel"
    formats = frozenset({Format.SAVEDMODEL})
    rules = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        r = WireReader(ctx.blob)
        budget = _Budget()
        try:
            top = list(r.fields(0, r.size))
        except ProtobufError as exc:
            yield ctx.finding("savedmodel.malformed", f"protobuf is malformed: {exc}")
            return
        try:
            kind = _kind(r, top)
            yield ctx.fact("savedmodel.kind", kind)
            if kind == "keras-metadata":
                nodes = [f for f in top if f.number == 1 and f.wire == LEN]
                yield from _keras_metadata(ctx, r, nodes, content=5)
            elif kind == "saved-model":
                metas = [f for f in top if f.number == 2 and f.wire == LEN]
                for i, meta in enumerate(metas):
                    yield from _meta_graph(ctx, r, meta, i, budget)
            else:
                graph = _Graph()
                _graph_def(r, 0, r.size, graph, budget)
                yield from _judge(ctx, graph, "graph")
        except ProtobufError as exc:
            yield ctx.finding("savedmodel.malformed", f"protobuf is malformed: {exc}")
        if budget.limit:
            yield ctx.finding(
                "savedmodel.malformed",
                f"more than {MAX_NODES} nodes; the rest were not analysed",
            )


def _kind(r: WireReader, top: list[Field]) -> str:
    """saved-model, keras-metadata or graph-def; unknown fields are ignored, as TF does."""
    if any(f.number == 1 and f.wire == VARINT for f in top):
        return "saved-model"
    first = next((f for f in top if f.number == 1 and f.wire == LEN), None)
    if first is None:
        return "saved-model" if any(f.number == 2 and f.wire == LEN for f in top) else "graph-def"
    # A GraphDef's node has a string op (2); a Keras SavedObject's field 2 is a varint.
    has_op = any(f.number == 2 and f.wire == LEN for f in r.fields(first.offset, first.end))
    return "graph-def" if has_op else "keras-metadata"


def _meta_graph(
    ctx: ScanContext, r: WireReader, meta: Field, index: int, budget: _Budget
) -> Iterator[Result]:
    graph = _Graph()
    tags: list[str] = []
    for f in r.fields(meta.offset, meta.end):
        if f.wire != LEN:
            continue
        if f.number == 1:
            for sub in r.fields(f.offset, f.end):
                if sub.number == 4 and sub.wire == LEN:
                    tags.append(r.string(sub, 128))
                elif sub.number == 5 and sub.wire == LEN:
                    yield ctx.fact("savedmodel.tensorflow_version", r.string(sub, 64))
        elif f.number == 2:
            _graph_def(r, f.offset, f.end, graph, budget)
        elif f.number == 3:
            graph.saver.extend(
                r.string(sub, 1024) for sub in r.fields(f.offset, f.end) if sub.wire == LEN
            )
        elif f.number == 6:
            yield from _asset(ctx, r, f)
        elif f.number == 7:
            yield from _object_graph(ctx, r, f)
    label = f"meta_graph[{index}]" + (f" ({','.join(tags)})" if tags else "")
    yield from _judge(ctx, graph, label)


def _asset(ctx: ScanContext, r: WireReader, f: Field) -> Iterator[Result]:
    for sub in r.fields(f.offset, f.end):
        if sub.number == 2 and sub.wire == LEN:
            name = r.string(sub, 4096)
            why = unsafe_relative_path(name)
            if why is not None:
                yield ctx.finding(
                    "savedmodel.asset-traversal",
                    f"asset file {name!r} {why}",
                    offset=sub.tag_offset,
                    excerpt=name,
                )


def _object_graph(ctx: ScanContext, r: WireReader, f: Field) -> Iterator[Result]:
    """Keras layer metadata kept in SavedObjectGraph.nodes[].user_object.metadata."""
    users: list[Field] = []
    for node in r.fields(f.offset, f.end):
        if node.number == 1 and node.wire == LEN:
            users.extend(
                sub
                for sub in r.fields(node.offset, node.end)
                if sub.number == 4 and sub.wire == LEN
            )
    yield from _keras_metadata(ctx, r, users, content=3)


def _keras_metadata(
    ctx: ScanContext, r: WireReader, objects: list[Field], *, content: int
) -> Iterator[Result]:
    """Check the JSON in field ``content`` of each object (SavedUserObject or Keras SavedObject)."""
    for obj in objects:
        for sub in r.fields(obj.offset, obj.end):
            if sub.number != content or sub.wire != LEN or sub.value == 0:
                continue
            if sub.value > MAX_METADATA_BYTES:
                yield ctx.finding(
                    f"{_KERAS}malformed",
                    f"Keras metadata of {sub.value} bytes is too large to verify",
                    offset=sub.tag_offset,
                )
                continue
            try:
                config = load_json(r.payload(sub, MAX_METADATA_BYTES))
            except ValueError as exc:
                yield ctx.finding(
                    f"{_KERAS}malformed",
                    f"Keras metadata is not JSON and was not verified: {exc}",
                    offset=sub.tag_offset,
                )
                continue
            yield from check_config(
                ctx,
                config,
                source=f"metadata@{sub.offset}",
                legacy=True,
                offset=sub.offset,
                prefix=_KERAS,
            )


def _graph_def(r: WireReader, start: int, end: int, graph: _Graph, budget: _Budget) -> None:
    """Read a GraphDef; a damaged node or function is recorded and the rest still read."""
    try:
        for f in r.fields(start, end):
            if f.wire != LEN:
                continue
            if f.number == 1:
                _guarded(_node, r, f, None, graph, budget)
            elif f.number == 2:
                for fn in r.fields(f.offset, f.end):
                    if fn.number == 1 and fn.wire == LEN:
                        _guarded(_function, r, fn, None, graph, budget)
    except ProtobufError as exc:
        graph.errors.append(str(exc))


def _guarded(
    read: Callable[[WireReader, Field, str | None, _Graph, _Budget], None],
    r: WireReader,
    f: Field,
    function: str | None,
    graph: _Graph,
    budget: _Budget,
) -> None:
    try:
        read(r, f, function, graph, budget)
    except ProtobufError as exc:
        graph.errors.append(str(exc))


def _function(r: WireReader, f: Field, _: str | None, graph: _Graph, budget: _Budget) -> None:
    name = ""
    nodes: list[Field] = []
    for sub in r.fields(f.offset, f.end):
        if sub.wire != LEN:
            continue
        if sub.number == 1:
            # OpDef.name is the function's name.
            for op in r.fields(sub.offset, sub.end):
                if op.number == 1 and op.wire == LEN:
                    name = r.string(op, 1024)
        elif sub.number == 3:
            nodes.append(sub)
    graph.calls.setdefault(name, set())
    for node in nodes:
        _guarded(_node, r, node, name, graph, budget)


def _node(r: WireReader, f: Field, function: str | None, graph: _Graph, budget: _Budget) -> None:
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        budget.limit = True
        return
    name = op = ""
    attr_entries: list[Field] = []
    for sub in r.fields(f.offset, f.end):
        if sub.number == 1 and sub.wire == LEN:
            name = r.string(sub, 1024)
        elif sub.number == 2 and sub.wire == LEN:
            op = r.string(sub, 256)
        elif sub.number == 5 and sub.wire == LEN:
            attr_entries.append(sub)
    called: set[str] = set()
    wanted: list[tuple[str, str]] = []
    for entry in attr_entries:
        key, value = _attr_entry(r, entry)
        if value is None:
            continue
        called |= _called_functions(r, value)
        if key in _WANTED_ATTRS:
            wanted.append((key, " ".join(_strings(r, value))))
    graph.nodes.append(_Node(name, op, function, f.tag_offset, tuple(wanted)))
    if called:
        graph.calls.setdefault(function, set()).update(called)
        if function is None:
            graph.node_calls.setdefault(name, set()).update(called)


def _attr_entry(r: WireReader, entry: Field) -> tuple[str, Field | None]:
    key, value = "", None
    for sub in r.fields(entry.offset, entry.end):
        if sub.number == 1 and sub.wire == LEN:
            key = r.string(sub, 256)
        elif sub.number == 2 and sub.wire == LEN:
            value = sub
    return key, value


def _called_functions(r: WireReader, value: Field) -> set[str]:
    """Function names in an AttrValue: ``func`` (10) or ``list.func`` (1 -> 9)."""
    out: set[str] = set()
    for sub in r.fields(value.offset, value.end):
        if sub.wire != LEN:
            continue
        if sub.number == 10:
            out.update(_name_attr_list(r, sub))
        elif sub.number == 1:
            for item in r.fields(sub.offset, sub.end):
                if item.number == 9 and item.wire == LEN:
                    out.update(_name_attr_list(r, item))
    return out


def _name_attr_list(r: WireReader, f: Field) -> list[str]:
    return [r.string(s, 1024) for s in r.fields(f.offset, f.end) if s.number == 1 and s.wire == LEN]


def _strings(r: WireReader, value: Field) -> list[str]:
    """String values of an AttrValue: ``s`` (2) or ``list.s`` (1 -> 2)."""
    out: list[str] = []
    for sub in r.fields(value.offset, value.end):
        if sub.number == 2 and sub.wire == LEN:
            out.append(r.string(sub, 512))
        elif sub.number == 1 and sub.wire == LEN:
            out.extend(r.string(s, 512) for s in r.fields(sub.offset, sub.end) if s.number == 2)
    return out


def _saver_functions(graph: _Graph) -> set[str]:
    """Functions reachable from the SaverDef's nodes, or named like TF2's traced saver."""
    roots: set[str] = set()
    for tensor in graph.saver:
        roots |= graph.node_calls.get(tensor.lstrip("^").split(":", 1)[0], set())
    roots |= {fn for fn in graph.calls if fn and _TRACED_SAVER.fullmatch(fn)}
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        todo.extend(graph.calls.get(fn, ()))
    return seen


def _saver_scopes(graph: _Graph) -> set[str]:
    return {t.lstrip("^").split("/", 1)[0] + "/" for t in graph.saver if "/" in t}


def _judge(ctx: ScanContext, graph: _Graph, label: str) -> Iterator[Result]:
    saver_fns = _saver_functions(graph)
    scopes = _saver_scopes(graph)
    counts: dict[str, int] = {}
    for node in graph.nodes:
        verdict = _verdict(node, saver_fns, scopes)
        if verdict is None:
            continue
        rule, why = verdict
        counts[rule] = counts.get(rule, 0) + 1
        if counts[rule] > MAX_REPORTED:
            continue
        where = f"function {node.function!r}" if node.function else "the main graph"
        yield ctx.finding(
            rule,
            f"{label}: node {node.name!r} ({node.op}) in {where} {why}",
            pointer=f"{label}/{node.function or ''}/{node.name}",
            offset=node.offset,
            excerpt="; ".join(f"{k}={v}" for k, v in node.attrs) or node.op,
        )
    for error in graph.errors[:10]:
        yield ctx.finding("savedmodel.malformed", f"{label}: damaged part skipped: {error}")
    ops = sorted({n.op for n in graph.nodes})
    yield ctx.fact("savedmodel.node_count", len(graph.nodes), pointer=label)
    yield ctx.fact("savedmodel.ops", ops[:500], pointer=label)


def _verdict(node: _Node, saver_fns: set[str], scopes: set[str]) -> tuple[str, str] | None:
    op = node.op
    if op in PYTHON_OPS:
        return "savedmodel.python-op", "calls a Python function registered by the loader"
    if op in FILE_OPS:
        return "savedmodel.file-io", "reads, lists or writes files"
    if op in NETWORK_OPS:
        return "savedmodel.network-io", "connects to other hosts"
    if op in CHECKPOINT_OPS and not _in_saver(node, saver_fns, scopes):
        return "savedmodel.file-io", "writes or reads checkpoint files outside the model's saver"
    attrs = dict(node.attrs)
    if op == "PrintV2" and attrs.get("output_stream", "").startswith("file://"):
        return "savedmodel.file-io", "prints into a file"
    if op in _DEBUG_OPS:
        urls = attrs.get("debug_urls", "") + " " + attrs.get("dump_root", "")
        if "grpc://" in urls:
            return "savedmodel.network-io", "streams tensors to a debug server"
        if urls.strip():
            return "savedmodel.file-io", "dumps tensors to files"
    if op in _PROTO_OPS and attrs.get("descriptor_source", "local://") not in ("", "local://"):
        return "savedmodel.file-io", "loads protobuf descriptors from a file"
    return None


def _in_saver(node: _Node, saver_fns: set[str], scopes: set[str]) -> bool:
    if node.function is not None:
        return node.function in saver_fns
    return node.name.startswith(tuple(scopes)) or _TF1_SAVER_SCOPE.match(node.name) is not None
