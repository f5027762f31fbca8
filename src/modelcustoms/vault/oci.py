"""The artifact format: an OCI image manifest (v1.1) in the CNCF ModelPack dialect.

One raw layer per model file, as ModelPack's ``*.raw`` media types and Docker's model
artifacts do (no tar): a layer's digest *is* the file's sha256, the same value the passport
signs, so a registry stores a file shared by two models once and nothing has to be unpacked to
check it. Each layer names its file with ``org.cncf.model.filepath`` (ModelPack, read by
KitOps) and ``org.opencontainers.image.title`` (ORAS). The report and the passport travel as two
more layers with their own media types and no file path, so ModelPack tools that unpack the
model leave them out. The manifest is parsed strictly: it comes from a server we do not trust.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from modelcustoms.vault.errors import IntegrityError

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.cncf.model.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.cncf.model.config.v1+json"
WEIGHT = "application/vnd.cncf.model.weight.v1.raw"
WEIGHT_CONFIG = "application/vnd.cncf.model.weight.config.v1.raw"
DOC = "application/vnd.cncf.model.doc.v1.raw"
CODE = "application/vnd.cncf.model.code.v1.raw"
REPORT_MEDIA_TYPE = "application/vnd.modelcustoms.report.v1+json"
PASSPORT_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
"""The media type cosign and the OCI referrers ecosystem use for DSSE attestations."""

FILEPATH = "org.cncf.model.filepath"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
NAME = "org.cncf.model.name"
PASSPORT_STATUS = "dev.modelcustoms.vault.passport"
"""``verified``, or ``unsafe-absent``/``unsafe-invalid``/``unsafe-deny`` when it was forced."""
PASSPORT_PROBLEMS = "dev.modelcustoms.vault.passport-problems"
VERDICT = "dev.modelcustoms.vault.verdict"
REPORT_DIGEST = "dev.modelcustoms.vault.report-digest"
SIGNER = "dev.modelcustoms.vault.passport-key"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_FILE_TYPES = frozenset({WEIGHT, WEIGHT_CONFIG, DOC, CODE})
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_LAYERS = 100_000


class Role(StrEnum):
    """What a layer holds."""

    FILE = "file"
    REPORT = "report"
    PASSPORT = "passport"


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def hex(self) -> str:
        """The sha256 hex without the algorithm prefix."""
        return self.digest.split(":", 1)[1]

    @property
    def path(self) -> str | None:
        """The model-relative file path a file layer restores to."""
        return self.annotations.get(FILEPATH) or None

    @property
    def role(self) -> Role:
        """Model file, report or passport."""
        if self.media_type == REPORT_MEDIA_TYPE:
            return Role.REPORT
        if self.media_type == PASSPORT_MEDIA_TYPE:
            return Role.PASSPORT
        return Role.FILE

    def to_json(self) -> dict[str, Any]:
        """The descriptor as the manifest writes it."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest}
        out["size"] = self.size
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        return out


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed, validated artifact manifest."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str]
    raw: bytes
    """The exact bytes (their sha256 is the manifest digest)."""

    def files(self) -> tuple[Descriptor, ...]:
        """The model-file layers."""
        return tuple(d for d in self.layers if d.role is Role.FILE)

    def one(self, role: Role) -> Descriptor | None:
        """The report or passport layer, if present."""
        return next((d for d in self.layers if d.role is role), None)

    @property
    def total_size(self) -> int:
        """Bytes of every layer (shared blobs counted once per manifest)."""
        return sum(d.size for d in self.layers) + self.config.size


