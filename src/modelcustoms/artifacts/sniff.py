"""Detect a format from content: magic bytes first, then structure. Names are only hints.

The extension (or well-known file name) is returned separately as a hint, recorded in the
artifact, and used only to break ties where content cannot decide (Python source vs text).
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import PurePosixPath

from modelcustoms.artifacts.blob import Blob
from modelcustoms.core import Format

_HDF5 = b"\x89HDF\r\n\x1a\n"
_SEVENZIP = b"7z\xbc\xaf\x27\x1c"
_XZ = b"\xfd7zXZ\x00"
_LZ4 = b"\x04\x22\x4d\x18"
_ZSTD = b"\x28\xb5\x2f\xfd"
_NPY = b"\x93NUMPY"
_GGML_MAGICS = (b"lmgg", b"fmgg", b"tjgg", b"algg", b"ggml", b"ggmf", b"ggjt", b"ggla")
# Legacy torch.save (pre-zip) begins with a protocol-2 pickle of this magic number.
_TORCH_LEGACY_MAGIC = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_PICKLE_FIRST = frozenset(
    b"(.0123FGIJKLMNPQRSTUVXabcdeghijklmopqrstu}\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98]"
)
_PY_SHEBANG = re.compile(rb"^#![^\n]*python")
# An object opens with a key or closes at once; an array with a value. (`{%` is Jinja, not JSON.)
_JSON_START = re.compile(r'^(\{\s*["}]|\[\s*[\[\]{"0-9tfn-])')


def hint_of(name: str) -> str | None:
    """The name-based hint: the lower-cased suffix, or the whole name for suffix-less names."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.suffix:
        return p.suffix.lower()
    return p.name.lower() or None


def sniff(blob: Blob, hint: str | None = None) -> Format:
    """The format of ``blob``, from its content."""
    head = blob.head(4096)
    if not head:
        return Format.UNKNOWN
    if head.startswith(b"GGUF"):
        return Format.GGUF
    if head[:4] in _GGML_MAGICS:
        return Format.GGML_LEGACY
    if _is_hdf5(blob, head):
        return Format.HDF5
    if head.startswith(_NPY):
        return Format.NUMPY
    if head.startswith(_SEVENZIP):
        return Format.SEVENZIP
    if head.startswith(_XZ):
        return Format.XZ
    if head.startswith(b"\x1f\x8b"):
        return Format.GZIP
    if head.startswith(b"BZh") and len(head) > 3 and head[3:4] in b"123456789":
        return Format.BZIP2
    if head.startswith(_LZ4):
        return Format.LZ4
    if head.startswith(_ZSTD):
        return Format.ZSTD
    if _is_zlib(head):
        return Format.ZLIB
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _classify_zip(blob, hint)
    # A tar may carry a zip near its end: tar first, then zips with data in front (which
    # miniz, and so torch, accept by locating the end record from the back).
    if _is_tar(head):
        return Format.TAR
    if _has_zip_eocd(blob):
        return _classify_zip(blob, hint)
    if _is_safetensors(blob, head):
        return Format.SAFETENSORS
    if head.startswith(b"\x80\x02\x8a\x0a" + _TORCH_LEGACY_MAGIC):
        return Format.PYTORCH_LEGACY
    if _is_pickle(head):
        return Format.PICKLE
    if head.startswith(b"\x5d\x00\x00") and len(head) >= 13:
        return Format.LZMA
    proto = _protobuf_kind(blob, head, hint)
    if proto is not None:
        return proto
    return _text_kind(head, hint)


def _is_hdf5(blob: Blob, head: bytes) -> bool:
    # HDF5 allows a user block of 512 * 2**k bytes before the superblock.
    if head.startswith(_HDF5):
        return True
    off = 512
    while off < min(blob.size, 1 << 20):
        if blob.read(off, 8) == _HDF5:
            return True
        off *= 2
    return False


def _is_zlib(head: bytes) -> bool:
    if len(head) < 2 or head[0] != 0x78:
        return False
    return head[1] in (0x01, 0x5E, 0x9C, 0xDA) and (head[0] * 256 + head[1]) % 31 == 0


def _has_zip_eocd(blob: Blob) -> bool:
    # Readers that locate the end record first (miniz, used by torch) accept prefixed data.
    return b"PK\x05\x06" in blob.tail(65_557)


def _classify_zip(blob: Blob, hint: str | None) -> Format:
    from modelcustoms.artifacts import zipfmt

    try:
        listing = zipfmt.read_zip(blob)
    except zipfmt.ZipFormatError:
        return Format.ZIP
    names = [e.name for e in listing.entries]
    return classify_zip_names(names, hint)


def classify_zip_names(names: list[str], hint: str | None = None) -> Format:
    """Which zip-based model format a list of member names describes.

    Keras deserialises ``config.json`` before it looks for weights, so a ``.keras`` file with a
    root config and nothing else is still a Keras model (the name is how Keras picks the loader).
    """
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        if any(
            "/code/" in n or n.startswith("code/") or n.endswith("constants.pkl") for n in names
        ):
            return Format.TORCHSCRIPT
        return Format.PYTORCH_ZIP
    root = {n for n in names if "/" not in n}
    if "config.json" in root and (
        "metadata.json" in root or "model.weights.h5" in root or hint == ".keras"
    ):
        return Format.KERAS_V3
    if names and all(n.endswith(".npy") for n in names if not n.endswith("/")):
        return Format.NUMPY_NPZ
    return Format.ZIP


def _is_tar(head: bytes) -> bool:
    if len(head) < 512:
        return False
    if head[257:262] == b"ustar":
        return True
    # v7 tar has no magic: check the header checksum.
    try:
        stored = int(head[148:156].split(b"\0", 1)[0].strip() or b"-1", 8)
    except ValueError:
        return False
    total = sum(head[:148]) + 8 * 32 + sum(head[156:512])
    return stored == total and head[0] != 0


def _is_safetensors(blob: Blob, head: bytes) -> bool:
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    # NOTE: a header length beyond the file is still safetensors (a hostile one): the
    # analyzer reports it, instead of the file falling through to "unknown".
    return n >= 2 and head[8:9] == b"{"


def _is_pickle(head: bytes) -> bool:
    if head[0] == 0x80:
        return len(head) > 1 and 0 <= head[1] <= 5
    if head[0] not in _PICKLE_FIRST:
        return False
    # Protocol 0/1 pickles start with an opcode; text that happens to start with one of those
    # letters is told apart by a short structural parse.
    from modelcustoms.artifacts import pickleops

    return pickleops.plausible_pickle(head)


def _protobuf_kind(blob: Blob, head: bytes, hint: str | None) -> Format | None:
    from modelcustoms.artifacts import protobuf

    return protobuf.classify(blob, head, hint)


def _text_kind(head: bytes, hint: str | None) -> Format:
    if b"\x00" in head:
        return Format.UNKNOWN
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 4096-byte boundary is still text.
        if exc.start < len(head) - 4:
            return Format.UNKNOWN
        text = head[: exc.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    if _JSON_START.match(stripped):
        try:
            json.loads(stripped)
        except (ValueError, RecursionError):
            # Possibly cut at 4 KiB: a JSON-looking start is JSON for dispatch purposes.
            return Format.JSON
        return Format.JSON
    if hint == ".py" or _PY_SHEBANG.match(head):
        return Format.PYTHON
    return Format.TEXT
