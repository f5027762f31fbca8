"""Cross-check the zoo's benign bytes against the real libraries (run in .bench/venvs/gen).

    .bench/venvs/gen/bin/python benchmarks/crosscheck.py

Byte-for-byte where the real output is deterministic (numpy pickles, torch zip, joblib, .npy,
safetensors), opcode-for-opcode where values differ (scikit-learn estimators, legacy torch),
and "the real reader opens it" for the rest (HDF5, ONNX, 7z, GGUF, .npz). Nothing is
unpickled: pickles are compared as bytes or as static opcode streams (pickletools.genops).
"""

from __future__ import annotations

import argparse
import collections
import io
import pickle
import pickletools
import random
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import h5py
import joblib
import numpy as np
import onnx
import py7zr
import torch
from safetensors.numpy import save as st_save
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from modelcustoms.samples import build_zoo, libs, libs_torch, torchfile
from modelcustoms.samples import pickle_fake as pf
from modelcustoms.samples.tensorfmt import safetensors as st_file

RESULTS: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    RESULTS.append((name, ok, detail))
    print(("OK   " if ok else "FAIL ") + name + (f"  ({detail})" if detail else ""))


def shape_of(data: bytes) -> list[str]:
    """Opcode names + global names + str args that look like keys (values dropped)."""
    out = []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL",):
            out.append(f"GLOBAL {arg}")
        elif (
            op.name in ("SHORT_BINUNICODE", "BINUNICODE")
            and isinstance(arg, str)
            and arg.isidentifier()
        ):
            out.append(f"STR {arg}")
        elif op.name in ("BINPUT", "MEMOIZE", "BINGET", "LONG_BINPUT", "LONG_BINGET", "FRAME"):
            continue
        else:
            name = "BYTES" if op.name in ("SHORT_BINBYTES", "BINBYTES") else op.name
            out.append(name if "INT" not in name and "FLOAT" not in name else "NUM")
    return out


def numpy_and_torch() -> None:
    vals = [1.5, -2.0, 3.25, 0.0, 7.0, 1e-3]
    for proto in (2, 3, 4, 5):
        real = pickle.dumps(
            {"w": np.array(vals, np.float32).reshape(2, 3), "i": np.array([1, 2])}, proto
        )
        fake = pf.dumps(
            {
                "w": pf.NDArray(libs.dtype("f4"), (2, 3), libs.pack("f4", vals)),
                "i": pf.NDArray(libs.dtype("i8"), (2,), libs.pack("i8", [1, 2])),
            },
            proto,
        )
        check(f"numpy pickle protocol {proto}", real == fake)
    m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 4))
    sd = m.state_dict()
    buf = io.BytesIO()
    torch.save(sd, buf)
    real = buf.getvalue()
    tt = libs_torch.TorchTensors(random.Random(0))
    fsd = libs_torch.state_dict(tt, [(k, tuple(v.shape)) for k, v in sd.items()])
    for st, v in zip(tt.storages, sd.values(), strict=True):
        st.data = v.numpy().tobytes()
    members = torchfile.torch_zip_members(
        pf.dumps(fsd, 2, torch_storages=True), tt, random.Random(0)
    )
    members["archive/.data/serialization_id"] = zipfile.ZipFile(io.BytesIO(real)).read(
        "archive/.data/serialization_id"
    )
    from modelcustoms.samples.zipwriter import torch_zip

    check("torch.save zip state dict (bytes)", torch_zip(members) == real)
    buf = io.BytesIO()
    torch.save(sd, buf, _use_new_zipfile_serialization=False)
    tt = libs_torch.TorchTensors(random.Random(0))
    fsd = libs_torch.state_dict(tt, [(k, tuple(v.shape)) for k, v in sd.items()])
    fake = torchfile.torch_save_legacy(fsd, tt, random.Random(0))
    real_ops = shape_of_stream(buf.getvalue())
    check("torch.save legacy (opcodes)", real_ops == shape_of_stream(fake))


def shape_of_stream(data: bytes) -> list[str]:
    f, out = io.BytesIO(data), []
    for _ in range(5):
        start = f.tell()
        ops = list(pickletools.genops(f))
        out += [op.name for op, _, _ in ops]
        if f.tell() == start:
            break
    return out


