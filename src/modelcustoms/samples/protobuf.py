"""Hand-encoded protobuf messages: TensorFlow SavedModel graphs and ONNX models.

Field numbers come from tensorflow/core/protobuf/{saved_model,meta_graph}.proto,
tensorflow/core/framework/{graph,node_def,attr_value,function,op_def}.proto and onnx/onnx.proto.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

Field = tuple[int, "int | bytes | str | Msg"]


class Msg:
    """A protobuf message as an ordered list of (field number, value)."""

    def __init__(self, *fields: Field) -> None:
        self.fields = list(fields)

    def add(self, number: int, value: int | bytes | str | Msg) -> Msg:
        """Append one field."""
        self.fields.append((number, value))
        return self

    def encode(self) -> bytes:
        """Wire format: varints for ints, length-delimited for strings, bytes and messages."""
        out = bytearray()
        for number, value in self.fields:
            if isinstance(value, bool | int):
                out += varint(number << 3) + varint(int(value) & 0xFFFFFFFFFFFFFFFF)
            else:
                data = value.encode() if isinstance(value, Msg | str) else value
                out += varint(number << 3 | 2) + varint(len(data)) + data
        return bytes(out)


def varint(n: int) -> bytes:
    """Base-128 varint."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


# -- TensorFlow ------------------------------------------------------------------------

DT_FLOAT, DT_STRING, DT_INT32 = 1, 7, 3


def attr(key: str, value: Msg) -> Msg:
    """One ``map<string, AttrValue>`` entry of a NodeDef."""
    return Msg((1, key), (2, value))


def attr_type(dt: int) -> Msg:
    """AttrValue.type."""
    return Msg((6, dt))


def attr_s(s: str) -> Msg:
    """AttrValue.s."""
    return Msg((2, s.encode()))


def attr_types(dts: Sequence[int]) -> Msg:
    """AttrValue.list.type."""
    return Msg((1, Msg(*[(6, d) for d in dts])))


def string_tensor(value: str) -> Msg:
    """AttrValue.tensor holding a scalar string (a Const op's value)."""
    return Msg((8, Msg((1, DT_STRING), (2, Msg()), (8, value.encode()))))


def node(name: str, op: str, inputs: Sequence[str] = (), attrs: Sequence[Msg] = ()) -> Msg:
    """A NodeDef."""
    m = Msg((1, name), (2, op))
    for i in inputs:
        m.add(3, i)
    for a in attrs:
        m.add(5, a)
    return m


def saver_nodes(prefix: str = "save") -> list[Msg]:
    """The saver subgraph every TF1-style SavedModel carries (what ``tf.train.Saver`` builds)."""
    p = prefix
    return [
        node(
            f"{p}/filename/input",
            "Const",
            attrs=[attr("dtype", attr_type(DT_STRING)), attr("value", string_tensor("model"))],
        ),
        node(
            f"{p}/Const",
            "PlaceholderWithDefault",
            [f"{p}/filename/input"],
            [attr("dtype", attr_type(DT_STRING))],
        ),
        node(
            f"{p}/StaticRegexFullMatch",
            "StaticRegexFullMatch",
            [f"{p}/Const"],
            [attr("pattern", attr_s("^s3://.*"))],
        ),
        node(
            f"{p}/StringJoin",
            "StringJoin",
            [f"{p}/Const", f"{p}/Const_1"],
            [attr("separator", attr_s(""))],
        ),
        node(
            f"{p}/ShardedFilename",
            "ShardedFilename",
            [f"{p}/StringJoin", f"{p}/num_shards", f"{p}/shard"],
        ),
        node(
            f"{p}/SaveV2",
            "SaveV2",
            [
                f"{p}/ShardedFilename",
                f"{p}/SaveV2/tensor_names",
                f"{p}/SaveV2/shape_and_slices",
                "dense/kernel",
                "dense/bias",
            ],
            [attr("dtypes", attr_types([DT_FLOAT, DT_FLOAT]))],
        ),
        node(
            f"{p}/MergeV2Checkpoints",
            "MergeV2Checkpoints",
            [f"{p}/MergeV2Checkpoints/checkpoint_prefixes", f"{p}/Const"],
        ),
        node(
            f"{p}/RestoreV2",
            "RestoreV2",
            [f"{p}/Const", f"{p}/RestoreV2/tensor_names", f"{p}/RestoreV2/shape_and_slices"],
            [attr("dtypes", attr_types([DT_FLOAT, DT_FLOAT]))],
        ),
        node(f"{p}/Identity", "Identity", [f"{p}/RestoreV2"]),
        node(f"{p}/AssignVariableOp", "AssignVariableOp", ["dense/kernel", f"{p}/Identity"]),
    ]


