"""File layouts of ``torch.save`` (zip and legacy), ``joblib.dump`` and numpy's .npy/.npz."""

from __future__ import annotations

import gzip
import random
import struct
import zlib
from typing import Any

from modelcustoms.samples.libs_torch import TorchTensors
from modelcustoms.samples.pickle_fake import JoblibArray, NDArray, dumps
from modelcustoms.samples.zipwriter import Entry, build_zip, torch_zip

#: The legacy format's first pickle: a magic number, then the protocol version 1001.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def torch_zip_members(
    data_pkl: bytes, tt: TorchTensors | None, rng: random.Random, archive: str = "archive"
) -> dict[str, bytes]:
    """Members of a torch >= 2.x zip checkpoint, in the order torch writes them."""
    members = {
        f"{archive}/data.pkl": data_pkl,
        f"{archive}/.format_version": b"1",
        f"{archive}/.storage_alignment": b"64",
        f"{archive}/byteorder": b"little",
    }
    # torch writes storages in sorted(key) order: "10" sorts before "2".
    for st in sorted(tt.storages if tt else [], key=lambda s: s.key):
        members[f"{archive}/data/{st.key}"] = st.data
    members[f"{archive}/version"] = b"3\n"
    members[f"{archive}/.data/serialization_id"] = "".join(
        rng.choice("0123456789") for _ in range(40)
    ).encode()
    return members


def torch_save(obj: Any, tt: TorchTensors, rng: random.Random, archive: str = "archive") -> bytes:
    """What ``torch.save(obj, path)`` writes (``archive`` is the file name's stem)."""
    return torch_zip(torch_zip_members(dumps(obj, 2, torch_storages=True), tt, rng, archive))


def torch_save_legacy(obj: Any, tt: TorchTensors, rng: random.Random) -> bytes:
    """What ``torch.save(obj, path, _use_new_zipfile_serialization=False)`` writes."""
    keys = {st.key: str(rng.randrange(10**13, 10**14)) for st in tt.storages}
    for st in tt.storages:
        st.key = keys[st.key]
    sys_info = {
        "protocol_version": 1001,
        "little_endian": True,
        "type_sizes": {"short": 2, "int": 4, "long": 4},
    }
    out = dumps(LEGACY_MAGIC, 2) + dumps(1001, 2) + dumps(sys_info, 2)
    out += dumps(obj, 2, torch_storages=True, legacy_view=True)
    ordered = sorted(tt.storages, key=lambda s: s.key)
    out += dumps([st.key for st in ordered], 2)
    for st in ordered:
        out += struct.pack("<q", st.numel) + st.data
    return out


def corrupt_torch_zip(members: dict[str, bytes], **tweaks: Any) -> bytes:
    """A torch-layout zip with per-member tweaks: ``{name: {field: value}}`` for :class:`Entry`."""
    entries = []
    for n, d in members.items():
        e = Entry(n, d, flags=0x0808, align=64, descriptor=True)
        for field, value in tweaks.get(n, {}).items():
            setattr(e, field, value)
        entries.append(e)
    return build_zip(entries, zip64_end=True, prefix=tweaks.get("__prefix__", b""))


def joblib_dump(obj: Any, compress: str | None = None) -> bytes:
    """``joblib.dump`` (protocol 4 with in-line arrays); ``compress`` is None, "zlib" or "gzip"."""
    raw = dumps(obj, 4)
    if compress == "zlib":
        return zlib.compress(raw, 3)
    if compress == "gzip":
        return gzip.compress(raw, 3, mtime=0)
    return raw


def for_joblib(obj: Any) -> Any:
    """Replace numpy arrays inside dicts/lists by joblib's in-line array wrappers."""
    if isinstance(obj, NDArray):
        return JoblibArray(obj)
    if isinstance(obj, dict):
        return {k: for_joblib(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [for_joblib(v) for v in obj]
    return obj


def npy(code: str, shape: tuple[int, ...], data: bytes, *, fortran: bool = False) -> bytes:
    """A version 1.0 .npy file: magic, header dict padded to 64 bytes, raw data."""
    descr = {"f8": "<f8", "f4": "<f4", "f2": "<f2", "i8": "<i8", "i4": "<i4", "u1": "|u1"}.get(
        code, code
    )
    shape_txt = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_txt}, }}"
    total = 10 + len(header) + 1
    header += " " * ((-total) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + data


def npy_object(shape: tuple[int, ...], pickled: bytes) -> bytes:
    """An object-dtype .npy: the header, then a pickle of the array (what np.save writes)."""
    return npy("|O", shape, b"") + pickled


def npz(arrays: dict[str, bytes], *, compressed: bool = False) -> bytes:
    """An .npz: a zip of ``name.npy`` members (``np.savez`` uses zip64-capable stored members)."""
    return build_zip(
        [Entry(f"{k}.npy", v, deflate=compressed) for k, v in arrays.items()], version=20
    )
