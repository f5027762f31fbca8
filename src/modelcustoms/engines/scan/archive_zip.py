"""Zip containers: structure anomalies, parser confusion, and every member to the engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from modelcustoms.artifacts import zipfmt
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.archive_io import CHUNK, Guard, declared_bomb
from modelcustoms.engines.scan.archive_rules import (
    BAD_CRC,
    BOMB,
    CONFUSION,
    EXTRA,
    TAR_MALFORMED,
    ZIP_MALFORMED,
    ZIP_RULES,
    ZIP_TRAVERSAL,
    ZIP_UNSUPPORTED,
)
from modelcustoms.engines.scan.archive_tar import TarAnalyzer
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext

_MAX_TRIPS = 4
"""Members of one container stopped by the ratio guard before the rest is given up."""

_ANOMALY_RULES: dict[str, tuple[str, Severity | None]] = {
    zipfmt.KIND_PREFIX: (EXTRA.id, None),
    zipfmt.KIND_TRAILING: (EXTRA.id, Severity.MEDIUM),
    zipfmt.KIND_TRAVERSAL: (ZIP_TRAVERSAL.id, None),
    zipfmt.KIND_ODD_NAME: (ZIP_TRAVERSAL.id, Severity.MEDIUM),
    zipfmt.KIND_BAD_LOCAL: (ZIP_MALFORMED.id, None),
    zipfmt.KIND_TRUNCATED: (ZIP_MALFORMED.id, None),
    zipfmt.KIND_METHOD: (ZIP_UNSUPPORTED.id, None),
    zipfmt.KIND_COUNT_MISMATCH: (CONFUSION.id, None),
}


def zip_anomaly_results(
    ctx: ScanContext, listing: zipfmt.ZipListing, *, scan_extra: bool = True
) -> Iterator[Result]:
    """Findings for every anomaly of a zip listing; bytes around the archive are scanned."""
    for anomaly in listing.anomalies:
        kind = zipfmt.anomaly_kind(anomaly)
        if kind in zipfmt.CONFUSION_KINDS:
            rule_id, severity = CONFUSION.id, None
        else:
            rule_id, severity = _ANOMALY_RULES.get(kind, (ZIP_MALFORMED.id, None))
        if kind == zipfmt.KIND_PREFIX and ctx.blob.read(257, 5) == b"ustar":
            # A tar whose last member is a zip: tar readers, torch.load's legacy path included,
            # read it as a tar, and the prefix is scanned as one, so this is not a pickle polyglot.
            severity = Severity.MEDIUM
            anomaly += " (the file starts as a tar archive)"
        yield ctx.finding(rule_id, anomaly, severity=severity, excerpt=anomaly)
    if not scan_extra:
        return
    if listing.prefix > 0:
        yield from ctx.member("[prefix]", ctx.blob.chunks(0, listing.prefix, CHUNK))
    if 0 < listing.end < ctx.blob.size:
        # Whatever hides after the archive (e.g. further members of a tar that ends with a zip
        # and was taken for one) is scanned too.
        yield from ctx.member("[trailing]", ctx.blob.chunks(listing.end, ctx.blob.size, CHUNK))


def zip_member_results(
    ctx: ScanContext, entry: zipfmt.ZipEntry, trips: list[int]
) -> Iterator[Result]:
    """Stream one zip member to the engine and report what its decoding revealed.

    ``trips`` counts members stopped by the ratio guard in this container (shared state).
    """
    opts = ctx.options
    pointer = f"member {entry.name}"
    if declared_bomb(opts, entry.size, entry.compressed_size):
        yield ctx.finding(
            BOMB.id,
            f"member {entry.name!r} declares {entry.size} bytes from {entry.compressed_size} "
            f"(ratio above {opts.max_ratio:g}); not decompressed",
            pointer=pointer,
        )
        return
    if entry.method not in zipfmt.SUPPORTED_METHODS:
        return  # already reported as an anomaly of the listing
    stream = zipfmt.member_chunks(ctx.blob, entry, max_bytes=opts.max_member_bytes)
    guard = Guard(stream, lambda: stream.consumed, opts)
    yield from ctx.member(entry.name, guard)
    if guard.tripped:
        trips.append(1)
        yield ctx.finding(
            BOMB.id,
            f"member {entry.name!r} decompressed past {opts.max_ratio:g} times its packed size; "
            "the rest was not analysed",
            pointer=pointer,
        )
    elif stream.error is not None:
        yield ctx.finding(
            ZIP_MALFORMED.id, f"member {entry.name!r}: {stream.error}", pointer=pointer
        )
    elif stream.crc_ok is False:
        yield ctx.finding(
            BAD_CRC.id,
            f"member {entry.name!r} has CRC {stream.crc:08x}, headers say {entry.crc32:08x}",
            pointer=pointer,
        )


def read_listing(ctx: ScanContext) -> tuple[zipfmt.ZipListing | None, list[Result]]:
    """The zip listing of the artifact, or None with the finding that explains why not."""
    try:
        return zipfmt.read_zip(ctx.blob), []
    except zipfmt.ZipTooManyEntries as exc:
        return None, [ctx.finding(BOMB.id, f"zip not analysed: {exc}")]
    except zipfmt.ZipFormatError as exc:
        return None, [ctx.finding(ZIP_MALFORMED.id, f"zip could not be listed: {exc}")]


def torch_root(names: list[str]) -> str:
    """The record folder torch.load uses: the first entry's top folder + '/' ('' if none)."""
    if not names or "/" not in names[0]:
        return ""
    return names[0].split("/", 1)[0] + "/"


_TORCH_FORMATS = frozenset({Format.PYTORCH_ZIP, Format.TORCHSCRIPT})


class ZipAnalyzer(Analyzer):
    """Zip containers (also .npz, .keras and PyTorch zips): structure, every member to the engine.

    PyTorch tensor storages (``<root>/data/<key>``) are raw numbers that torch.load never
    unpickles; they are not read (the file's digest covers them), so large checkpoints stay
    cheap. Format-specific judgement (layout, TorchScript) is the format analyzers' job.
    """

    name: ClassVar[str] = "zip"
    formats: ClassVar[frozenset[Format]] = frozenset(
        {Format.ZIP, Format.NUMPY_NPZ, Format.KERAS_V3, *_TORCH_FORMATS}
    )
    rules: ClassVar[tuple[Rule, ...]] = ZIP_RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        as_tar = ctx.blob.read(257, 5) == b"ustar" and TAR_MALFORMED.id in ctx.rules
        if as_tar:
            # NOTE: a tar whose tail holds a zip's end record can be sniffed as a zip, but tar
            # readers (torch.load's legacy path too) read it as a tar: read it both ways.
            yield from TarAnalyzer().analyze(ctx)
        listing, errors = read_listing(ctx)
        yield from errors
        if listing is None:
            return
        yield ctx.fact("archive.members", len(listing.entries))
        yield from zip_anomaly_results(ctx, listing, scan_extra=not as_tar)
        storages = ""
        if ctx.artifact.format in _TORCH_FORMATS:
            root = torch_root([e.name for e in listing.entries])
            storages = f"{root}data/" if root else ""
        trips: list[int] = []
        for submitted, entry in enumerate(listing.entries):
            if entry.name.endswith("/") and entry.size == 0:
                continue
            if storages and entry.name.startswith(storages):
                continue
            if submitted > ctx.options.max_members:
                return  # the engine has reported the member limit
            if len(trips) >= _MAX_TRIPS:
                yield ctx.skip("bomb", "further members not analysed after repeated bombs")
                return
            yield from zip_member_results(ctx, entry, trips)
