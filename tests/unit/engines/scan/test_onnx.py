"""OnnxAnalyzer: custom and Python operators, external-data paths, malformed and huge models."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from modelcustoms.core import Finding, Format, Severity
from modelcustoms.engines.scan import ScanOptions, ScanResult
from modelcustoms.engines.scan.onnx import OnnxAnalyzer, unsafe_relative_path
from tests.conftest import ScanFiles, rule_ids
from tests.unit.artifacts.test_protobuf import f_bytes, f_int, msg

# -- builders (ONNX ModelProto field numbers from onnx/onnx.proto) -------------------------------


def attr_graph(name: str, graph: bytes) -> bytes:
    return msg(f_bytes(1, name), f_bytes(6, graph), f_int(20, 5))


def attr_string(name: str, value: str) -> bytes:
    return msg(f_bytes(1, name), f_bytes(4, value), f_int(20, 3))


def node(
    op: str,
    *,
    domain: str = "",
    name: str = "",
    inputs: tuple[str, ...] = ("x",),
    outputs: tuple[str, ...] = ("y",),
    attrs: tuple[bytes, ...] = (),
) -> bytes:
    return msg(
        *(f_bytes(1, i) for i in inputs),
        *(f_bytes(2, o) for o in outputs),
        f_bytes(3, name or op.lower()),
        f_bytes(4, op),
        *(f_bytes(5, a) for a in attrs),
        f_bytes(7, domain) if domain else b"",
    )


def tensor(
    name: str, dims: tuple[int, ...], raw: bytes = b"", location: str | None = None
) -> bytes:
    parts = [*(f_int(1, d) for d in dims), f_int(2, 1), f_bytes(8, name)]
    if location is None:
        parts.append(f_bytes(9, raw))
    else:
        parts += [
            f_bytes(13, msg(f_bytes(1, "location"), f_bytes(2, location))),
            f_bytes(13, msg(f_bytes(1, "offset"), f_bytes(2, "0"))),
            f_bytes(13, msg(f_bytes(1, "length"), f_bytes(2, str(4 * dims[0])))),
            f_int(14, 1),
        ]
    return msg(*parts)


def value_info(name: str, dims: tuple[int, ...]) -> bytes:
    shape = msg(*(f_bytes(1, f_int(1, d)) for d in dims))
    tensor_type = msg(f_int(1, 1), f_bytes(2, shape))
    return msg(f_bytes(1, name), f_bytes(2, f_bytes(1, tensor_type)))


def graph(nodes: list[bytes], initializers: Sequence[bytes] = (), name: str = "g") -> bytes:
    return msg(
        *(f_bytes(1, n) for n in nodes),
        f_bytes(2, name),
        *(f_bytes(5, t) for t in initializers),
        f_bytes(11, value_info("x", (1, 4))),
        f_bytes(12, value_info("y", (1, 4))),
    )


def function(name: str, domain: str, nodes: list[bytes]) -> bytes:
    return msg(
        f_bytes(1, name),
        f_bytes(4, "x"),
        f_bytes(5, "y"),
        *(f_bytes(7, n) for n in nodes),
        f_bytes(9, msg(f_bytes(1, ""), f_int(2, 17))),
        f_bytes(10, domain),
    )


def model(
    g: bytes,
    *,
    opsets: tuple[tuple[str, int], ...] = (("", 17),),
    functions: tuple[bytes, ...] = (),
) -> bytes:
    return msg(
        f_int(1, 8),
        f_bytes(2, "pytorch"),
        f_bytes(3, "2.3.0"),
        f_bytes(7, g),
        *(f_bytes(8, msg(f_bytes(1, d), f_int(2, v)) if d else f_int(2, v)) for d, v in opsets),
        *(f_bytes(25, fn) for fn in functions),
    )


def benign_model() -> bytes:
    """A small conv net shaped like a torch.onnx export: initializers, standard ops, ORT ops."""
    weights = tensor("conv.weight", (8, 4), raw=b"\x00\x00\x80\x3f" * 32)
    bias = tensor("conv.bias", (8,), raw=b"\x00" * 32)
    nodes = [
        node("Conv", inputs=("x", "conv.weight", "conv.bias"), outputs=("c",)),
        node("Relu", inputs=("c",), outputs=("r",)),
        node("FusedMatMul", domain="com.microsoft", inputs=("r", "r"), outputs=("m",)),
        node("Softmax", domain="ai.onnx", inputs=("m",), outputs=("y",)),
    ]
    return model(graph(nodes, [weights, bias]), opsets=(("", 17), ("com.microsoft", 1)))


def findings_of(result: ScanResult, rule: str) -> list[Finding]:
    return [f for f in result.run.findings if f.rule_id == rule]


# -- tests -------------------------------------------------------------------------------------


def test_benign_model_is_clean(scan_files: ScanFiles) -> None:
    result = scan_files({"model.onnx": benign_model()}, analyzers=[OnnxAnalyzer()])
    assert result.artifacts[0].format is Format.ONNX
    assert result.run.findings == ()
    facts = {f.key: f.value for f in result.run.facts}
    assert facts["onnx.ir_version"] == 8
    assert facts["onnx.producer"] == "pytorch"
    assert facts["onnx.node_count"] == 4
    assert facts["onnx.opset_imports"] == {"": 17, "com.microsoft": 1}


def test_real_onnx_model_with_external_data_is_clean(scan_files: ScanFiles, tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 4), dtype=np.float32), "w")
    then_g = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["t"])],
        "then",
        [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [4, 4])],
    )
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=then_g),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4]),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        [w],
    )
    m = helper.make_model(g, producer_name="onnx-test")
    path = tmp_path / "real" / "model.onnx"
    path.parent.mkdir()
    onnx.save_model(
        m, path, save_as_external_data=True, location="model.onnx.data", size_threshold=0
    )
    result = scan_files({"model.onnx": path.read_bytes()}, analyzers=[OnnxAnalyzer()])
    assert result.run.findings == ()
    facts = {f.key: f.value for f in result.run.facts}
    assert facts["onnx.external_data_files"] == ["model.onnx.data"]
    assert facts["onnx.node_count"] == 4  # MatMul, If, and Identity in both branches


@pytest.mark.parametrize(
    "location",
    [
        "/etc/passwd",
        "../../../../etc/passwd",
        "weights/../../secret",
        "..\\..\\Windows\\win.ini",
        "C:\\Windows\\win.ini",
        "c:relative",
        "\\\\server\\share\\x",
        ".. /x",
        "file:///etc/passwd",
    ],
)
def test_external_data_traversal(scan_files: ScanFiles, location: str) -> None:
    g = graph([node("Identity", inputs=("w",))], [tensor("w", (4,), location=location)])
    result = scan_files({"model.onnx": model(g)}, analyzers=[OnnxAnalyzer()])
    (finding,) = findings_of(result, "onnx.external-data-traversal")
    assert finding.severity is Severity.HIGH
    assert finding.evidence[0].excerpt == location
    assert "onnx.external_data_files" not in {f.key for f in result.run.facts}


@pytest.mark.parametrize("location", ["model.data", "weights/part-0.bin", "./a/b.bin", "a..b"])
def test_safe_relative_locations(location: str) -> None:
    assert unsafe_relative_path(location) is None


def test_traversal_in_nested_subgraph_and_sparse_tensor(scan_files: ScanFiles) -> None:
    inner = graph([node("Identity", inputs=("w",))], [tensor("w", (4,), location="/etc/shadow")])
    sparse = msg(f_bytes(1, tensor("v", (2,), location="../v.bin")), f_bytes(2, tensor("i", (2,))))
    loop_body = graph([node("If", inputs=("c",), attrs=(attr_graph("then_branch", inner),))])
    outer = graph([node("Loop", inputs=("n", "c"), attrs=(attr_graph("body", loop_body),))])
    outer += f_bytes(15, sparse)
    result = scan_files({"model.onnx": model(outer)}, analyzers=[OnnxAnalyzer()])
    excerpts = {f.evidence[0].excerpt for f in findings_of(result, "onnx.external-data-traversal")}
    assert excerpts == {"/etc/shadow", "../v.bin"}


def test_last_location_entry_is_checked(scan_files: ScanFiles) -> None:
    # onnx applies external_data entries in order (setattr), so the last location wins.
    t = tensor("w", (4,), location="ok.bin") + f_bytes(
        13, msg(f_bytes(1, "location"), f_bytes(2, "/etc/passwd"))
    )
    result = scan_files(
        {"m.onnx": model(graph([node("Identity")], [t]))}, analyzers=[OnnxAnalyzer()]
    )
    assert "onnx.external-data-traversal" in rule_ids(result)


def test_custom_domain_is_medium(scan_files: ScanFiles) -> None:
    g = graph([node("Relu"), node("MyOp", domain="com.example.ops", name="custom0")])
    result = scan_files({"m.onnx": model(g)}, analyzers=[OnnxAnalyzer()])
    (finding,) = findings_of(result, "onnx.custom-op")
    assert finding.severity is Severity.MEDIUM
    assert "com.example.ops" in finding.message and "custom0" in finding.message


def test_trt_plugin_in_function_body_is_found(scan_files: ScanFiles) -> None:
    fn = function("Block", "local.fns", [node("EfficientNMS_TRT", domain="trt.plugins")])
    g = graph([node("Block", domain="local.fns")])
    result = scan_files(
        {"m.onnx": model(g, opsets=(("", 17), ("local.fns", 1)), functions=(fn,))},
        analyzers=[OnnxAnalyzer()],
    )
    (finding,) = findings_of(result, "onnx.custom-op")
    assert "trt.plugins" in finding.message


def test_model_local_functions_are_not_custom_ops(scan_files: ScanFiles) -> None:
    # torch.onnx dynamo exports call functions defined in the model itself.
    fn = function("aten_gelu", "pkg.onnxscript.torch_lib", [node("Erf"), node("Mul")])
    g = graph([node("aten_gelu", domain="pkg.onnxscript.torch_lib")])
    m = model(g, opsets=(("", 18), ("pkg.onnxscript.torch_lib", 1)), functions=(fn,))
    result = scan_files({"m.onnx": m}, analyzers=[OnnxAnalyzer()])
    assert result.run.findings == ()


@pytest.mark.parametrize(
    ("op", "domain"),
    [
        ("PyReverseMatrix", "ai.onnx.contrib"),
        ("PyOp", "ai.onnx.contrib"),
        ("PythonOp", "com.microsoft"),
    ],
)
def test_python_ops_are_high(scan_files: ScanFiles, op: str, domain: str) -> None:
    n = node(op, domain=domain, attrs=(attr_string("func_name", "evil.module.fn"),))
    result = scan_files({"m.onnx": model(graph([n]))}, analyzers=[OnnxAnalyzer()])
    (finding,) = findings_of(result, "onnx.python-op")
    assert finding.severity is Severity.HIGH
    assert "func_name=evil.module.fn" in (finding.evidence[0].excerpt or "")
    assert "onnx.custom-op" not in rule_ids(result)


def test_truncated_model_is_malformed(scan_files: ScanFiles) -> None:
    data = benign_model()
    result = scan_files({"m.onnx": data[: len(data) - 40]}, analyzers=[OnnxAnalyzer()])
    # The cut graph may no longer sniff as ONNX; when it does, it must not read as clean.
    if result.artifacts[0].format is Format.ONNX:
        assert "onnx.malformed" in rule_ids(result)


def test_damaged_node_keeps_what_was_learned(scan_files: ScanFiles) -> None:
    bad_node = b"\x0a\x10ab"  # a string field claiming 16 bytes in a 4-byte node
    g = msg(
        f_bytes(1, node("MyOp", domain="com.evil")),
        f_bytes(1, bad_node),
        f_bytes(5, tensor("w", (4,), location="/etc/passwd")),
    )
    result = scan_files({"m.onnx": model(g)}, analyzers=[OnnxAnalyzer()])
    assert {"onnx.malformed", "onnx.custom-op", "onnx.external-data-traversal"} <= rule_ids(result)


def test_deep_subgraph_nesting_is_bounded(scan_files: ScanFiles) -> None:
    g = graph([node("Relu")])
    for _ in range(80):
        g = graph([node("If", inputs=("c",), attrs=(attr_graph("then_branch", g),))])
    result = scan_files({"m.onnx": model(g)}, analyzers=[OnnxAnalyzer()])
    assert "onnx.limits-exceeded" in rule_ids(result)


def test_large_initializer_is_skipped_not_read(scan_files: ScanFiles) -> None:
    big = tensor("emb", (5_000_000,), raw=b"\x01" * 20_000_000)
    g = graph([node("Gather", inputs=("emb", "x"))], [big])
    start = time.perf_counter()
    result = scan_files(
        {"big.onnx": model(g)},
        analyzers=[OnnxAnalyzer()],
        options=ScanOptions(jobs=1, in_memory_limit=1024 * 1024),
    )
    assert time.perf_counter() - start < 5
    assert result.artifacts[0].format is Format.ONNX
    assert result.run.findings == ()
