"""Tar archives, read header by header (never extracted): names, links, special files."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import IO, ClassVar

from modelcustoms.artifacts import zipfmt
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.archive_io import CHUNK, BlobIO
from modelcustoms.engines.scan.archive_rules import (
    BOMB,
    LINK,
    SPECIAL,
    TAR_MALFORMED,
    TAR_RULES,
    TAR_TRAVERSAL,
)
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext


def _link_escapes(info: tarfile.TarInfo) -> bool:
    target = info.linkname
    if info.issym():
        parent = info.name.replace("\\", "/").rpartition("/")[0]
        if not target.startswith(("/", "\\")):
            target = f"{parent}/{target}" if parent else target
    return zipfmt.path_escapes(target)


def _file_chunks(fh: IO[bytes]) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


class TarAnalyzer(Analyzer):
    """Tar archives, read header by header (never extracted): names, links, special files."""

    name: ClassVar[str] = "tar"
    formats: ClassVar[frozenset[Format]] = frozenset({Format.TAR})
    rules: ClassVar[tuple[Rule, ...]] = TAR_RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        raw = BlobIO(ctx.blob)
        count = 0
        try:
            with tarfile.open(fileobj=raw, mode="r:") as tf:
                while (info := tf.next()) is not None:
                    count += 1
                    if count > ctx.options.max_members:
                        yield ctx.finding(BOMB.id, f"more than {count - 1} members")
                        return
                    yield from self._member(ctx, tf, info)
                end = tf.offset
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            yield ctx.finding(TAR_MALFORMED.id, f"tar could not be read completely: {exc}")
            return
        yield ctx.fact("archive.members", count)
        yield from _tar_trailing(ctx, end)

    def _member(
        self, ctx: ScanContext, tf: tarfile.TarFile, info: tarfile.TarInfo
    ) -> Iterator[Result]:
        pointer = f"member {info.name}"
        if zipfmt.path_escapes(info.name):
            yield ctx.finding(
                TAR_TRAVERSAL.id,
                f"member {info.name!r} escapes the extraction folder",
                pointer=pointer,
            )
        if info.issym() or info.islnk():
            kind = "symlink" if info.issym() else "hard link"
            escapes = _link_escapes(info)
            yield ctx.finding(
                LINK.id,
                f"{kind} {info.name!r} -> {info.linkname!r}"
                + (" points outside the archive" if escapes else ""),
                pointer=pointer,
                severity=None if escapes else Severity.LOW,
            )
            return
        if info.ischr() or info.isblk() or info.isfifo():
            yield ctx.finding(SPECIAL.id, f"special file {info.name!r}", pointer=pointer)
            return
        if not info.isfile():
            return
        fh = tf.extractfile(info)
        if fh is not None:
            yield from ctx.member(info.name, _file_chunks(fh))


def _tar_trailing(ctx: ScanContext, end: int) -> Iterator[Result]:
    """Non-zero bytes after the end-of-archive marker are hidden from tar readers."""
    scanned = 0
    for chunk in ctx.blob.chunks(end, min(ctx.blob.size, end + 64 * CHUNK), CHUNK):
        if chunk.strip(b"\0"):
            yield ctx.finding(
                TAR_MALFORMED.id,
                f"non-zero data after the end of the tar archive (offset {end + scanned})",
                offset=end + scanned,
            )
            return
        scanned += len(chunk)
