"""7z archives (stdlib lzma): names, bombs, CRCs, and every member sent to the engine."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import ClassVar

from modelcustoms.artifacts import sevenzip, zipfmt
from modelcustoms.core import Format, Rule
from modelcustoms.engines.scan.archive_io import declared_bomb
from modelcustoms.engines.scan.archive_rules import (
    BOMB,
    SEVENZIP_RULES,
    SZ_MALFORMED,
    SZ_TRAVERSAL,
    SZ_UNSUPPORTED,
)
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext


class _Crc(Iterator[bytes]):
    """Passes chunks through, computing their CRC; decoding errors end it and are kept."""

    def __init__(self, source: Iterator[bytes], size: int) -> None:
        self._source = source
        self.remaining = size
        self.crc = 0
        self.error: str | None = None

    def __next__(self) -> bytes:
        try:
            chunk = next(self._source)
        except sevenzip.SevenZipError as exc:
            self.error = str(exc)
            raise StopIteration from None
        self.crc = zlib.crc32(chunk, self.crc)
        self.remaining -= len(chunk)
        return chunk


class SevenZipAnalyzer(Analyzer):
    """7z archives (stdlib lzma): names, bombs, and every member sent to the engine."""

    name: ClassVar[str] = "sevenzip"
    formats: ClassVar[frozenset[Format]] = frozenset({Format.SEVENZIP})
    rules: ClassVar[tuple[Rule, ...]] = SEVENZIP_RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        try:
            archive = sevenzip.read_7z(ctx.blob, max_entries=ctx.options.max_members + 1)
        except sevenzip.SevenZipUnsupported as exc:
            yield ctx.finding(SZ_UNSUPPORTED.id, f"7z archive not verified: {exc}")
            return
        except sevenzip.SevenZipError as exc:
            yield ctx.finding(SZ_MALFORMED.id, f"7z archive could not be read: {exc}")
            return
        yield ctx.fact("archive.members", len(archive.entries))
        for anomaly in archive.anomalies:
            yield ctx.finding(SZ_MALFORMED.id, f"7z: {anomaly}")
        for entry in archive.entries:
            if zipfmt.path_escapes(entry.name):
                yield ctx.finding(
                    SZ_TRAVERSAL.id,
                    f"member {entry.name!r} escapes the extraction folder",
                    pointer=f"member {entry.name}",
                )
        for index in range(len(archive.folders)):
            yield from self._folder(ctx, archive, index)

    def _folder(
        self, ctx: ScanContext, archive: sevenzip.SevenZipArchive, index: int
    ) -> Iterator[Result]:
        folder = archive.folders[index]
        names = [e.name for e in archive.entries if e.folder == index]
        try:
            sevenzip.check_coders(folder)
        except sevenzip.SevenZipError as exc:
            yield ctx.finding(SZ_UNSUPPORTED.id, f"7z members {names[:5]} not verified: {exc}")
            return
        if declared_bomb(ctx.options, folder.unpack_size, folder.pack_size):
            yield ctx.finding(
                BOMB.id,
                f"7z block of {names[:5]} declares {folder.unpack_size} bytes from "
                f"{folder.pack_size}; not decompressed",
            )
            return
        members = sevenzip.iter_members(
            ctx.blob, archive, index, max_bytes=ctx.options.max_total_bytes
        )
        for entry, chunks in members:
            stream = _Crc(chunks, entry.size)
            yield from ctx.member(entry.name, stream)
            pointer = f"member {entry.name}"
            if stream.error is not None:
                yield ctx.finding(SZ_MALFORMED.id, f"7z member {entry.name!r}: {stream.error}")
                return
            if stream.remaining > 0:
                yield ctx.skip("bomb", f"rest of the 7z block after {entry.name!r} not analysed")
                return
            if entry.crc32 is not None and stream.crc != entry.crc32:
                yield ctx.finding(
                    SZ_MALFORMED.id, f"7z member {entry.name!r}: CRC mismatch", pointer=pointer
                )
