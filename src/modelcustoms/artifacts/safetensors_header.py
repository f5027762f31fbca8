"""A bounded reader of the safetensors header: tensor names, dtypes and shapes, never data.

Layout (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length N,
then N bytes of JSON mapping tensor names to ``{"dtype", "shape", "data_offsets"}`` plus an
optional ``__metadata__`` object of strings. The reader never raises on malformed input: the
result carries an ``error`` and whatever was read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modelcustoms.artifacts.blob import Blob

MAX_HEADER_BYTES = 100 * 1024 * 1024
"""safetensors itself refuses headers over 100 MB."""
MAX_TENSORS = 1_000_000
MAX_DIMS = 8


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One tensor's description."""

    name: str
    dtype: str
    shape: tuple[int, ...]


@dataclass(slots=True)
class SafetensorsHeader:
    """What was read; ``error`` says why reading stopped early."""

    header_size: int = 0
    tensors: list[TensorEntry] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class HeaderError(ValueError):
    """The header cannot be read: its length is impossible or its JSON is not an object."""


def read_header_document(
    blob: Blob, max_header: int = MAX_HEADER_BYTES
) -> tuple[int, dict[str, Any]]:
    """The header's declared size and its JSON object, read within ``max_header`` bytes.

    Every reader of safetensors headers goes through here, so a hostile length field can never
    make one of them read (or allocate) more than the limit.
    """
    head = blob.head(8)
    if len(head) < 8:
        msg = "shorter than the 8-byte header length"
        raise HeaderError(msg)
    n = int.from_bytes(head, "little")
    if n > blob.size - 8:
        msg = f"header declares {n} bytes, only {blob.size - 8} remain"
        raise HeaderError(msg)
    if n > max_header:
        msg = f"header of {n} bytes exceeds the limit of {max_header}"
        raise HeaderError(msg)
    try:
        doc = json.loads(blob.read(8, n))
    except (ValueError, RecursionError) as exc:
        msg = f"header is not valid JSON: {str(exc)[:200]}"
        raise HeaderError(msg) from exc
    if not isinstance(doc, dict):
        msg = "header is not a JSON object"
        raise HeaderError(msg)
    return n, doc


def read_safetensors_header(blob: Blob, max_header: int = MAX_HEADER_BYTES) -> SafetensorsHeader:
    """Read the header of ``blob``; the data section is never touched."""
    out = SafetensorsHeader()
    try:
        out.header_size, doc = read_header_document(blob, max_header)
    except HeaderError as exc:
        out.error = str(exc)
        return out
    meta = doc.get("__metadata__")
    if isinstance(meta, dict):
        out.metadata = {str(k): str(v)[:1000] for k, v in list(meta.items())[:1000]}
    for name, info in doc.items():
        if name == "__metadata__":
            continue
        if len(out.tensors) >= MAX_TENSORS:
            out.error = f"more than {MAX_TENSORS} tensors"
            break
        entry = _entry(name, info)
        if entry is None:
            out.error = f"tensor {name[:100]!r} has a malformed description"
            continue
        out.tensors.append(entry)
    return out


def _entry(name: str, info: object) -> TensorEntry | None:
    if not isinstance(info, dict):
        return None
    dtype = info.get("dtype")
    shape = info.get("shape")
    if not isinstance(dtype, str) or not isinstance(shape, list) or len(shape) > MAX_DIMS:
        return None
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        return None
    return TensorEntry(name, dtype, tuple(shape))
