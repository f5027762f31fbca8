"""KerasAnalyzer: .keras archives and legacy HDF5 models (configs shaped as Keras writes them)."""

from __future__ import annotations

import base64
import io
import json
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from modelcustoms.core import Finding, Format, Severity
from modelcustoms.engines.scan import ScanOptions, ScanResult
from modelcustoms.engines.scan.keras import KerasAnalyzer
from tests.conftest import ScanFiles, rule_ids

pytest.importorskip("modelcustoms.artifacts.zipfmt")

INERT_CODE = base64.b64encode(b"inert test bytes, not bytecode").decode()
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# -- builders ------------------------------------------------------------------------------------


def _obj(
    module: str, class_name: str, config: object, registered: str | None = None
) -> dict[str, Any]:
    return {
        "module": module,
        "class_name": class_name,
        "config": config,
        "registered_name": registered,
    }


def _dtype() -> dict[str, Any]:
    return _obj("keras", "DTypePolicy", {"name": "float32"})


def dense(name: str, units: int, activation: object = "relu") -> dict[str, Any]:
    layer = _obj(
        "keras.layers",
        "Dense",
        {
            "name": name,
            "trainable": True,
            "dtype": _dtype(),
            "units": units,
            "activation": activation,
            "use_bias": True,
            "kernel_initializer": _obj("keras.initializers", "GlorotUniform", {"seed": None}),
            "bias_initializer": _obj("keras.initializers", "Zeros", {}),
            "kernel_regularizer": None,
        },
    )
    layer["build_config"] = {"input_shape": [None, 4]}
    return layer


def sequential(*layers: dict[str, Any]) -> dict[str, Any]:
    """A Keras 3 ``config.json`` of a Sequential model."""
    input_layer = _obj(
        "keras.layers",
        "InputLayer",
        {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input_layer"},
    )
    model = _obj(
        "keras",
        "Sequential",
        {
            "name": "sequential",
            "trainable": True,
            "dtype": _dtype(),
            "layers": [input_layer, *layers],
        },
    )
    model["build_config"] = {"input_shape": [None, 4]}
    model["compile_config"] = {
        "optimizer": _obj("keras.optimizers", "Adam", {"name": "adam", "learning_rate": 0.001}),
        "loss": _obj("builtins", "function", "mean_squared_error", "function"),
        "metrics": None,
        "run_eagerly": False,
    }
    return model


def keras_zip(
    config: dict[str, Any] | bytes,
    *,
    extra: dict[str, bytes] | None = None,
    configs: tuple[dict[str, Any], ...] = (),
) -> bytes:
    buf = io.BytesIO()
    raw = config if isinstance(config, bytes) else json.dumps(config).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "x"}))
            zf.writestr("config.json", raw)
            for more in configs:
                zf.writestr("config.json", json.dumps(more))
            for name, data in (extra or {}).items():
                zf.writestr(name, data)
    return buf.getvalue()


def fake_h5(*texts: bytes) -> bytes:
    """HDF5-looking bytes with attribute-like text runs between binary filler."""
    body = HDF5_MAGIC + b"\x00\x08\x08\x00" + bytes(range(0, 40))
    for text in texts:
        body += b"\x01\x00\x00\x00" + text + b"\x00\x00\x00\x00\x00\x02" + bytes(range(0, 32))
    return body


def legacy_config(*layers: dict[str, Any]) -> dict[str, Any]:
    input_layer = {
        "class_name": "InputLayer",
        "config": {"batch_input_shape": [None, 4], "name": "in"},
    }
    dense_layer = {
        "class_name": "Dense",
        "config": {
            "name": "dense",
            "units": 2,
            "activation": "relu",
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        },
    }
    return {
        "class_name": "Sequential",
        "config": {"name": "s", "layers": [input_layer, dense_layer, *layers]},
    }


LEGACY_LAMBDA = {
    "class_name": "Lambda",
    "config": {
        "name": "lambda",
        "function": [INERT_CODE, None, None],
        "function_type": "lambda",
        "module": "__main__",
        "arguments": {},
    },
}


def scan(scan_files: ScanFiles, files: dict[str, bytes]) -> ScanResult:
    return scan_files(files, analyzers=[KerasAnalyzer()])


