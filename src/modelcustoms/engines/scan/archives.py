"""Container analyzers: zip, tar, single compressed streams and 7z.

None of them judges the members: each member is streamed back to the engine through
:meth:`ScanContext.member`, which hashes, sniffs and analyses it under the engine's limits.
These analyzers judge the *containers*: names that escape the extraction folder, links,
structures built to make two readers see two different archives, decompression bombs, and
everything that could not be decoded (which is "not verified", never "clean").
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, ClassVar

from modelcustoms.artifacts import sevenzip, zipfmt
from modelcustoms.artifacts.blob import Blob
from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext, ScanOptions
from modelcustoms.engines.scan.engine import ENGINE_RULES

_CHUNK = 1024 * 1024
_MAX_SINGLE_READ = 16 * 1024**2
_XZ_MEMLIMIT = 1024**3
_MAX_TRIPS = 4
"""Members of one container stopped by the ratio guard before the rest is given up."""

_ENGINE = {r.id: r for r in ENGINE_RULES}
BOMB = _ENGINE["archive.bomb"]
"""Declared by the engine; analyzers here emit it without re-declaring it."""


def _traversal(area: str) -> Rule:
    return Rule(
        id=f"{area}.path-traversal",
        title=f"{area} member name escapes the extraction folder",
        severity=Severity.HIGH,
        help="A member is named with '..', an absolute path or a drive letter, so extracting "
        "the archive writes outside the target folder (zip-slip). Do not extract it.",
        references=("https://security.snyk.io/research/zip-slip-vulnerability",),
    )


def _malformed(area: str) -> Rule:
    return Rule(
        id=f"{area}.malformed",
        title=f"Malformed {area} container",
        severity=Severity.MEDIUM,
        help="The container could not be read completely; what was read was analysed, the "
        "rest is NOT verified.",
    )


def _unsupported(area: str) -> Rule:
    return Rule(
        id=f"{area}.unsupported",
        title=f"{area} content could not be decoded",
        severity=Severity.MEDIUM,
        help="The container uses a compression method or feature the scanner does not decode "
        "(or whose optional library is missing); that content is NOT verified.",
    )


ZIP_TRAVERSAL, ZIP_MALFORMED, ZIP_UNSUPPORTED = (
    _traversal("zip"),
    _malformed("zip"),
    _unsupported("zip"),
)
TAR_TRAVERSAL, TAR_MALFORMED = _traversal("tar"), _malformed("tar")
SZ_TRAVERSAL, SZ_MALFORMED, SZ_UNSUPPORTED = _traversal("7z"), _malformed("7z"), _unsupported("7z")
STREAM_MALFORMED, STREAM_UNSUPPORTED = _malformed("compressed"), _unsupported("compressed")
LINK = Rule(
    id="tar.link",
    title="Tar archive contains a link",
    severity=Severity.HIGH,
    help="A symbolic or hard link member. Links that point outside the archive let a later "
    "member overwrite or read arbitrary files when the archive is extracted (internal links "
    "are reported as low).",
    references=("https://nvd.nist.gov/vuln/detail/CVE-2007-4559",),
)
SPECIAL = Rule(
    id="tar.special-file",
    title="Tar archive contains a device or FIFO",
    severity=Severity.MEDIUM,
    help="Device nodes and FIFOs have no place in a model archive; extracting them as root "
    "creates device files.",
)
CONFUSION = Rule(
    id="zip.parser-confusion",
    title="Zip structure that different readers read differently",
    severity=Severity.HIGH,
    help="Central and local headers disagree (names, sizes, flags), names repeat or members "
    "overlap. torch.load (miniz) and Python's zipfile then see different files, a known way "
    "to hide a payload from scanners. Treat the file as hostile.",
    references=(
        "https://github.com/mmaitre314/picklescan/security/advisories/GHSA-w8jq-xcqf-f792",
        "https://github.com/mmaitre314/picklescan/security/advisories/GHSA-7q5r-7gvp-wc82",
        "https://www.bamsoftware.com/hacks/zipbomb/",
    ),
)
EXTRA = Rule(
    id="zip.extra-data",
    title="Data outside the zip members",
    severity=Severity.HIGH,
    help="Bytes before the first member make a polyglot: torch.load and np.load decide by the "
    "first bytes and would read them as a pickle, while zip readers see the archive. The "
    "extra bytes are scanned as members named '[prefix]' and '[trailing]'. Trailing bytes "
    "alone are medium.",
)
BAD_CRC = Rule(
    id="zip.bad-crc",
    title="Member CRC does not match",
    severity=Severity.HIGH,
    help="torch.load ignores zip CRCs while scanners built on zipfile stop at them, so a "
    "wrong CRC hides the member from those scanners (CVE-2025-10156).",
    references=("https://jfrog.com/blog/unveiling-3-zero-day-vulnerabilities-in-picklescan/",),
)
ZIP_RULES = (CONFUSION, EXTRA, BAD_CRC, ZIP_TRAVERSAL, ZIP_MALFORMED, ZIP_UNSUPPORTED)
TAR_RULES = (TAR_TRAVERSAL, LINK, SPECIAL, TAR_MALFORMED)
SEVENZIP_RULES = (SZ_TRAVERSAL, SZ_MALFORMED, SZ_UNSUPPORTED)
STREAM_RULES = (STREAM_MALFORMED, STREAM_UNSUPPORTED)

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


class _Guard(Iterator[bytes]):
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


# -- zip ------------------------------------------------------------------------------------


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
        yield from ctx.member("[prefix]", ctx.blob.chunks(0, listing.prefix, _CHUNK))
    if 0 < listing.end < ctx.blob.size:
        # Whatever hides after the archive (e.g. further members of a tar that ends with a zip
        # and was taken for one) is scanned too.
        yield from ctx.member("[trailing]", ctx.blob.chunks(listing.end, ctx.blob.size, _CHUNK))


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
    guard = _Guard(stream, lambda: stream.consumed, opts)
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


# -- tar ------------------------------------------------------------------------------------


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


def _link_escapes(info: tarfile.TarInfo) -> bool:
    target = info.linkname
    if info.issym():
        parent = info.name.replace("\\", "/").rpartition("/")[0]
        if not target.startswith(("/", "\\")):
            target = f"{parent}/{target}" if parent else target
    return zipfmt.path_escapes(target)


def _file_chunks(fh: IO[bytes]) -> Iterator[bytes]:
    while chunk := fh.read(_CHUNK):
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
    for chunk in ctx.blob.chunks(end, min(ctx.blob.size, end + 64 * _CHUNK), _CHUNK):
        if chunk.strip(b"\0"):
            yield ctx.finding(
                TAR_MALFORMED.id,
                f"non-zero data after the end of the tar archive (offset {end + scanned})",
                offset=end + scanned,
            )
            return
        scanned += len(chunk)


# -- single compressed streams --------------------------------------------------------------

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
            data = self._dec.unconsumed_tail or self._raw.read(_CHUNK)
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
                rest = self._dec.unused_data + self._raw.read(_CHUNK)
                rest = rest.lstrip(b"\0") if self._fmt == lzma.FORMAT_XZ else rest
                if not rest:
                    return b""
                if self._fmt != lzma.FORMAT_XZ or not rest.startswith(b"\xfd7zXZ\x00"):
                    msg = "data after the end of the compressed stream"
                    raise ValueError(msg)
                self._dec = lzma.LZMADecompressor(self._fmt, memlimit=_XZ_MEMLIMIT)
                self._input = rest
            if self._dec.needs_input and not self._input:
                self._input = self._raw.read(_CHUNK)
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
    zreader: Reader = zstandard.ZstdDecompressor().stream_reader(raw, read_size=_CHUNK).read
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
            chunk = self._read(_CHUNK)
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
        guard = _Guard(decoded, raw.tell, ctx.options)
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


# -- 7z -------------------------------------------------------------------------------------


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