def joblib_and_sklearn(tmp: Path) -> None:
    arr = np.array([1.0, 2.0, 3.0])
    for compress in (None, "zlib", "gzip"):
        path = tmp / "j.joblib"
        joblib.dump(
            {"a": arr, "n": 1}, path, compress={None: 0, "zlib": 3, "gzip": ("gzip", 3)}[compress]
        )
        fake = torchfile.joblib_dump(
            torchfile.for_joblib(
                {"a": pf.NDArray(libs.dtype("f8"), (3,), libs.pack("f8", [1.0, 2.0, 3.0])), "n": 1}
            ),
            compress,
        )
        real = path.read_bytes()
        if compress is None:
            check("joblib.dump (bytes)", real == fake)
        else:
            import gzip
            import zlib

            dec = zlib.decompress if compress == "zlib" else gzip.decompress
            check(f"joblib.dump compress={compress} (decompressed bytes)", dec(real) == dec(fake))
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    rng = random.Random(0)
    real = pickle.dumps(LogisticRegression().fit(x, y), 4)
    check(
        "sklearn LogisticRegression (opcodes)",
        shape_of(real) == shape_of(pf.dumps(libs.logistic_regression(rng, 2), 4)),
    )
    real = pickle.dumps(
        Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression())]).fit(x, y), 4
    )
    check(
        "sklearn Pipeline (opcodes)", shape_of(real) == shape_of(pf.dumps(libs.pipeline(rng, 2), 4))
    )
    rf = RandomForestClassifier(n_estimators=2, random_state=0).fit(
        np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), y
    )
    check(
        "sklearn RandomForestClassifier (opcodes)",
        shape_of(pickle.dumps(rf, 4)) == shape_of(pf.dumps(libs.random_forest(rng, 2), 4)),
    )


def files() -> None:
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    buf = io.BytesIO()
    np.save(buf, data)
    check(".npy (bytes)", buf.getvalue() == torchfile.npy("f4", (3, 4), data.tobytes()))
    tensors = {"a.weight": np.ones((2, 2), np.float32), "b": np.arange(3, dtype=np.int64)}
    real = st_save(tensors, metadata={"format": "pt"})
    fake = st_file(
        {
            k: ({"float32": "F32", "int64": "I64"}[str(v.dtype)], v.shape, v.tobytes())
            for k, v in tensors.items()
        },
        {"format": "pt"},
    )
    check("safetensors (bytes)", real == fake)


def zoo(tmp: Path) -> None:
    samples = build_zoo(tmp / "zoo", scale="full")
    counts: collections.Counter[str] = collections.Counter()
    for s in samples:
        p = tmp / "zoo" / s.path
        if s.label != "benign":
            if s.format == "7z":
                py7zr.SevenZipFile(p).getnames()
                counts["7z opened"] += 1
            continue
        if s.format == "hdf5":
            with h5py.File(p, "r") as f:
                assert "model_config" in f.attrs
            counts["h5 opened"] += 1
        elif s.format == "keras-v3":
            with (
                zipfile.ZipFile(p) as z,
                h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f,
            ):
                assert "layers" in f
            counts["keras weights opened"] += 1
        elif s.format == "onnx":
            model = p / "model.onnx" if p.is_dir() else p
            onnx.checker.check_model(onnx.load(str(model)), full_check=False)
            counts["onnx checked"] += 1
        elif s.format == "numpy-npz":
            with np.load(p, allow_pickle=False) as z:
                _ = [z[k] for k in z.files]
            counts["npz loaded"] += 1
        elif s.format == "numpy-npy":
            np.load(p, allow_pickle=False)
            counts["npy loaded"] += 1
        elif s.format == "pytorch-zip":
            # Never torch.load: the zip layout was checked byte for byte above; here only
            # that the archive opens and holds what torch needs.
            with zipfile.ZipFile(p) as z:
                names = z.namelist()
                assert any(n.endswith("/data.pkl") for n in names) and z.testzip() is None
            counts["torch zip opened"] += 1
    try:
        from gguf import GGUFReader

        for s in samples:
            if s.format == "gguf" and s.label == "benign":
                GGUFReader(tmp / "zoo" / s.path)
                counts["gguf read"] += 1
    except ImportError:
        print("(gguf package not installed: GGUF files not cross-checked)")
    check(
        "zoo benign files open in the real readers",
        True,
        ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
    )


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        numpy_and_torch()
        joblib_and_sklearn(tmp)
        files()
        zoo(tmp)
    failed = [n for n, ok, _ in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
