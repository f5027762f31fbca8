"""The storage interface both vault kinds implement: content-addressed blobs, tagged manifests.

A store moves bytes and checks nothing about models; push, pull and verify (which do) are
written once against this interface, so a registry and a folder behave the same way.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

CHUNK = 8 * 1024 * 1024
"""Streaming unit: reads, hashes and upload chunks never hold more than this in memory."""

Progress = Callable[[int], None]
"""Called with the bytes sent after each chunk (a progress bar, or a test interrupting)."""


@dataclass(frozen=True, slots=True)
class BlobUpload:
    """The outcome of storing one blob."""

    sent: int
    """Bytes actually transferred (0 when the store already had it)."""
    resumed_from: int = 0
    """Offset an interrupted upload was resumed at."""


@dataclass(frozen=True, slots=True)
class TagEntry:
    """A tag and the manifest it points at."""

    repository: str
    tag: str
    digest: str


class Store(ABC):
    """A vault's storage."""

    description: str
    """Human-readable location, for messages."""

    @abstractmethod
    def blob_size(self, digest: str) -> int | None:
        """The size of a stored blob, or None when it is absent."""

    @abstractmethod
    def push_blob(
        self, digest: str, size: int, path: Path, progress: Progress | None = None
    ) -> BlobUpload:
        """Store the file at ``path`` (which must hash to ``digest``), streamed and resumable."""

    @abstractmethod
    def push_bytes(self, digest: str, data: bytes) -> BlobUpload:
        """Store a small blob held in memory (config, report, passport)."""

    @abstractmethod
    def read_blob(self, digest: str) -> AbstractContextManager[Iterator[bytes]]:
        """Stream a blob's bytes in chunks (unchecked: callers hash what they read)."""

    @abstractmethod
    def put_manifest(self, tag: str, data: bytes) -> str:
        """Store a manifest under ``tag`` (the commit point of a push); return its digest."""

    @abstractmethod
    def get_manifest(self, reference: str) -> bytes:
        """The manifest bytes for a tag or a digest."""

    @abstractmethod
    def list_tags(self) -> list[TagEntry]:
        """Every tag this store (or repository) holds."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections."""


def sha256_file(path: Path, chunk: int = CHUNK) -> tuple[str, int]:
    """The sha256 hex and size of a file, read in bounded chunks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while data := fh.read(chunk):
            h.update(data)
            size += len(data)
    return h.hexdigest(), size


class FileRange:
    """Bytes ``[start, start + length)`` of a file, read lazily each time it is iterated.

    Used as an HTTP request body: the request object never holds the bytes (httpx keeps sent
    requests alive in reference cycles until the garbage collector runs, so a body held as
    ``bytes`` would pile up one chunk per request), and it can be sent again after a 401.
    """

    PIECE = 1024 * 1024

    def __init__(self, path: Path, start: int, length: int) -> None:
        self.path = path
        self.start = start
        self.length = length

    def __iter__(self) -> Iterator[bytes]:
        left = self.length
        with self.path.open("rb") as fh:
            fh.seek(self.start)
            while left > 0:
                data = fh.read(min(self.PIECE, left))
                if not data:
                    msg = f"{self.path} shrank while it was being sent"
                    raise OSError(msg)
                left -= len(data)
                yield data


def file_chunks(path: Path, start: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """The file's bytes from ``start``, in chunks of at most ``chunk``."""
    with path.open("rb") as fh:
        fh.seek(start)
        while data := fh.read(chunk):
            yield data