def findings_of(result: ScanResult, rule: str) -> list[Finding]:
    return [f for f in result.run.findings if f.rule_id == rule]


# -- .keras: benign ------------------------------------------------------------------------------


def test_benign_keras_archive_is_clean(scan_files: ScanFiles) -> None:
    result = scan(
        scan_files, {"model.keras": keras_zip(sequential(dense("d1", 8), dense("d2", 2)))}
    )
    assert result.artifacts[0].format is Format.KERAS_V3
    assert result.run.findings == ()
    assert {f.key: f.value for f in result.run.facts}["keras.version"] == "3.6.0"


def test_keras_hub_registered_objects_are_clean(scan_files: ScanFiles) -> None:
    backbone = _obj(
        "keras_hub.src.models.gemma.gemma_backbone",
        "GemmaBackbone",
        {"vocabulary_size": 256, "num_layers": 2},
        "keras_hub>GemmaBackbone",
    )
    assert scan(scan_files, {"m.keras": keras_zip(sequential(backbone))}).run.findings == ()


# -- .keras: hostile -----------------------------------------------------------------------------


def test_v3_lambda_is_critical(scan_files: ScanFiles) -> None:
    lam = _obj(
        "keras.layers",
        "Lambda",
        {
            "name": "lambda",
            "function": {"class_name": "__lambda__", "config": {"value": [INERT_CODE, None, None]}},
        },
    )
    result = scan(scan_files, {"m.keras": keras_zip(sequential(lam))})
    (finding,) = findings_of(result, "keras.lambda")
    assert finding.severity is Severity.CRITICAL
    assert (finding.evidence[0].location.pointer or "").startswith("config.json#/config/layers/1")


@pytest.mark.parametrize(
    ("module", "name"),
    [("os", "system"), ("subprocess", "Popen"), ("builtins", "exec"), ("posix", "system")],
)
def test_dangerous_module_function_is_critical(
    scan_files: ScanFiles, module: str, name: str
) -> None:
    # CVE-2025-1550: a config names any importable function and its arguments.
    gadget = _obj(module, "function", name, "function")
    result = scan(scan_files, {"m.keras": keras_zip(sequential(dense("d", 2, activation=gadget)))})
    (finding,) = findings_of(result, "keras.untrusted-module")
    assert finding.severity is Severity.CRITICAL
    assert name in finding.message


def test_third_party_module_is_high(scan_files: ScanFiles) -> None:
    layer = _obj("evilpkg.layers", "Backdoor", {"name": "b"})
    (finding,) = findings_of(
        scan(scan_files, {"m.keras": keras_zip(sequential(layer))}), "keras.untrusted-module"
    )
    assert finding.severity is Severity.HIGH


def test_registered_custom_object_is_medium(scan_files: ScanFiles) -> None:
    layer = _obj("my_project.layers", "Attention", {"name": "a"}, "MyProject>Attention")
    result = scan(scan_files, {"m.keras": keras_zip(sequential(layer))})
    (finding,) = findings_of(result, "keras.custom-object")
    assert finding.severity is Severity.MEDIUM
    assert result.run.findings == (finding,)


def test_get_file_gadget(scan_files: ScanFiles) -> None:
    # CVE-2025-8747: keras.utils.get_file is inside the Keras namespace yet writes files.
    gadget = _obj("keras.utils", "function", "get_file", "get_file")
    result = scan(scan_files, {"m.keras": keras_zip(sequential(dense("d", 2, activation=gadget)))})
    assert [f.severity for f in findings_of(result, "keras.file-access")] == [Severity.HIGH]


def test_enable_unsafe_deserialization_gadget(scan_files: ScanFiles) -> None:
    gadget = _obj("keras.config", "function", "enable_unsafe_deserialization", "function")
    result = scan(scan_files, {"m.keras": keras_zip(sequential(dense("d", 2, activation=gadget)))})
    assert findings_of(result, "keras.safe-mode-bypass")[0].severity is Severity.CRITICAL


def test_lambda_calling_load_model(scan_files: ScanFiles) -> None:
    fn = _obj("keras.models", "function", "load_model", "function")
    lam = _obj(
        "keras.layers", "Lambda", {"name": "l", "function": fn, "arguments": {"safe_mode": False}}
    )
    result = scan(scan_files, {"m.keras": keras_zip(sequential(lam))})
    assert {"keras.lambda", "keras.safe-mode-bypass"} <= rule_ids(result)


