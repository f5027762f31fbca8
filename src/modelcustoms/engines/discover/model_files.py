"""safetensors and ONNX files on disk: which model each one is, from what the files say.

Neither format has a standard identity field, so the evidence is taken in order of strength:
the file's own metadata (safetensors ``__metadata__``, ONNX ``metadata_props``), the
``_name_or_path`` of the ``config.json`` beside it, and last the folder (or file) name, which is
how people keep downloaded models (``models/Qwen2.5-0.5B-Instruct/model.safetensors``). The
reference carries how it was named (``via``) and a confidence that says which of these it was.
Tensor data is never read: a safetensors header and the top-level ONNX fields are enough.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from modelcustoms.artifacts.blob import Blob
from modelcustoms.artifacts.protobuf import LEN, ProtobufError, WireReader
from modelcustoms.artifacts.safetensors_header import HeaderError, read_header_document
from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.kinds import ReferenceKind, Via

MAX_HEADER = 16 * 1024 * 1024
"""Safetensors headers of real checkpoints are well under 1 MiB; more is not read."""
MAX_CONFIG = 1024 * 1024

_META_KEYS = ("base_model", "model_id", "model_name", "name", "modelspec.title", "hf_model_id")
"""Metadata keys that name the model (kohya/modelspec, exporters), strongest first."""
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})$")
_GENERIC = re.compile(
    r"^(model|models|pytorch_model|weights?|checkpoints?|onnx|export|output|out|latest|final|"
    r"adapter_model|diffusion_pytorch_model|encoder|decoder|decoder_model(_merged)?|"
    r"model_quantized|model_fp16|snapshots?|main|[0-9a-f]{40}|\.)$",
    re.IGNORECASE,
)
"""File and folder names that say nothing about which model it is."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,95}(/[A-Za-z0-9][A-Za-z0-9._-]{1,95})?$")


def is_secondary_shard(path: str) -> bool:
    """``model-00002-of-00003.safetensors``: the first shard speaks for the whole model."""
    stem = os.path.splitext(os.path.basename(path))[0]  # noqa: PTH119, PTH122
    m = _SHARD.search(stem)
    return m is not None and int(m.group(1)) > 1


def looks_like_safetensors(head: bytes, size: int) -> bool:
    """An 8-byte little-endian header length that fits the file, then a JSON object."""
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return 2 <= n <= size - 8 and head[8:9] == b"{"


def scan_safetensors(blob: Blob, path: str, rel: str) -> tuple[list[Hit], str | None]:
    """The model a safetensors file holds (``path`` on disk, ``rel`` as reported), or why not."""
    try:
        _, doc = read_header_document(blob, MAX_HEADER)
    except HeaderError as exc:
        return [], str(exc)
    meta = doc.get("__metadata__")
    named = _from_metadata({str(k): v for k, v in meta.items()} if isinstance(meta, dict) else {})
    return _identify(named, path, rel), None


def scan_onnx(blob: Blob, path: str, rel: str) -> tuple[list[Hit], str | None]:
    """The model an ONNX file holds, from ``metadata_props`` (field 14), or why not."""
    reader = WireReader(blob)
    meta: dict[str, str] = {}
    try:
        for f in reader.fields(0, reader.size, groups=False):
            if f.number == 14 and f.wire == LEN and len(meta) < 1000:
                key = value = ""
                for sub in reader.fields(f.offset, f.end, groups=False):
                    if sub.number == 1 and sub.wire == LEN:
                        key = reader.string(sub, 256)
                    elif sub.number == 2 and sub.wire == LEN:
                        value = reader.string(sub, 1024)
                meta[key] = value
    except ProtobufError as exc:
        return _identify(_from_metadata(meta), path, rel), f"ONNX protobuf is malformed: {exc}"
    return _identify(_from_metadata(meta), path, rel), None


def _from_metadata(meta: Mapping[str, object]) -> str | None:
    for key in _META_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and _NAME.match(value.strip()):
            return value.strip()
    return None


def _identify(declared: str | None, path: str, rel: str) -> list[Hit]:
    if declared:
        return [Hit(ReferenceKind.MODEL_FILE, 0, Via.FILE_HEADER, 0.9, model=declared)]
    configured = _config_name(path)
    if configured:
        return [Hit(ReferenceKind.MODEL_FILE, 0, Via.CONFIG_KEY, 0.8, model=configured)]
    return [Hit(ReferenceKind.MODEL_FILE, 0, Via.FILE_NAME, 0.4, model=_path_name(rel))]


def _config_name(path: str) -> str | None:
    """``_name_or_path`` of the config.json beside the file, when it is a hub-style name."""
    config = os.path.join(os.path.dirname(path), "config.json")  # noqa: PTH118, PTH120
    try:
        with open(config, "rb") as fh:  # noqa: PTH123 (str paths: see walk.py)
            data = fh.read(MAX_CONFIG + 1)
    except OSError:
        return None
    if len(data) > MAX_CONFIG:
        return None
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    value = doc.get("_name_or_path") if isinstance(doc, dict) else None
    # NOTE: a local path ("/tmp/out", "./ckpt") names nothing; an org/name id does.
    if isinstance(value, str) and _NAME.match(value) and not value.startswith("."):
        return value
    return None


def _path_name(path: str) -> str:
    """The nearest non-generic name: the file's stem, else its folders, innermost first."""
    stem = _SHARD.sub("", os.path.splitext(os.path.basename(path))[0])  # noqa: PTH119, PTH122
    parts = [stem, *reversed(os.path.dirname(path).replace("\\", "/").split("/"))]  # noqa: PTH120
    for part in parts:
        if part and not _GENERIC.match(part) and not part.startswith("models--"):
            return part
        if part.startswith("models--"):  # the hub cache: models--org--name
            return part.removeprefix("models--").replace("--", "/", 1)
    return stem or path
