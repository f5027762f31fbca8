"""Single compressed streams (gzip, bzip2, xz, lzma, zlib, lz4, zstd), decoded with bounds."""

from __future__ import annotations

import bz2
import gzip
import importlib
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from modelcustoms.core import Format, Rule
from modelcustoms.engines.scan.archive_io import CHUNK, BlobIO, Guard
from modelcustoms.engines.scan.archive_rules import (
    BOMB,
    STREAM_MALFORMED,
    STREAM_RULES,
    STREAM_UNSUPPORTED,
)
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext

_XZ_MEMLIMIT = 1024**3
_SUFFIXES = (".tgz", ".gz", ".gzip", ".bz2", ".xz", ".lzma", ".zlib", ".z", ".lz4", ".zst")


def inner_name(path: str) -> str:
    """Name of a compressed stream's content: the outer name without its compression suffix."""
    base = path.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
    lower = base.lower()
    for suffix in _SUFFIXES:
        if lower.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)] + (".tar" if suffix == ".tgz" else "")
    return base + ".decompressed"


class _ZlibReader:
    """A zlib stream read in bounded pieces; data after its end marker is an error."""

    def __init__(self, raw: BlobIO) -> None:
        self._raw = raw
        self._dec = zlib.decompressobj()

    def read(self, size: int) -> bytes:
        while not self._dec.eof:
            data = self._dec.unconsumed_tail or self._raw.read(CHUNK)
            if not data:
                msg = "zlib stream ended before its end marker"
                raise EOFError(msg)
            out = self._dec.decompress(data, size)
            if out:
                return out
        if self._dec.unused_data or self._raw.read(1):
            msg = "data after the end of the zlib stream"
            raise ValueError(msg)
        return b""


class _LzmaReader:
    """xz (several streams allowed) or .lzma, with a memory limit on the decoder."""

    def __init__(self, raw: BlobIO, fmt: int) -> None:
        self._raw = raw
        self._fmt = fmt
        self._dec = lzma.LZMADecompressor(fmt, memlimit=_XZ_MEMLIMIT)
        self._input = b""

    def read(self, size: int) -> bytes:
        while True:
            if self._dec.eof:
                rest = self._dec.unused_data + self._raw.read(CHUNK)
                rest = rest.lstrip(b"\0") if self._fmt == lzma.FORMAT_XZ else rest
                if not rest:
                    return b""
                if self._fmt != lzma.FORMAT_XZ or not rest.startswith(b"\xfd7zXZ\x00"):
                    msg = "data after the end of the compressed stream"
                    raise ValueError(msg)
                self._dec = lzma.LZMADecompressor(self._fmt, memlimit=_XZ_MEMLIMIT)
                self._input = rest
            if self._dec.needs_input and not self._input:
                self._input = self._raw.read(CHUNK)
                if not self._input:
                    msg = "compressed stream ended before its end marker"
                    raise EOFError(msg)
            data = self._input if self._dec.needs_input else b""
            self._input = b"" if self._dec.needs_input else self._input
            out = self._dec.decompress(data, size)
            if out:
                return out


Reader = Callable[[int], bytes]


def _open_stream(fmt: Format, raw: BlobIO) -> Reader:
    """A bounded ``read(n)`` of the decompressed stream; ImportError for missing codecs."""
    if fmt is Format.GZIP:
        return gzip.GzipFile(fileobj=raw, mode="rb").read
    if fmt is Format.BZIP2:
        return bz2.BZ2File(raw).read
    if fmt is Format.XZ:
        return _LzmaReader(raw, lzma.FORMAT_XZ).read
    if fmt is Format.LZMA:
        return _LzmaReader(raw, lzma.FORMAT_ALONE).read
    if fmt is Format.ZLIB:
        return _ZlibReader(raw).read
    if fmt is Format.LZ4:
        lz4frame: Any = importlib.import_module("lz4.frame")
        reader: Reader = lz4frame.LZ4FrameFile(raw, mode="rb").read
        return reader
    zstandard: Any = importlib.import_module("zstandard")
    zreader: Reader = zstandard.ZstdDecompressor().stream_reader(raw, read_size=CHUNK).read
    return zreader


class _Decoded(Iterator[bytes]):
    """Chunks from a decompressing reader; errors end the stream and are kept."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self.error: str | None = None
        self.done = False

    def __next__(self) -> bytes:
        if self.done:
            raise StopIteration
        try:
            chunk = self._read(CHUNK)
        except Exception as exc:  # every codec (lz4, zstd too) fails its own way
            self.error = f"{type(exc).__name__}: {exc}"
            chunk = b""
        if not chunk:
            self.done = True
            raise StopIteration
        return chunk


class CompressedAnalyzer(Analyzer):
    """gzip, bzip2, xz, lzma, zlib (and lz4/zstd when their libraries are installed) streams."""

    name: ClassVar[str] = "compressed"
    formats: ClassVar[frozenset[Format]] = frozenset(
        {Format.GZIP, Format.BZIP2, Format.XZ, Format.LZMA, Format.ZLIB, Format.LZ4, Format.ZSTD}
    )
    rules: ClassVar[tuple[Rule, ...]] = STREAM_RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        fmt = ctx.artifact.format
        raw = BlobIO(ctx.blob)
        try:
            reader = _open_stream(fmt, raw)
        except ImportError:
            yield ctx.skip("missing-codec", f"no {fmt.value} library installed")
            yield ctx.finding(
                STREAM_UNSUPPORTED.id,
                f"{fmt.value} stream not verified: install the optional "
                f"{'lz4' if fmt is Format.LZ4 else 'zstandard'} package to decode it",
            )
            return
        except (lzma.LZMAError, OSError, ValueError) as exc:
            yield ctx.finding(STREAM_UNSUPPORTED.id, f"{fmt.value} stream cannot be opened: {exc}")
            return
        decoded = _Decoded(reader)
        guard = Guard(decoded, raw.tell, ctx.options)
        name = inner_name(ctx.artifact.path)
        yield from ctx.member(name, guard)
        if guard.tripped:
            yield ctx.finding(
                BOMB.id,
                f"{fmt.value} stream decompressed past {ctx.options.max_ratio:g} times its "
                "size; the rest was not analysed",
            )
        elif decoded.error is not None:
            yield ctx.finding(STREAM_MALFORMED.id, f"{fmt.value} stream: {decoded.error}")
