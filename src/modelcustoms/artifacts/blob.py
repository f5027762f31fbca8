"""Random-access, bounded views of the bytes being inspected.

A :class:`Blob` is what analyzers read. It never reads more than it is asked for, so a
hostile length field cannot make an analyzer allocate the whole disk.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

CHUNK = 8 * 1024 * 1024
"""Read size for sequential passes (large enough for hashlib to run at full speed)."""


class BlobTooLarge(Exception):
    """Raised by :meth:`Blob.all` when the content exceeds the caller's limit."""


class Blob(ABC):
    """Read-only random access to a byte sequence of known size."""

    size: int

    @abstractmethod
    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; fewer at the end; empty past the end."""

    def read_exact(self, offset: int, length: int) -> bytes:
        """Like :meth:`read`, for scattered bytes the caller will not read again.

        A blob with a read cache may bypass it and fetch exactly these bytes: a few hundred
        rows spread over a remote weight file must not each cost a whole cache block.
        """
        return self.read(offset, length)

    def read_many(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        """:meth:`read_exact` for each ``(offset, length)``, in order.

        A remote blob may fetch them concurrently: hundreds of scattered rows read one request
        at a time cost hundreds of round trips.
        """
        return [self.read_exact(offset, length) for offset, length in spans]

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes (or fewer)."""
        return self.read(0, n)

    def tail(self, n: int) -> bytes:
        """The last ``n`` bytes (or fewer)."""
        start = max(0, self.size - n)
        return self.read(start, self.size - start)

    def all(self, limit: int) -> bytes:
        """The whole content, refusing anything larger than ``limit`` bytes."""
        if self.size > limit:
            msg = f"{self.size} bytes exceeds the in-memory limit of {limit}"
            raise BlobTooLarge(msg)
        return self.read(0, self.size)

    def chunks(self, start: int = 0, end: int | None = None, size: int = CHUNK) -> Iterator[bytes]:
        """Sequential chunks of ``[start, end)``."""
        stop = self.size if end is None else min(end, self.size)
        pos = max(0, start)
        while pos < stop:
            data = self.read(pos, min(size, stop - pos))
            if not data:
                return
            yield data
            pos += len(data)

    def sha256(self) -> str:
        """sha256 of the whole content, in one sequential pass."""
        h = hashlib.sha256()
        for chunk in self.chunks():
            h.update(chunk)
        return h.hexdigest()

    def close(self) -> None:  # noqa: B027 - optional hook, most blobs hold nothing
        """Release what the blob holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class BytesBlob(Blob):
    """A blob over bytes already in memory."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            msg = "negative offset or length"
            raise ValueError(msg)
        return self._data[offset : offset + length]

    @property
    def data(self) -> bytes:
        """The underlying bytes."""
        return self._data


class FileBlob(Blob):
    """A blob over an open file descriptor, read with ``pread`` (thread-safe, no shared offset)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            st = os.fstat(self._fd)
        except OSError:
            os.close(self._fd)
            raise
        self.size = st.st_size
        self.stat_key = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
        self.path = path

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            msg = "negative offset or length"
            raise ValueError(msg)
        if offset >= self.size or length == 0:
            return b""
        length = min(length, self.size - offset)
        first = os.pread(self._fd, length, offset)
        if len(first) == length or not first:
            return first  # the common case: one read, no copy
        out = bytearray(first)
        while len(out) < length:
            got = os.pread(self._fd, length - len(out), offset + len(out))
            if not got:
                break
            out += got
        return bytes(out)

    def sha256(self) -> str:
        """sha256 of the whole file in one sequential pass through a reused buffer.

        Reading into one buffer (``preadv``) instead of allocating a bytes object per chunk
        keeps the pass at the speed of hashing alone.
        """
        h = hashlib.sha256()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        pos = 0
        while pos < self.size:
            n = os.preadv(self._fd, [buf], pos)
            if n <= 0:
                break
            h.update(view[:n])
            pos += n
        return h.hexdigest()

    def unchanged(self) -> bool:
        """True when the file still has the size, mtime and inode it had when opened."""
        st = os.fstat(self._fd)
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev) == self.stat_key

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class SpooledBlob(Blob):
    """A blob over a temporary file (for large members extracted from containers)."""

    def __init__(self, fh: IO[bytes], size: int) -> None:
        self._fh = fh
        self.size = size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            msg = "negative offset or length"
            raise ValueError(msg)
        self._fh.seek(offset)
        return self._fh.read(max(0, min(length, self.size - offset)))

    def close(self) -> None:
        self._fh.close()


class Opener:
    """A named input that can be opened as a blob (a local file now, remote ranges later)."""

    __slots__ = ("_open", "path")

    def __init__(self, path: str, open_blob: Callable[[], Blob]) -> None:
        self.path = path
        """Path relative to the subject root, with ``/`` separators."""
        self._open = open_blob

    def open(self) -> Blob:
        """Open the bytes for reading."""
        return self._open()

    @classmethod
    def local(cls, relpath: str, path: Path) -> Opener:
        """An opener for a local file."""
        return cls(relpath, lambda: FileBlob(path))
