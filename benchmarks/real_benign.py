"""Write benign model files made by the REAL libraries into a corpus folder (gen venv only).

    .bench/venvs/gen/bin/python benchmarks/real_benign.py DEST

Appends to ``DEST/real_manifest.json`` rows shaped like the zoo's samples (path, label,
technique, format, reference). These complement the zoo's hand-written benign files: whatever
the zoo gets wrong about a library's layout, these get right by construction.
"""

from __future__ import annotations

import argparse
import io
import json
import pickle
import sys
from pathlib import Path

import h5py
import joblib
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dest", type=Path)
    dest: Path = ap.parse_args().dest
    rows: list[dict[str, object]] = []
    counter = 0

    def put(name: str, technique: str, fmt: str, write: object) -> None:
        nonlocal counter
        counter += 1
        box = dest / f"r{counter:04d}"
        box.mkdir(parents=True, exist_ok=True)
        write(box / name)  # type: ignore[operator]
        rows.append(
            {
                "path": f"r{counter:04d}/{name}",
                "label": "benign",
                "technique": technique,
                "format": fmt,
                "reference": None,
            }
        )

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    modules = {
        "mlp": torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)),
        "cnn": torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU()
        ),
        "rnn": torch.nn.LSTM(4, 8, num_layers=2),
        "emb": torch.nn.Embedding(50, 8),
        "tfm": torch.nn.TransformerEncoderLayer(16, 2, dim_feedforward=32),
    }
    for name, m in modules.items():
        put(
            "pytorch_model.bin",
            "real.torch-state-dict",
            "pytorch-zip",
            lambda p, m=m: torch.save(m.state_dict(), p),
        )
        put(
            f"{name}.pt",
            "real.torch-checkpoint",
            "pytorch-zip",
            lambda p, m=m: torch.save(
                {
                    "epoch": 3,
                    "model": m.state_dict(),
                    "optimizer": torch.optim.Adam(m.parameters()).state_dict(),
                },
                p,
            ),
        )
        put(
            f"{name}_legacy.pth",
            "real.torch-legacy",
            "pytorch-legacy",
            lambda p, m=m: torch.save(m.state_dict(), p, _use_new_zipfile_serialization=False),
        )
        sd = {k: v.detach().numpy() for k, v in m.state_dict().items() if v.dtype.is_floating_point}
        put(
            "model.safetensors",
            "real.safetensors",
            "safetensors",
            lambda p, sd=sd: save_file(sd, str(p), metadata={"format": "pt"}),
        )
    x = rng.normal(size=(40, 4))
    y = (x[:, 0] > 0).astype(int)
    estimators = {
        "lr": LogisticRegression().fit(x, y),
        "rf": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(x, y),
        "pipe": Pipeline([("s", StandardScaler()), ("lr", LogisticRegression())]).fit(x, y),
    }
    for name, est in estimators.items():
        for proto in (4, 5):
            put(
                f"{name}.pkl",
                "real.sklearn-pickle",
                "pickle",
                lambda p, e=est, pr=proto: p.write_bytes(pickle.dumps(e, protocol=pr)),
            )
        for compress in (0, 3, ("gzip", 3)):
            put(
                f"{name}.joblib",
                "real.joblib",
                "pickle",
                lambda p, e=est, c=compress: joblib.dump(e, p, compress=c),
            )
    for proto in (2, 3, 4, 5):
        put(
            "arrays.pkl",
            "real.numpy-pickle",
            "pickle",
            lambda p, pr=proto: p.write_bytes(
                pickle.dumps({"a": rng.normal(size=(3, 3)), "b": np.arange(4)}, protocol=pr)
            ),
        )
    put("embeddings.npy", "real.npy", "numpy-npy", lambda p: np.save(p, rng.normal(size=(8, 4))))
    put(
        "arrays.npz",
        "real.npz",
        "numpy-npz",
        lambda p: np.savez_compressed(p, a=rng.normal(size=(4,)), b=np.arange(6)),
    )
    for i in range(3):
        w = numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "W")
        b = numpy_helper.from_array(np.zeros(3, np.float32), "B")
        graph = helper.make_graph(
            [
                helper.make_node("MatMul", ["x", "W"], ["h"]),
                helper.make_node("Add", ["h", "B"], ["y"]),
            ],
            f"g{i}",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
            [w, b],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        put("model.onnx", "real.onnx", "onnx", lambda p, mo=model: onnx.save(mo, str(p)))

    def h5(path: Path) -> None:
        cfg = {
            "class_name": "Sequential",
            "config": {
                "name": "seq",
                "layers": [{"class_name": "Dense", "config": {"name": "dense", "units": 3}}],
            },
        }
        with h5py.File(path, "w") as f:
            f.attrs["keras_version"] = "2.15.0"
            f.attrs["backend"] = "tensorflow"
            f.attrs["model_config"] = json.dumps(cfg).encode()
            g = f.create_group("model_weights/dense/dense")
            g.create_dataset("kernel:0", data=rng.normal(size=(4, 3)).astype(np.float32))
            f["model_weights"].attrs["layer_names"] = [b"dense"]

    for _ in range(2):
        put("model.h5", "real.keras-h5", "hdf5", h5)
    buf = io.StringIO()
    print(f"wrote {len(rows)} real benign samples", file=buf)
    (dest / "real_manifest.json").write_text(json.dumps({"samples": rows}, indent=1))
    sys.stdout.write(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
