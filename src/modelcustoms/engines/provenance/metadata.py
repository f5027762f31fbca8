"""Read the small metadata files of a subject, and the headers of its weight files.

Only metadata is read: configs, tokenizer files, the model card, weight maps, safetensors
headers and GGUF key/value metadata. Every file is size-capped before it is read, every JSON
document is parsed defensively, and a file that cannot be parsed is recorded as a problem (it
becomes a finding) while the rest of the subject is still read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from modelcustoms.artifacts.blob import Blob, Opener
from modelcustoms.artifacts.gguf import GGUFFile, GGUFLimits, read_gguf
from modelcustoms.artifacts.safetensors_header import TensorEntry, read_safetensors_header
from modelcustoms.core import Skip
from modelcustoms.engines.provenance.card import parse_card

SMALL_LIMIT = 8 * 1024 * 1024
"""Largest config-like file read (a tokenizer_config with 1000 added tokens is ~200 KB)."""
TOKENIZER_JSON_LIMIT = 64 * 1024 * 1024
"""tokenizer.json can be 10-30 MB for 150k-250k vocabularies."""
CARD_LIMIT = 256 * 1024
"""Only the head of a model card is read: the front matter and the title are at the top."""
MAX_WEIGHT_NAMES = 200_000
GGUF_LIMITS = GGUFLimits(keep_items=64, max_string_bytes=4 * 1024 * 1024)

_JSON_ROLES = {
    "config.json": "config",
    "params.json": "params",
    "adapter_config.json": "adapter",
    "generation_config.json": "generation",
    "tokenizer_config.json": "tokenizer_config",
    "special_tokens_map.json": "special_tokens_map",
    "added_tokens.json": "added_tokens",
}


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file that was read, bound to its digest."""

    path: str
    sha256: str
    size: int


@dataclass(slots=True)
class Metadata:
    """Everything read from a subject's files, by role."""

    docs: dict[str, tuple[FileRef, dict[str, Any]]] = field(default_factory=dict)
    """Parsed JSON objects by role (``config``, ``tokenizer_config``, ...)."""
    card: dict[str, Any] = field(default_factory=dict)
    """Model card front matter."""
    card_title: str | None = None
    card_ref: FileRef | None = None
    chat_template: str | None = None
    chat_ref: FileRef | None = None
    tokenizer_json: tuple[FileRef, dict[str, Any]] | None = None
    weight_names: list[str] = field(default_factory=list)
    weights_ref: FileRef | None = None
    tensors: list[TensorEntry] = field(default_factory=list)
    tensors_ref: FileRef | None = None
    gguf: GGUFFile | None = None
    gguf_ref: FileRef | None = None
    problems: list[tuple[FileRef | None, str, str]] = field(default_factory=list)
    """(file, path, message) for files that could not be parsed."""
    skips: list[Skip] = field(default_factory=list)
    analysed: int = 0

    def doc(self, role: str) -> dict[str, Any] | None:
        """The parsed JSON object with this role, if any."""
        entry = self.docs.get(role)
        return entry[1] if entry else None

    def ref(self, role: str) -> FileRef | None:
        """The file that had this role, if any."""
        entry = self.docs.get(role)
        return entry[0] if entry else None


def read_metadata(
    openers: Sequence[Opener],
    digests: Mapping[str, str] | None = None,
    *,
    tokenizer_json_limit: int = TOKENIZER_JSON_LIMIT,
) -> Metadata:
    """Read the metadata files among ``openers`` (root-level files win over nested ones).

    Only files that can carry metadata are opened, and only the first of each kind: a remote
    repo with 30 weight shards costs one header read, not thirty.
    """
    meta = Metadata()
    for opener in sorted(openers, key=lambda o: (o.path.count("/"), o.path)):
        if not _wanted(meta, opener.path):
            continue
        try:
            with opener.open() as blob:
                _read_one(meta, opener.path, blob, digests or {}, tokenizer_json_limit)
        except OSError as exc:
            meta.skips.append(Skip(artifact=opener.path, reason="unreadable", detail=str(exc)))
    return meta


_WEIGHT_SUFFIXES = frozenset({"", ".gguf", ".bin", ".safetensors"})
"""Files that may be a GGUF or safetensors file (sniffed by content once opened)."""


def _wanted(meta: Metadata, path: str) -> bool:
    p = PurePosixPath(path)
    name = p.name.lower()
    if name in _JSON_ROLES or name == "tokenizer.json" or name.endswith(".index.json"):
        return True
    if name in ("readme.md", "modelcard.md", "chat_template.jinja", "chat_template.json"):
        return True
    if p.suffix.lower() not in _WEIGHT_SUFFIXES:
        return False
    # NOTE: one weight file is enough for shapes and GGUF keys; stop once either is known.
    return not meta.tensors and meta.gguf is None