def media_type_for(path: str) -> str:
    """ModelPack layer type by role of the file (its name is only a hint for the reader)."""
    p = PurePosixPath(path)
    name = p.name.lower()
    suffix = p.suffix.lower()
    if suffix in (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx", ".h5", ".npz", ".ckpt"):
        return WEIGHT
    if suffix in (".py", ".sh"):
        return CODE
    if name.startswith(("readme", "license", "licence", "notice")) or suffix == ".md":
        return DOC
    return WEIGHT_CONFIG


def file_descriptor(path: str, digest_hex: str, size: int) -> Descriptor:
    """The layer for one model file."""
    return Descriptor(
        media_type_for(path), f"sha256:{digest_hex}", size, {FILEPATH: path, TITLE: path}
    )


def build_config(name: str, created: str, files: list[Descriptor]) -> bytes:
    """ModelPack model config: descriptor, an (empty) config and the layers' diff ids."""
    doc = {
        "descriptor": {"name": name, "createdAt": created},
        "config": {},
        "modelfs": {"type": "layers", "diffIds": [d.digest for d in files]},
    }
    return canonical(doc)


def build_manifest(
    config: Descriptor, layers: list[Descriptor], annotations: dict[str, str]
) -> bytes:
    """The manifest bytes (canonical JSON, so the same artifact always has the same digest)."""
    doc = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": config.to_json(),
        "layers": [d.to_json() for d in layers],
        "annotations": dict(sorted(annotations.items())),
    }
    return canonical(doc)


def canonical(doc: object) -> bytes:
    """Sorted keys, no whitespace, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_manifest(data: bytes) -> Manifest:
    """Validate a manifest from the vault; every problem is an :class:`IntegrityError`."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise IntegrityError([f"manifest larger than {MAX_MANIFEST_BYTES} bytes"])
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise IntegrityError([f"manifest is not JSON: {str(exc)[:200]}"]) from exc
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        raise IntegrityError(["not an OCI manifest (schemaVersion 2)"])
    if doc.get("artifactType") != ARTIFACT_TYPE:
        found = doc.get("artifactType") or doc.get("mediaType")
        raise IntegrityError(
            [f"not a model artifact: artifactType {found!r}, expected {ARTIFACT_TYPE}"]
        )
    config = _descriptor(doc.get("config"), "config")
    raw_layers = doc.get("layers")
    if not isinstance(raw_layers, list) or len(raw_layers) > MAX_LAYERS:
        raise IntegrityError(["manifest layers is not a list (or is absurdly long)"])
    layers = tuple(_descriptor(x, f"layers[{i}]") for i, x in enumerate(raw_layers))
    _check_paths(layers)
    return Manifest(config, layers, _annotations(doc.get("annotations"), "manifest"), data)


def _descriptor(value: object, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise IntegrityError([f"{where}: not a descriptor"])
    mt, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(mt, str) or not isinstance(digest, str) or not _DIGEST.match(digest):
        raise IntegrityError([f"{where}: needs a mediaType and a sha256 digest"])
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise IntegrityError([f"{where}: size is not a non-negative integer"])
    return Descriptor(mt, digest, size, _annotations(value.get("annotations"), where))


def _annotations(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise IntegrityError([f"{where}: annotations must map strings to strings"])
    return dict(value)


def _check_paths(layers: tuple[Descriptor, ...]) -> None:
    """File layers must name distinct, relative, normalised paths (no ``..``, no absolute)."""
    seen: set[str] = set()
    for i, d in enumerate(layers):
        if d.role is not Role.FILE:
            continue
        if d.media_type not in _FILE_TYPES:
            raise IntegrityError([f"layers[{i}]: unexpected media type {d.media_type!r}"])
        path = d.path
        if path is None:
            raise IntegrityError([f"layers[{i}]: no {FILEPATH} annotation"])
        problem = unsafe_path(path)
        if problem:
            raise IntegrityError([f"layers[{i}]: file path {path!r} {problem}"])
        key = path.casefold()
        if key in seen:
            raise IntegrityError([f"layers[{i}]: file path {path!r} appears twice"])
        seen.add(key)


def unsafe_path(path: str) -> str | None:
    """Why a layer path must not be written, or None when it is a plain relative path."""
    if not path or "\\" in path or "\x00" in path or path.startswith("/"):
        return "is empty, absolute or has a backslash or NUL"
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "is not a normalised relative path"
    if re.match(r"^[A-Za-z]:", path):
        return "looks like a drive path"
    return None