@pytest.mark.parametrize("layer", ["StringLookup", "IntegerLookup", "TextVectorization"])
def test_vocabulary_file_path(scan_files: ScanFiles, layer: str) -> None:
    obj = _obj("keras.layers", layer, {"name": "lookup", "vocabulary": "/etc/passwd"})
    result = scan(scan_files, {"m.keras": keras_zip(sequential(obj))})
    (finding,) = findings_of(result, "keras.file-access")
    assert finding.evidence[0].excerpt == "/etc/passwd"


def test_inline_vocabulary_is_clean(scan_files: ScanFiles) -> None:
    obj = _obj("keras.layers", "StringLookup", {"name": "lookup", "vocabulary": ["a", "b"]})
    assert scan(scan_files, {"m.keras": keras_zip(sequential(obj))}).run.findings == ()


def test_tfsmlayer(scan_files: ScanFiles) -> None:
    obj = _obj("keras.layers", "TFSMLayer", {"name": "t", "filepath": "/tmp/evil_savedmodel"})
    assert "keras.file-access" in rule_ids(
        scan(scan_files, {"m.keras": keras_zip(sequential(obj))})
    )


def test_duplicate_config_every_copy_checked(scan_files: ScanFiles) -> None:
    lam = _obj(
        "keras.layers",
        "Lambda",
        {"function": {"class_name": "__lambda__", "config": {"value": "x"}}},
    )
    data = keras_zip(sequential(), configs=(sequential(lam),))
    result = scan(scan_files, {"m.keras": data})
    assert "keras.lambda" in rule_ids(result)


@pytest.mark.parametrize("raw", [b"{not json", b"[" * 100_000 + b"]" * 100_000])
def test_unreadable_config_is_not_clean(scan_files: ScanFiles, raw: bytes) -> None:
    (finding,) = scan(scan_files, {"m.keras": keras_zip(raw)}).run.findings
    assert finding.rule_id == "keras.malformed"


# -- legacy HDF5 ---------------------------------------------------------------------------------


def test_legacy_h5_benign(scan_files: ScanFiles) -> None:
    data = fake_h5(
        b"model_config", json.dumps(legacy_config()).encode(), b"keras_version", b"2.15.0"
    )
    result = scan(scan_files, {"model.h5": data})
    assert result.artifacts[0].format is Format.HDF5
    assert result.run.findings == ()
    assert {f.key: f.value for f in result.run.facts}["keras.h5_model_config"] is True


def test_legacy_h5_lambda_is_critical(scan_files: ScanFiles) -> None:
    cfg = json.dumps(legacy_config(LEGACY_LAMBDA)).encode()
    result = scan(scan_files, {"model.h5": fake_h5(b"model_config", cfg)})
    (finding,) = findings_of(result, "keras.lambda")
    assert finding.severity is Severity.CRITICAL
    assert "safe_mode is ignored" in finding.message


def test_legacy_h5_key_order_and_whitespace(scan_files: ScanFiles) -> None:
    cfg = legacy_config(LEGACY_LAMBDA)
    text = (
        b'  {"config": '
        + json.dumps(cfg["config"], indent=1).encode()
        + b', "class_name": "Sequential"}'
    )
    result = scan(scan_files, {"model.h5": fake_h5(b"model_config", text)})
    assert "keras.lambda" in rule_ids(result)


def test_legacy_lambda_named_function_from_os(scan_files: ScanFiles) -> None:
    lam = {
        "class_name": "Lambda",
        "config": {"function": "system", "function_type": "function", "module": "os"},
    }
    cfg = json.dumps(legacy_config(lam)).encode()
    (finding,) = findings_of(
        scan(scan_files, {"m.h5": fake_h5(b"model_config", cfg)}), "keras.lambda"
    )
    assert finding.severity is Severity.CRITICAL


def test_legacy_custom_layer_is_medium(scan_files: ScanFiles) -> None:
    cfg = json.dumps(legacy_config({"class_name": "Custom>Attention", "config": {}})).encode()
    result = scan(scan_files, {"m.h5": fake_h5(b"model_config", cfg)})
    assert [f.rule_id for f in result.run.findings] == ["keras.custom-object"]