def _read_one(
    meta: Metadata, path: str, blob: Blob, digests: Mapping[str, str], tokenizer_limit: int
) -> None:
    name = PurePosixPath(path).name.lower()
    role = _JSON_ROLES.get(name)
    if role is not None:
        if role not in meta.docs:
            _read_json_role(meta, path, blob, role)
        return
    if name == "tokenizer.json":
        if meta.tokenizer_json is None:
            loaded = _load_json(meta, path, blob, tokenizer_limit)
            if loaded is not None:
                meta.tokenizer_json = loaded
        return
    if name.endswith(".index.json"):
        if not meta.weight_names:
            _read_index(meta, path, blob)
        return
    if name in ("readme.md", "modelcard.md"):
        if meta.card_ref is None:
            _read_card(meta, path, blob)
        return
    if name in ("chat_template.jinja", "chat_template.json"):
        if meta.chat_template is None:
            _read_template(meta, path, blob)
        return
    head = blob.head(8)
    if head[:4] == b"GGUF" and meta.gguf is None:
        meta.gguf = read_gguf(blob, GGUF_LIMITS)
        meta.gguf_ref = _ref_of(path, blob, digests)
        meta.analysed += 1
        if meta.gguf.error is not None:
            meta.problems.append((meta.gguf_ref, path, f"GGUF header: {meta.gguf.error.message}"))
    elif name.endswith(".safetensors") and not meta.tensors:
        header = read_safetensors_header(blob)
        meta.analysed += 1
        meta.tensors = header.tensors
        meta.tensors_ref = _ref_of(path, blob, digests)
        if header.error is not None:
            meta.problems.append((meta.tensors_ref, path, f"safetensors header: {header.error}"))


def _read_json_role(meta: Metadata, path: str, blob: Blob, role: str) -> None:
    loaded = _load_json(meta, path, blob, SMALL_LIMIT)
    if loaded is not None:
        meta.docs[role] = loaded


def _load_json(
    meta: Metadata, path: str, blob: Blob, limit: int
) -> tuple[FileRef, dict[str, Any]] | None:
    if blob.size > limit:
        meta.skips.append(Skip(artifact=path, reason="too-large", detail=f"over {limit} bytes"))
        return None
    data = blob.read(0, blob.size)
    ref = FileRef(path, hashlib.sha256(data).hexdigest(), len(data))
    meta.analysed += 1
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        meta.problems.append((ref, path, f"not valid JSON: {str(exc)[:200]}"))
        return None
    if not isinstance(doc, dict):
        meta.problems.append((ref, path, "not a JSON object"))
        return None
    return ref, doc


def _read_index(meta: Metadata, path: str, blob: Blob) -> None:
    loaded = _load_json(meta, path, blob, SMALL_LIMIT)
    if loaded is None:
        return
    ref, doc = loaded
    wmap = doc.get("weight_map")
    if not isinstance(wmap, dict):
        meta.problems.append((ref, path, "weight index without a weight_map object"))
        return
    meta.weight_names = [str(k) for k in list(wmap)[:MAX_WEIGHT_NAMES]]
    meta.weights_ref = ref


def _read_card(meta: Metadata, path: str, blob: Blob) -> None:
    data = blob.read(0, min(blob.size, CARD_LIMIT))
    # NOTE: the digest must cover the whole file; cards are small, but cap the read anyway.
    digest = _digest_small(blob, data)
    meta.card_ref = FileRef(path, digest, blob.size)
    meta.analysed += 1
    meta.card, meta.card_title = parse_card(data.decode("utf-8", "replace"))


def _read_template(meta: Metadata, path: str, blob: Blob) -> None:
    if blob.size > SMALL_LIMIT:
        meta.skips.append(Skip(artifact=path, reason="too-large", detail=f"over {SMALL_LIMIT}"))
        return
    data = blob.read(0, blob.size)
    meta.chat_ref = FileRef(path, hashlib.sha256(data).hexdigest(), len(data))
    meta.analysed += 1
    text = data.decode("utf-8", "replace")
    if path.lower().endswith(".json"):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            doc = None
        text = str(doc.get("chat_template", "")) if isinstance(doc, dict) else text
    meta.chat_template = text


def _digest_small(blob: Blob, head: bytes) -> str:
    if len(head) == blob.size:
        return hashlib.sha256(head).hexdigest()
    return blob.sha256()


def _ref_of(path: str, blob: Blob, digests: Mapping[str, str]) -> FileRef:
    known = digests.get(path)
    if known is not None:
        return FileRef(path, known, blob.size)
    # NOTE: evidence must name the digest of the whole file. Callers that already hashed the
    # weights (the scan engine, a hub listing) pass ``digests`` so this pass is skipped.
    return FileRef(path, blob.sha256(), blob.size)
