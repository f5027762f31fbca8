"""One test per public advisory or known bypass for ONNX, TF SavedModel and Keras files.

Samples are built in code and inert: no bytecode, no reachable commands.
"""

from __future__ import annotations

import json

import pytest

from modelcustoms.core import Format, Severity
from modelcustoms.engines.scan import ScanResult
from modelcustoms.engines.scan.keras import KerasAnalyzer
from modelcustoms.engines.scan.onnx import OnnxAnalyzer
from modelcustoms.engines.scan.savedmodel import SavedModelAnalyzer
from tests.conftest import ScanFiles, rule_ids
from tests.unit.artifacts.test_protobuf import f_bytes, msg
from tests.unit.engines.scan import test_keras as k
from tests.unit.engines.scan import test_onnx as o
from tests.unit.engines.scan import test_savedmodel as s

pytest.importorskip("modelcustoms.artifacts.zipfmt")


def _worst(result: ScanResult, rule: str) -> Severity:
    return max(f.severity for f in result.run.findings if f.rule_id == rule)


def _onnx_with_location(location: str) -> bytes:
    g = o.graph([o.node("Identity", inputs=("w",))], [o.tensor("w", (4,), location=location)])
    return o.model(g)


# https://nvd.nist.gov/vuln/detail/CVE-2022-25882 (onnx external_data directory traversal)
def test_cve_2022_25882_onnx_external_data_absolute_and_dotdot(scan_files: ScanFiles) -> None:
    for location in ("/etc/passwd", "../../../etc/passwd"):
        result = scan_files({"m.onnx": _onnx_with_location(location)}, analyzers=[OnnxAnalyzer()])
        assert _worst(result, "onnx.external-data-traversal") is Severity.HIGH


# https://nvd.nist.gov/vuln/detail/CVE-2024-27318 (bypass of the CVE-2022-25882 fix)
@pytest.mark.parametrize("location", ["data/../../../etc/passwd", "..\\..\\secret", ".. /x"])
def test_cve_2024_27318_onnx_traversal_fix_bypass(scan_files: ScanFiles, location: str) -> None:
    result = scan_files({"m.onnx": _onnx_with_location(location)}, analyzers=[OnnxAnalyzer()])
    assert "onnx.external-data-traversal" in rule_ids(result)


# https://nvd.nist.gov/vuln/detail/CVE-2024-5187 (onnx arbitrary file overwrite); saving a model
# writes each tensor back to its external location, so a hostile location is also a write.
def test_cve_2024_5187_onnx_external_data_overwrite_target(scan_files: ScanFiles) -> None:
    result = scan_files(
        {"m.onnx": _onnx_with_location("C:\\Users\\victim\\.bashrc")}, analyzers=[OnnxAnalyzer()]
    )
    assert "onnx.external-data-traversal" in rule_ids(result)


# https://github.com/microsoft/onnxruntime-extensions (PyOp: Python-implemented custom ops)
def test_onnxruntime_extensions_python_op(scan_files: ScanFiles) -> None:
    n = o.node("PyCustomOp", domain="ai.onnx.contrib")
    result = scan_files({"m.onnx": o.model(o.graph([n]))}, analyzers=[OnnxAnalyzer()])
    assert _worst(result, "onnx.python-op") is Severity.HIGH


# https://github.com/tensorflow/tensorflow/blob/master/SECURITY.md ("models are programs"):
# a SavedModel signature that reads a local file and writes it elsewhere when called.
def test_savedmodel_readfile_writefile_exfiltration(scan_files: ScanFiles) -> None:
    extra = [s.tf_node("leak", "ReadFile", "path"), s.tf_node("drop", "WriteFile", "p", "leak")]
    result = scan_files({"saved_model.pb": s.tf2_model(extra)}, analyzers=[SavedModelAnalyzer()])
    assert _worst(result, "savedmodel.file-io") is Severity.HIGH


# https://www.tensorflow.org/api_docs/python/tf/py_function (EagerPyFunc calls into Python)
def test_savedmodel_py_function(scan_files: ScanFiles) -> None:
    extra = [s.tf_node("cb", "EagerPyFunc", "x", token=s.av_s("pyfunc_7"))]
    result = scan_files({"saved_model.pb": s.tf2_model(extra)}, analyzers=[SavedModelAnalyzer()])
    assert _worst(result, "savedmodel.python-op") >= Severity.HIGH


# Own bypass: protobuf parsers keep unknown fields and skip groups, so junk appended to a
# hostile saved_model.pb must neither hide its format nor its ops.
def test_protobuf_unknown_fields_do_not_hide_a_savedmodel(scan_files: ScanFiles) -> None:
    data = s.tf2_model([s.tf_node("leak", "ReadFile", "path")])
    data += f_bytes(77, msg(f_bytes(1, "junk"))) + b"\xa3\x06\x08\x01\xa4\x06"
    result = scan_files({"saved_model.pb": data}, analyzers=[SavedModelAnalyzer()])
    assert result.artifacts[0].format is Format.SAVEDMODEL
    assert "savedmodel.file-io" in rule_ids(result)


