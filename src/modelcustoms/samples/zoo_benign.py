"""Benign samples built on pickles: numpy, scikit-learn, joblib, torch, .npy/.npz, archives.

Every file here is byte-for-byte what the real library writes for such an object (see
``benchmarks/crosscheck.py``); a scanner must not raise anything at high or above on them.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from modelcustoms.samples import libs, libs_torch
from modelcustoms.samples.items import Item, Plan, one
from modelcustoms.samples.pickle_fake import dumps, glob, instance
from modelcustoms.samples.torchfile import (
    for_joblib,
    joblib_dump,
    npy,
    npz,
    torch_save,
    torch_save_legacy,
)
from modelcustoms.samples.zipwriter import simple_zip


def numpy_pickles(plan: Plan) -> Iterator[Item]:
    """Arrays and containers of arrays pickled with protocols 2-5, numpy 1 and 2 layouts."""
    for i in range(plan.n(2, 24)):
        rng = plan.rng
        proto = [2, 3, 4, 5][i % 4]
        numpy2 = rng.random() < 0.6
        arrays = [
            libs.array(
                rng.choice(["f4", "f8", "i8", "u1"]),
                (rng.randrange(1, 6), rng.randrange(1, 6)),
                rng,
                numpy2=numpy2,
            )
            for _ in range(rng.randrange(1, 4))
        ]
        shape = i % 4
        obj: Any
        if shape == 0:
            obj = arrays[0]
        elif shape == 1:
            obj = {f"layer{j}": a for j, a in enumerate(arrays)}
        elif shape == 2:
            obj = arrays
        else:
            obj = OrderedDict((f"w{j}", a) for j, a in enumerate(arrays))
        yield one("arrays.pkl", dumps(obj, proto), "benign", "benign.numpy-pickle", "pickle")


def sklearn_models(plan: Plan) -> Iterator[Item]:
    """Fitted estimators via pickle and joblib (plain, zlib, gzip)."""
    rng = plan.rng
    makers = [
        lambda: libs.logistic_regression(rng, rng.randrange(2, 9), rng.choice(["1.9.1", "1.5.2"])),
        lambda: libs.pipeline(rng, rng.randrange(2, 9)),
        lambda: libs.random_forest(rng, rng.randrange(2, 5)),
    ]
    for i in range(plan.n(2, 24)):
        model = makers[i % 3]()
        how = i // 3 % 6 if plan.full else i
        if how in (0, 1):
            yield one(
                "model.pkl", dumps(model, [4, 5][how]), "benign", "benign.sklearn-pickle", "pickle"
            )
        else:
            compress = [None, "zlib", "gzip", None][how - 2]
            fmt = {None: "pickle", "zlib": "zlib", "gzip": "gzip"}[compress]
            data = joblib_dump(for_joblib(model), compress)
            yield one("model.joblib", data, "benign", "benign.joblib", fmt)


def _checkpoint(plan: Plan, tt: libs_torch.TorchTensors) -> dict[str, Any]:
    rng = plan.rng
    layers = libs_torch.mlp_layers(rng, rng.randrange(1, 4))
    model = libs_torch.state_dict(tt, layers)
    state = {
        i: {
            "step": tt.tensor("f4", ()),
            "exp_avg": tt.tensor("f4", shape),
            "exp_avg_sq": tt.tensor("f4", shape),
        }
        for i, (_, shape) in enumerate(layers[:2])
    }
    group = {
        "lr": 0.001,
        "betas": (0.9, 0.999),
        "eps": 1e-08,
        "weight_decay": 0,
        "amsgrad": False,
        "maximize": False,
        "foreach": None,
        "capturable": False,
        "differentiable": False,
        "fused": None,
        "params": list(range(len(layers))),
    }
    config = instance(glob("__main__", "Config"), {"hidden": 16, "dropout": 0.1, "name": "mlp"})
    return {
        "epoch": rng.randrange(1, 50),
        "model_state_dict": model,
        "optimizer_state_dict": {"state": state, "param_groups": [group]},
        "loss": round(rng.random(), 4),
        "args": libs_torch.namespace({"lr": 0.001, "batch_size": 32, "epochs": 10, "seed": 0}),
        "config": config,
    }


def torch_files(plan: Plan) -> Iterator[Item]:
    """State dicts, training checkpoints, TrainingArguments, legacy-format files."""
    rng = plan.rng
    for i in range(plan.n(2, 20)):
        tt = libs_torch.TorchTensors(rng)
        kind = i % 4
        if kind == 0:
            obj: Any = libs_torch.state_dict(tt, libs_torch.mlp_layers(rng, rng.randrange(1, 5)))
            name, tech = "pytorch_model.bin", "benign.torch-state-dict"
        elif kind == 1:
            obj, name, tech = _checkpoint(plan, tt), "checkpoint.pt", "benign.torch-checkpoint"
        elif kind == 2:
            obj, name = libs_torch.training_arguments(rng), "training_args.bin"
            tech = "benign.hf-training-args"
        else:
            obj = libs_torch.state_dict(tt, libs_torch.mlp_layers(rng, 2))
            data = torch_save_legacy(obj, tt, rng)
            yield one("model.pth", data, "benign", "benign.torch-legacy", "pytorch-legacy")
            continue
        archive = name.rsplit(".", 1)[0]
        yield one(name, torch_save(obj, tt, rng, archive), "benign", tech, "pytorch-zip")


def npy_files(plan: Plan) -> Iterator[Item]:
    """Plain .npy and .npz (stored and compressed) float/int arrays."""
    rng = plan.rng
    for i in range(plan.n(2, 20)):
        code = rng.choice(["f4", "f8", "i8", "u1", "f2"])
        shape = (rng.randrange(1, 8), rng.randrange(1, 8))
        data = libs.array(code, shape, rng).data
        if i % 2 == 0:
            yield one(
                "embeddings.npy",
                npy(code, shape, data, fortran=i % 3 == 0),
                "benign",
                "benign.npy",
                "numpy-npy",
            )
        else:
            arrays = {f"arr_{j}": npy(code, shape, data) for j in range(rng.randrange(1, 4))}
            yield one(
                "arrays.npz",
                npz(arrays, compressed=i % 4 == 1),
                "benign",
                "benign.npz",
                "numpy-npz",
            )


def _tar(members: dict[str, bytes], compress: bool) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            tf.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


def benign_archives(plan: Plan) -> Iterator[Item]:
    """tar, tar.gz, zip and gzip bundles of benign models."""
    rng = plan.rng
    for i in range(plan.n(1, 8)):
        tt = libs_torch.TorchTensors(rng)
        sd = libs_torch.state_dict(tt, libs_torch.mlp_layers(rng, 2))
        model = torch_save(sd, tt, rng, "model")
        arrays = npy("f4", (4, 4), libs.array("f4", (4, 4), rng).data)
        members = {
            "release/model.pt": model,
            "release/stats.npy": arrays,
            "release/README.md": b"# release\n",
        }
        kind = i % 4
        if kind == 0:
            yield one("release.tar", _tar(members, False), "benign", "benign.archive", "tar")
        elif kind == 1:
            yield one("release.tar.gz", _tar(members, True), "benign", "benign.archive", "gzip")
        elif kind == 2:
            yield one("release.zip", simple_zip(members), "benign", "benign.archive", "zip")
        else:
            data = gzip.compress(dumps(libs.logistic_regression(rng, 4), 4), mtime=0)
            yield one("model.pkl.gz", data, "benign", "benign.archive", "gzip")


FAMILIES = (numpy_pickles, sklearn_models, torch_files, npy_files, benign_archives)
