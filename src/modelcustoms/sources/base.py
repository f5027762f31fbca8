"""The source interface: something that names a model → a Subject with openers and skips.

Implementations: :mod:`~modelcustoms.sources.resolve` (local paths, endpoints),
:mod:`~modelcustoms.sources.huggingface`, :mod:`~modelcustoms.sources.ollama`.

Errors::

    errors.SourceError
    ├── InvalidReference          the name cannot be parsed (bad repo id, tag, URL)
    ├── NotInCache                offline, and the cache does not have it
    ├── StoreError                a local model store (Ollama) is missing or broken
    └── artifacts.httpclient.RemoteError   also an OSError; see that module for its subclasses
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from modelcustoms.artifacts.blob import Blob, Opener
from modelcustoms.artifacts.remote import (
    RangeNotHonoured,
    RemoteAccessDenied,
    RemoteError,
    RemoteNotFound,
    RemoteProtocolError,
    RemoteServerError,
    RemoteStatusError,
    RemoteUnreachable,
    TransferLimitExceeded,
)
from modelcustoms.core import Skip, Subject
from modelcustoms.errors import SourceError

__all__ = [
    "ArtifactInfo",
    "InfoOpener",
    "InvalidReference",
    "NotInCache",
    "RangeNotHonoured",
    "RemoteAccessDenied",
    "RemoteError",
    "RemoteNotFound",
    "RemoteProtocolError",
    "RemoteServerError",
    "RemoteStatusError",
    "RemoteUnreachable",
    "Source",
    "SourceError",
    "StoreError",
    "TransferLimitExceeded",
    "info_of",
]


class InvalidReference(SourceError):
    """The model reference cannot be parsed."""


class NotInCache(SourceError):
    """Offline mode was asked for and the local cache does not hold the subject."""


class StoreError(SourceError):
    """A local model store is missing, or its index (manifest) cannot be read."""


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """What a source knows about a file before anyone reads it."""

    size: int | None = None
    """Size the source declares (the Hub's repo info, an Ollama layer)."""
    sha256: str | None = None
    """Expected sha256 (lowercase hex) the source publishes: the Hub's LFS oid, an Ollama digest.

    Lets a scan bind to the bytes without downloading them. ``None`` when none is published."""
    git_blob_id: str | None = None
    """The Hub's git blob id (sha1 of the git object) for files stored in git, not LFS."""
    media_type: str | None = None
    """The layer media type in an OCI-like store."""
    location: str = ""
    """Where the bytes come from: a URL without query, or a local path."""
    cached: bool = False
    """True when the bytes are read from a local cache instead of the network."""


class InfoOpener(Opener):
    """An opener that carries what the source declared about the file."""

    __slots__ = ("info",)

    def __init__(self, path: str, open_blob: Callable[[], Blob], info: ArtifactInfo) -> None:
        super().__init__(path, open_blob)
        self.info = info


def info_of(opener: Opener) -> ArtifactInfo | None:
    """The declared info of an opener, if its source gave any."""
    return opener.info if isinstance(opener, InfoOpener) else None


class Source(Protocol):
    """A resolved model reference. I/O happens on first use, not in ``resolve``."""

    def subject(self) -> Subject:
        """What the report is about (for remote repos, pinned to the commit that was read)."""
        ...

    def openers(self) -> Sequence[Opener]:
        """The files to read, with paths relative to the subject root."""
        ...

    @property
    def skips(self) -> Sequence[Skip]:
        """Files left out, with reasons (unsafe names, missing blobs, non-regular files)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
