"""Object graphs of numpy and scikit-learn objects, as their pickles hold them.

Each builder returns stand-ins from :mod:`.pickle_fake` laid out the way the real library's
``__reduce__``/``__getstate__`` lays them out (checked against real output by
``benchmarks/crosscheck.py``), so that pickling them gives the real library's bytes.
"""

from __future__ import annotations

import functools
import random
import struct
from typing import Any

from modelcustoms.samples.pickle_fake import NDArray, Reduced, glob, instance

#: numpy dtype code -> (struct format, byte order character numpy pickles).
_DTYPES = {
    "f8": ("d", "<"),
    "f4": ("f", "<"),
    "f2": ("e", "<"),
    "i8": ("q", "<"),
    "i4": ("i", "<"),
    "i2": ("h", "<"),
    "u1": ("B", "|"),
    "i1": ("b", "|"),
    "b1": ("?", "|"),
}
_INTERNED: dict[str, Reduced] = {}


def dtype(code: str, *, fresh: bool = False) -> Reduced:
    """A numpy dtype; builtin dtypes are singletons in numpy, so they are interned here too."""
    if not fresh and code in _INTERNED:
        return _INTERNED[code]
    order = _DTYPES[code][1]
    # numpy formats the type string anew on every reduce: never a memo hit.
    args = ("".join(list(code)), False, True)
    d = Reduced(glob("numpy", "dtype"), args, (3, order, None, None, None, -1, -1, 0))
    if not fresh:
        _INTERNED[code] = d
    return d


def pack(code: str, values: list[float] | list[int]) -> bytes:
    """Little-endian bytes of ``values`` in numpy dtype ``code``."""
    return struct.pack(f"<{len(values)}{_DTYPES[code][0]}", *values)


def array(
    code: str, shape: tuple[int, ...], rng: random.Random | None = None, *, numpy2: bool = True
) -> NDArray:
    """A numpy array of random values (zeros without ``rng``)."""
    n = 1
    for d in shape:
        n *= d
    values: list[Any]
    if code.startswith("f"):
        values = [round(rng.gauss(0, 1), 6) if rng else 0.0 for _ in range(n)]
    elif code == "b1":
        values = [bool(rng.getrandbits(1)) if rng else False for _ in range(n)]
    else:
        values = [rng.randrange(0, 100) if rng else 0 for _ in range(n)]
    return NDArray(dtype(code), shape, pack(code, values), numpy2)


def np_scalar(code: str, value: float, *, numpy2: bool = True) -> Reduced:
    """A numpy scalar such as ``np.int64(2)``: ``multiarray.scalar(dtype, bytes)``."""
    core = "numpy._core" if numpy2 else "numpy.core"
    return Reduced(glob(f"{core}.multiarray", "scalar"), (dtype(code), pack(code, [value])))


def _estimator(module: str, cls: str, state: dict[str, Any], version: str) -> Reduced:
    state["_sklearn_version"] = version
    return instance(glob(module, cls), state)


def logistic_regression(rng: random.Random, n_features: int, version: str = "1.9.1") -> Reduced:
    """A fitted ``sklearn.linear_model.LogisticRegression`` (binary)."""
    state: dict[str, Any] = {
        "penalty": "deprecated" if version >= "1.8" else "l2",
        "C": 1.0,
        "l1_ratio": 0.0 if version >= "1.8" else None,
        "dual": False,
        "tol": 0.0001,
        "fit_intercept": True,
        "intercept_scaling": 1,
        "class_weight": None,
        "random_state": None,
        "solver": "lbfgs",
        "max_iter": 100,
        "verbose": 0,
        "warm_start": False,
        "n_jobs": None,
        "n_features_in_": n_features,
        "classes_": NDArray(dtype("i8"), (2,), pack("i8", [0, 1])),
        "n_iter_": NDArray(dtype("i4"), (1,), pack("i4", [rng.randrange(5, 40)])),
        "coef_": array("f8", (1, n_features), rng),
        "intercept_": array("f8", (1,), rng),
    }
    return _estimator("sklearn.linear_model._logistic", "LogisticRegression", state, version)


def standard_scaler(rng: random.Random, n_features: int, version: str = "1.9.1") -> Reduced:
    """A fitted ``sklearn.preprocessing.StandardScaler``."""
    state: dict[str, Any] = {
        "with_mean": True,
        "with_std": True,
        "copy": True,
        "n_features_in_": n_features,
        "n_samples_seen_": np_scalar("f8", float(rng.randrange(50, 5000))),
        "mean_": array("f8", (n_features,), rng),
        "var_": array("f8", (n_features,), rng),
        "scale_": array("f8", (n_features,), rng),
    }
    return _estimator("sklearn.preprocessing._data", "StandardScaler", state, version)


def pipeline(rng: random.Random, n_features: int, version: str = "1.9.1") -> Reduced:
    """``Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression())])``, fitted."""
    steps = [
        ("scaler", standard_scaler(rng, n_features, version)),
        ("clf", logistic_regression(rng, n_features, version)),
    ]
    state: dict[str, Any] = {"steps": steps, "transform_input": None, "memory": None}
    state["verbose"] = False
    return _estimator("sklearn.pipeline", "Pipeline", state, version)


