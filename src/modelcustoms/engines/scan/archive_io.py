"""Bounded I/O shared by the container analyzers: a blob as a file, and the ratio guard."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

from modelcustoms.artifacts.blob import Blob
from modelcustoms.engines.scan.base import ScanOptions

CHUNK = 1024 * 1024
_MAX_SINGLE_READ = 16 * 1024**2


class Guard(Iterator[bytes]):
    """Stops a decompressing stream whose output outgrows its input by more than the ratio."""

    def __init__(self, source: Iterator[bytes], consumed: Callable[[], int], opts: ScanOptions):
        self._source = source
        self._consumed = consumed
        self._opts = opts
        self.produced = 0
        self.tripped = False

    def __next__(self) -> bytes:
        if self.tripped:
            raise StopIteration
        chunk = next(self._source)
        self.produced += len(chunk)
        floor, ratio = self._opts.ratio_floor, self._opts.max_ratio
        if self.produced > floor and self.produced > ratio * max(1, self._consumed()):
            self.tripped = True
        return chunk


def declared_bomb(opts: ScanOptions, size: int, packed: int) -> bool:
    """True when declared sizes already exceed the ratio limit (nothing needs decoding)."""
    return size > opts.ratio_floor and size > opts.max_ratio * max(1, packed)


class BlobIO(io.RawIOBase):
    """A read-only, seekable file object over a blob, refusing oversized single reads."""

    def __init__(self, blob: Blob) -> None:
        super().__init__()
        self._blob = blob
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._blob.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = min(len(view), _MAX_SINGLE_READ)
        data = self._blob.read(self._pos, n)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._blob.size - self._pos
        if size > _MAX_SINGLE_READ:
            msg = f"refusing a single read of {size} bytes"
            raise OSError(msg)
        data = self._blob.read(self._pos, size)
        self._pos += len(data)
        return data