def test_tf_op_lambda(scan_files: ScanFiles) -> None:
    math = {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}}
    write = {"class_name": "TFOpLambda", "config": {"name": "w", "function": "io.write_file"}}
    benign = json.dumps(legacy_config(math)).encode()
    hostile = json.dumps(legacy_config(math, write)).encode()
    result = scan(
        scan_files,
        {"a.h5": fake_h5(b"model_config", benign), "b.h5": fake_h5(b"model_config", hostile)},
    )
    (finding,) = result.run.findings
    assert finding.rule_id == "keras.file-access"
    assert finding.evidence[0].location.artifact == "b.h5"


def test_weights_only_h5_is_a_fact(scan_files: ScanFiles) -> None:
    result = scan(scan_files, {"w.h5": fake_h5(b"layer_names", b"dense", b"keras_version")})
    assert result.run.findings == ()
    assert {f.key: f.value for f in result.run.facts}["keras.h5_model_config"] is False


def test_model_config_without_json_is_unverified(scan_files: ScanFiles) -> None:
    # e.g. a config whose keys are JSON-escaped so that no "class_name" bytes appear.
    cfg = b'{"\\u0063lass_name": "Sequential", "config": {}}'
    result = scan(scan_files, {"m.h5": fake_h5(b"model_config", cfg)})
    (finding,) = result.run.findings
    assert finding.rule_id == "keras.malformed" and finding.severity is Severity.MEDIUM


def test_broken_json_fragment_is_unverified(scan_files: ScanFiles) -> None:
    cfg = b'{"class_name": "Sequential", "config": {"layers": [ {"class_name": "Dense"'
    result = scan(scan_files, {"m.h5": fake_h5(b"model_config", cfg)})
    assert rule_ids(result) == {"keras.malformed"}


def test_real_h5py_files(scan_files: ScanFiles, tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    import numpy as np

    big = legacy_config(
        *[{"class_name": "Dense", "config": {"name": f"d{i}", "units": 4}} for i in range(3000)]
    )
    hostile = legacy_config(LEGACY_LAMBDA)
    files = {}
    for name, cfg, as_bytes in (
        ("big.h5", big, True),
        ("evil.h5", hostile, False),
        ("weights.h5", None, True),
    ):
        path = tmp_path / name
        with h5py.File(path, "w") as f:
            if cfg is not None:
                text = json.dumps(cfg)
                # tf.keras stores bytes (fixed-length); h5py stores str as variable-length.
                f.attrs["model_config"] = text.encode() if as_bytes else text
            f.attrs["keras_version"] = "2.15.0"
            grp = f.create_group("model_weights/dense")
            grp.create_dataset("kernel:0", data=np.ones((64, 64), dtype=np.float32))
        files[name] = path.read_bytes()
    result = scan(scan_files, files)
    by_file: dict[str, set[str]] = {}
    for f in result.run.findings:
        by_file.setdefault(f.evidence[0].location.artifact, set()).add(f.rule_id)
    assert by_file == {"evil.h5": {"keras.lambda"}}
    facts = {(f.evidence[0].location.artifact, f.key): f.value for f in result.run.facts}
    assert facts[("big.h5", "keras.h5_model_config")] is True
    assert facts[("weights.h5", "keras.h5_model_config")] is False


def test_many_undecodable_fragments_are_bounded(scan_files: ScanFiles) -> None:
    junk = fake_h5(*[b'{"class_name": [' for _ in range(3000)])
    start = time.perf_counter()
    result = scan(scan_files, {"m.h5": junk})
    assert time.perf_counter() - start < 5
    (finding,) = result.run.findings
    assert finding.rule_id == "keras.malformed"


def test_large_weights_file_is_searched_from_disk(scan_files: ScanFiles) -> None:
    data = fake_h5(b"layer_names") + b"\x00\x01" * 6_000_000
    result = scan_files(
        {"w.h5": data},
        analyzers=[KerasAnalyzer()],
        options=ScanOptions(jobs=1, in_memory_limit=1024 * 1024),
    )
    assert result.run.findings == ()
    assert {f.key: f.value for f in result.run.facts}["keras.h5_model_config"] is False