def model_nodes() -> list[Msg]:
    """A dense layer: variables, MatMul, BiasAdd, Relu."""
    f32 = [attr("dtype", attr_type(DT_FLOAT))]
    return [
        node("serving_default_x", "Placeholder", attrs=f32),
        node("dense/kernel", "VarHandleOp", attrs=f32),
        node("dense/bias", "VarHandleOp", attrs=f32),
        node("dense/MatMul/ReadVariableOp", "ReadVariableOp", ["dense/kernel"], f32),
        node("dense/MatMul", "MatMul", ["serving_default_x", "dense/MatMul/ReadVariableOp"]),
        node("dense/BiasAdd/ReadVariableOp", "ReadVariableOp", ["dense/bias"], f32),
        node("dense/BiasAdd", "BiasAdd", ["dense/MatMul", "dense/BiasAdd/ReadVariableOp"]),
        node("dense/Relu", "Relu", ["dense/BiasAdd"]),
        node("Identity", "Identity", ["dense/Relu"]),
    ]


def function_def(name: str, nodes: Sequence[Msg]) -> Msg:
    """A FunctionDef in the graph's function library."""
    f = Msg((1, Msg((1, name))))
    for n in nodes:
        f.add(3, n)
    return f


def saved_model(
    nodes: Sequence[Msg], functions: Sequence[Msg] = (), tf_version: str = "2.15.0"
) -> bytes:
    """A ``saved_model.pb``: SavedModel{schema 1, MetaGraphDef{meta_info, graph_def}}."""
    graph = Msg(*[(1, n) for n in nodes])
    if functions:
        graph.add(2, Msg(*[(1, f) for f in functions]))
    graph.add(4, Msg((1, 1512), (2, 0)))
    meta_info = Msg((4, "serve"), (5, tf_version), (6, f"v{tf_version}-rc1"))
    sig = Msg((1, "serving_default"), (2, Msg((3, "tensorflow/serving/predict"))))
    meta = Msg((1, meta_info), (2, graph), (5, sig))
    return Msg((1, 1), (2, meta)).encode()


# -- ONNX ------------------------------------------------------------------------------

ONNX_FLOAT = 1


def onnx_tensor(
    name: str,
    dims: Sequence[int],
    raw: bytes | None = None,
    *,
    external: dict[str, str] | None = None,
) -> Msg:
    """A TensorProto (float), with raw data or external-data location entries."""
    t = Msg(*[(1, d) for d in dims])
    t.add(2, ONNX_FLOAT).add(8, name)
    if raw is not None:
        t.add(9, raw)
    if external is not None:
        for k, v in external.items():
            t.add(13, Msg((1, k), (2, v)))
        t.add(14, 1)
    return t


def value_info(name: str, dims: Sequence[int | str]) -> Msg:
    """A ValueInfoProto for a float tensor."""
    shape = Msg(*[(1, Msg((2, d) if isinstance(d, str) else (1, d))) for d in dims])
    return Msg((1, name), (2, Msg((1, Msg((1, ONNX_FLOAT), (2, shape))))))


def onnx_node(
    op: str, inputs: Sequence[str], outputs: Sequence[str], name: str, domain: str | None = None
) -> Msg:
    """A NodeProto."""
    m = Msg(*[(1, i) for i in inputs])
    for o in outputs:
        m.add(2, o)
    m.add(3, name).add(4, op)
    if domain is not None:
        m.add(7, domain)
    return m


def onnx_model(
    nodes: Sequence[Msg],
    initializers: Sequence[Msg],
    inputs: Sequence[Msg],
    outputs: Sequence[Msg],
    opsets: Sequence[tuple[str, int]] = (("", 17),),
    producer: str = "pytorch",
) -> bytes:
    """A ModelProto (IR version 8)."""
    g = Msg(*[(1, n) for n in nodes])
    g.add(2, "main_graph")
    for init in initializers:
        g.add(5, init)
    for i in inputs:
        g.add(11, i)
    for o in outputs:
        g.add(12, o)
    m = Msg((1, 8), (2, producer), (3, "2.3.0"), (7, g))
    for domain, version in opsets:
        m.add(8, Msg((1, domain), (2, version)) if domain else Msg((2, version)))
    return m.encode()


def floats(values: Sequence[float]) -> bytes:
    """Little-endian float32 bytes."""
    return struct.pack(f"<{len(values)}f", *values)