_NODE_FIELDS = (
    ("left_child", "i8"),
    ("right_child", "i8"),
    ("feature", "i8"),
    ("threshold", "f8"),
    ("impurity", "f8"),
    ("n_node_samples", "i8"),
    ("weighted_n_node_samples", "f8"),
    ("missing_go_to_left", "u1"),
)


@functools.cache
def _node_dtype() -> Reduced:
    """sklearn's module-level NODE_DTYPE: one object shared by every tree of a pickle."""
    # The int fields are C "long long" (intp_t in the Cython source): printed i8, but another
    # object than numpy's int64 singleton, so never a memo hit. Floats and bytes are singletons.
    field_types = {"i8": dtype("i8", fresh=True), "f8": dtype("f8"), "u1": dtype("u1")}
    names = tuple(name for name, _ in _NODE_FIELDS)
    fields: dict[str, Any] = {}
    offset = 0
    for name, code in _NODE_FIELDS:
        fields[name] = (field_types[code], offset)
        offset += 8
    return Reduced(
        glob("numpy", "dtype"), ("V64", False, True), (3, "|", None, names, fields, 64, 1, 16)
    )


def decision_tree(rng: random.Random, n_features: int, nodes: int, version: str) -> Reduced:
    """A fitted ``DecisionTreeClassifier`` with its Cython ``Tree`` (reduce + state dict)."""
    node_bytes = b"".join(
        struct.pack("<qqqddqdB7x", -1, -1, -2, rng.random(), rng.random(), 4, 4.0, 0)
        for _ in range(nodes)
    )
    n_classes = NDArray(dtype("i8"), (1,), pack("i8", [2]))
    tree_state = {
        "max_depth": rng.randrange(1, 8),
        "node_count": nodes,
        "nodes": NDArray(_node_dtype(), (nodes,), node_bytes),
        "values": array("f8", (nodes, 1, 2), rng),
    }
    tree = Reduced(glob("sklearn.tree._tree", "Tree"), (n_features, n_classes, 1), tree_state)
    state: dict[str, Any] = {
        **_tree_params(rng),
        "n_features_in_": n_features,
        "n_outputs_": 1,
        "classes_": NDArray(dtype("f8"), (2,), pack("f8", [0.0, 1.0])),
        "n_classes_": np_scalar("i8", 2),
        "max_features_": max(1, int(n_features**0.5)),
        "tree_": tree,
    }
    return _estimator("sklearn.tree._classes", "DecisionTreeClassifier", state, version)


def _tree_params(rng: random.Random | None) -> dict[str, Any]:
    return {
        "criterion": "gini",
        "splitter": "best",
        "max_depth": None,
        "min_samples_split": 2,
        "min_samples_leaf": 1,
        "min_weight_fraction_leaf": 0.0,
        "max_features": "sqrt" if rng else None,
        "max_leaf_nodes": None,
        "random_state": rng.randrange(2**31) if rng else None,
        "min_impurity_decrease": 0.0,
        "class_weight": None,
        "ccp_alpha": 0.0,
        "monotonic_cst": None,
    }


def random_forest(rng: random.Random, n_trees: int, version: str = "1.9.1") -> Reduced:
    """A fitted ``RandomForestClassifier``: nested estimators, each with a Cython tree."""
    n_features = rng.randrange(3, 12)
    # The unfitted template is one object, referenced as both estimator and estimator_.
    template = _estimator(
        "sklearn.tree._classes", "DecisionTreeClassifier", _tree_params(None), version
    )
    params = (
        "criterion",
        "max_depth",
        "min_samples_split",
        "min_samples_leaf",
        "min_weight_fraction_leaf",
        "max_features",
        "max_leaf_nodes",
        "min_impurity_decrease",
        "random_state",
        "ccp_alpha",
        "monotonic_cst",
    )
    n = rng.randrange(20, 200)
    state: dict[str, Any] = {
        "estimator": template,
        "n_estimators": n_trees,
        "estimator_params": params,
        "bootstrap": True,
        "oob_score": False,
        "n_jobs": None,
        "random_state": 0,
        "verbose": 0,
        "warm_start": False,
        "class_weight": None,
        "max_samples": None,
        "criterion": "gini",
        "max_depth": None,
        "min_samples_split": 2,
        "min_samples_leaf": 1,
        "min_weight_fraction_leaf": 0.0,
        "max_features": "sqrt",
        "max_leaf_nodes": None,
        "min_impurity_decrease": 0.0,
        "monotonic_cst": None,
        "ccp_alpha": 0.0,
        "n_features_in_": n_features,
        "_n_samples": n,
        "n_outputs_": 1,
        "classes_": NDArray(dtype("i8"), (2,), pack("i8", [0, 1])),
        "n_classes_": 2,
        "_sample_weight": None,
        "_n_samples_bootstrap": n,
        "estimator_": template,
        "estimators_": [
            decision_tree(rng, n_features, rng.randrange(3, 9), version) for _ in range(n_trees)
        ],
    }
    return _estimator("sklearn.ensemble._forest", "RandomForestClassifier", state, version)
