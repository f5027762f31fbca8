"""Models in a local Ollama store, by tag. No network.

The store (``OLLAMA_MODELS``, default ``~/.ollama/models``) holds OCI-like manifests at
``manifests/<registry>/<namespace>/<name>/<tag>`` and content-addressed blobs at
``blobs/sha256-<hex>``. Each manifest layer becomes one opener named after its kind
(``model.gguf``, ``template``, ``params``, ``license``…) and carries the layer's digest, so a
scan can check the bytes it hashed against the digest the manifest promised.
See: https://github.com/ollama/ollama/blob/main/docs/import.md
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from modelcustoms.artifacts.blob import FileBlob, Opener
from modelcustoms.core import Skip, Subject, SubjectKind
from modelcustoms.sources.base import ArtifactInfo, InfoOpener, InvalidReference, StoreError

DEFAULT_REGISTRY = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_LAYERS = 1000
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DIGEST = re.compile(r"sha256[:-]([0-9a-f]{64})")
_MEDIA_PREFIX = "application/vnd.ollama.image."

LAYER_NAMES: Mapping[str, str] = {
    "model": "model.gguf",
    "adapter": "adapter.gguf",
    "projector": "projector.gguf",
    "template": "template",
    "system": "system",
    "params": "params",
    "license": "license",
    "messages": "messages",
}
"""Opener names by layer kind; names are hints, formats are sniffed from content."""


@dataclass(frozen=True, slots=True)
class OllamaName:
    """A model name split as Ollama stores it on disk."""

    registry: str
    namespace: str
    model: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> OllamaName:
        """``name[:tag]``, ``namespace/name[:tag]`` or ``registry/namespace/name[:tag]``."""
        path, colon, tag = text.partition(":")
        parts = path.split("/")
        tag = tag if colon else DEFAULT_TAG
        if (
            not 1 <= len(parts) <= 3
            or not _TAG.fullmatch(tag)
            or not all(_PART.fullmatch(p) and ".." not in p for p in parts)
        ):
            msg = f"not an Ollama model name: {text[:200]!r}"
            raise InvalidReference(msg, hint="e.g. ollama:llama3.1:8b or ollama:user/model:tag")
        defaults = [DEFAULT_REGISTRY, DEFAULT_NAMESPACE][: 3 - len(parts)]
        registry, namespace, model = [*defaults, *parts]
        return cls(registry, namespace, model, tag)

    def __str__(self) -> str:
        if (self.registry, self.namespace) == (DEFAULT_REGISTRY, DEFAULT_NAMESPACE):
            return f"{self.model}:{self.tag}"
        if self.registry == DEFAULT_REGISTRY:
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.registry}/{self.namespace}/{self.model}:{self.tag}"


def store_root(env: Mapping[str, str]) -> Path:
    """The store folder: ``OLLAMA_MODELS`` or ``~/.ollama/models``."""
    value = env.get("OLLAMA_MODELS")
    return Path(value).expanduser() if value else Path.home() / ".ollama" / "models"


class _Descriptor(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    mediaType: str = ""
    digest: str
    size: int | None = None


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    schemaVersion: int | None = None
    config: _Descriptor | None = None
    layers: list[_Descriptor] = []


class OllamaSource:
    """One tag of a local Ollama store. The manifest is read on first use."""

    def __init__(self, ref: str, name: OllamaName, root: Path) -> None:
        self.ref = ref
        self.name = name
        self.root = root
        self._loaded: tuple[Subject, tuple[Opener, ...], tuple[Skip, ...]] | None = None

    def subject(self) -> Subject:
        """The tag; ``revision`` is the sha256 of the manifest that was read."""
        return self._load()[0]

    def openers(self) -> Sequence[Opener]:
        """One opener per layer, plus ``config.json`` for the image config."""
        return self._load()[1]

    @property
    def skips(self) -> Sequence[Skip]:
        """Layers with a bad digest or a missing blob."""
        return self._load()[2]

    def close(self) -> None:
        """Nothing to release: blobs are opened per read."""

    def manifest_path(self) -> Path:
        """Where the manifest of this tag lives."""
        n = self.name
        return self.root / "manifests" / n.registry / n.namespace / n.model / n.tag

    def _load(self) -> tuple[Subject, tuple[Opener, ...], tuple[Skip, ...]]:
        if self._loaded is None:
            data = self._read_manifest()
            manifest = self._parse(data)
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            subject = Subject(
                kind=SubjectKind.OLLAMA, ref=self.ref, name=str(self.name), revision=digest
            )
            openers, skips = self._layers(manifest)
            self._loaded = (subject, openers, skips)
        return self._loaded

    def _read_manifest(self) -> bytes:
        path = self.manifest_path()
        if not self.root.is_dir():
            msg = f"no Ollama store at {self.root}"
            raise StoreError(msg, hint="set OLLAMA_MODELS to the store folder")
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):
                msg = f"{path} is not a regular file"
                raise StoreError(msg)
            with path.open("rb") as fh:
                data = fh.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError as exc:
            msg = f"Ollama model {self.name} is not in the store at {self.root}"
            raise StoreError(msg, hint=f"run `ollama pull {self.name}` or check the tag") from exc
        except OSError as exc:
            msg = f"cannot read the manifest of {self.name}: {exc.strerror or exc}"
            raise StoreError(msg) from exc
        if len(data) > MAX_MANIFEST_BYTES:
            msg = f"the manifest of {self.name} exceeds {MAX_MANIFEST_BYTES} bytes"
            raise StoreError(msg)
        return data

    def _parse(self, data: bytes) -> _Manifest:
        try:
            manifest = _Manifest.model_validate(json.loads(data))
        except (ValueError, RecursionError, ValidationError) as exc:
            msg = f"the manifest of {self.name} is not a valid Ollama manifest"
            raise StoreError(msg, hint=str(self.manifest_path())) from exc
        if len(manifest.layers) > MAX_LAYERS:
            msg = f"the manifest of {self.name} lists {len(manifest.layers)} layers"
            raise StoreError(msg)
        return manifest

    def _layers(self, manifest: _Manifest) -> tuple[tuple[Opener, ...], tuple[Skip, ...]]:
        openers: list[Opener] = []
        skips: list[Skip] = []
        used: dict[str, int] = {}
        entries = [(d, _layer_name(d.mediaType, i)) for i, d in enumerate(manifest.layers)]
        if manifest.config is not None:
            entries.append((manifest.config, "config.json"))
        for desc, base in entries:
            count = used.get(base, 0)
            used[base] = count + 1
            name = base if count == 0 else f"{base}.{count + 1}"
            match = _DIGEST.fullmatch(desc.digest)
            if match is None:
                skips.append(Skip(artifact=name, reason="bad-digest", detail=desc.digest[:100]))
                continue
            blob = self.root / "blobs" / f"sha256-{match[1]}"
            try:
                st = blob.stat()
            except OSError:
                skips.append(Skip(artifact=name, reason="unreadable", detail="blob missing"))
                continue
            if not stat.S_ISREG(st.st_mode):
                skips.append(Skip(artifact=name, reason="not-regular-file", detail=str(blob)))
                continue
            info = ArtifactInfo(
                size=desc.size, sha256=match[1], media_type=desc.mediaType, location=str(blob)
            )
            openers.append(InfoOpener(name, _opener(blob), info))
        return tuple(openers), tuple(skips)


def _opener(path: Path) -> Callable[[], FileBlob]:
    return lambda: FileBlob(path)


def _layer_name(media_type: str, index: int) -> str:
    kind = media_type.removeprefix(_MEDIA_PREFIX) if media_type.startswith(_MEDIA_PREFIX) else ""
    if kind in LAYER_NAMES:
        return LAYER_NAMES[kind]
    # NOTE: unknown layers are still opened (fail closed): a new layer kind may carry code.
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", kind)[:60]
    return f"layer-{safe}" if safe else f"layer-{index}"