# https://nvd.nist.gov/vuln/detail/CVE-2025-1550 (Keras config imports arbitrary modules)
def test_cve_2025_1550_keras_arbitrary_module(scan_files: ScanFiles) -> None:
    gadget = k._obj("subprocess", "function", "run", "function")
    data = k.keras_zip(k.sequential(k.dense("d", 2, activation=gadget)))
    result = scan_files({"m.keras": data}, analyzers=[KerasAnalyzer()])
    assert _worst(result, "keras.untrusted-module") is Severity.CRITICAL


# https://nvd.nist.gov/vuln/detail/CVE-2025-8747 (safe_mode bypass through keras.utils.get_file)
def test_cve_2025_8747_keras_get_file(scan_files: ScanFiles) -> None:
    gadget = k._obj("keras.utils", "function", "get_file", "get_file")
    lam = k._obj("keras.layers", "Lambda", {"name": "l", "function": gadget})
    result = scan_files({"m.keras": k.keras_zip(k.sequential(lam))}, analyzers=[KerasAnalyzer()])
    assert {"keras.file-access", "keras.lambda"} <= rule_ids(result)


# https://nvd.nist.gov/vuln/detail/CVE-2025-9906 (config calls enable_unsafe_deserialization)
# https://github.com/io-no/CVE-Reports/issues/5 (variant: Lambda calling load_model unsafely)
def test_cve_2025_9906_keras_enable_unsafe_deserialization(scan_files: ScanFiles) -> None:
    first = k._obj("keras.config", "function", "enable_unsafe_deserialization", "function")
    then = k._obj("keras.models", "function", "load_model", "function")
    layers = [
        k._obj("keras.layers", "Lambda", {"name": "a", "function": first}),
        k._obj("keras.layers", "Lambda", {"name": "b", "function": then}),
    ]
    data = k.keras_zip(k.sequential(*layers))
    result = scan_files({"m.keras": data}, analyzers=[KerasAnalyzer()])
    assert _worst(result, "keras.safe-mode-bypass") is Severity.CRITICAL


# https://nvd.nist.gov/vuln/detail/CVE-2025-9905 (legacy HDF5 loading ignores safe_mode)
def test_cve_2025_9905_keras_h5_lambda(scan_files: ScanFiles) -> None:
    cfg = json.dumps(k.legacy_config(k.LEGACY_LAMBDA)).encode()
    result = scan_files({"m.h5": k.fake_h5(b"model_config", cfg)}, analyzers=[KerasAnalyzer()])
    assert _worst(result, "keras.lambda") is Severity.CRITICAL


# https://nvd.nist.gov/vuln/detail/CVE-2024-3660 (Lambda code execution despite safe_mode)
def test_cve_2024_3660_keras_v3_lambda(scan_files: ScanFiles) -> None:
    fn = {"class_name": "__lambda__", "config": {"value": [k.INERT_CODE, None, None]}}
    lam = k._obj("keras.layers", "Lambda", {"name": "l", "function": fn})
    result = scan_files({"m.keras": k.keras_zip(k.sequential(lam))}, analyzers=[KerasAnalyzer()])
    assert _worst(result, "keras.lambda") is Severity.CRITICAL


# https://nvd.nist.gov/vuln/detail/CVE-2025-12058 (StringLookup vocabulary: file read / SSRF)
def test_cve_2025_12058_keras_vocabulary_path(scan_files: ScanFiles) -> None:
    lookup = k._obj(
        "keras.layers", "StringLookup", {"name": "s", "vocabulary": "/root/.ssh/id_rsa"}
    )
    result = scan_files({"m.keras": k.keras_zip(k.sequential(lookup))}, analyzers=[KerasAnalyzer()])
    assert _worst(result, "keras.file-access") is Severity.HIGH


# https://github.com/keras-team/keras/pull/22035 (TFSMLayer loads an external SavedModel)
def test_keras_tfsmlayer_loads_external_savedmodel(scan_files: ScanFiles) -> None:
    layer = k._obj("keras.layers", "TFSMLayer", {"name": "t", "filepath": "gs://attacker/model"})
    result = scan_files({"m.keras": k.keras_zip(k.sequential(layer))}, analyzers=[KerasAnalyzer()])
    assert "keras.file-access" in rule_ids(result)


# Own bypass: zipfile loads the *last* config.json of duplicates; a scanner reading the first
# would see only the decoy.
def test_keras_duplicate_config_decoy(scan_files: ScanFiles) -> None:
    fn = {"class_name": "__lambda__", "config": {"value": "x"}}
    evil = k.sequential(k._obj("keras.layers", "Lambda", {"name": "l", "function": fn}))
    data = k.keras_zip(k.sequential(), configs=(evil,))
    result = scan_files({"m.keras": data}, analyzers=[KerasAnalyzer()])
    assert "keras.lambda" in rule_ids(result)
