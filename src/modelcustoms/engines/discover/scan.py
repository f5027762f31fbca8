"""The discover run as plain data: walk, read, scan, resolve (no report model involved).

:class:`~modelcustoms.engines.discover.engine.DiscoverEngine` turns an :class:`Outcome` into the
validated report types; the command line's JSON fast path writes it directly.
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple

from modelcustoms.engines.discover.digest import sha256_hex
from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.notebooks import scan_notebook
from modelcustoms.engines.discover.python_ast import scan_python
from modelcustoms.engines.discover.refs import Ref
from modelcustoms.engines.discover.resolve import resolve
from modelcustoms.engines.discover.text import (
    attach_host,
    keyed_endpoints,
    scan_lines,
    strip_comments,
)
from modelcustoms.engines.discover.vocab import Vocabulary
from modelcustoms.engines.discover.walk import Entry, FileKind, walk

_GGUF_MAGIC = b"GGUF"
_NO_DIGEST = "0" * 64


class DiscoverOptions(NamedTuple):
    """Limits of a discover run."""

    max_source_bytes: int = 2 * 1024 * 1024
    """Source and config files larger than this are skipped (``too-large``)."""
    max_files: int = 2_000_000


class SkipRow(NamedTuple):
    """Something not analysed, and why (the fields of ``core.Skip``)."""

    artifact: str
    reason: str
    detail: str = ""


class FileRefs(NamedTuple):
    """A file that holds references (the artifact) and its references with their excerpts."""

    path: str
    size: int
    sha256: str
    format: str
    """A ``core.Format`` value: python, json, text, gguf, safetensors or onnx."""
    format_hint: str | None
    refs: tuple[tuple[Ref, str], ...]


class Outcome(NamedTuple):
    """Everything a discover run found and left out."""

    files: tuple[FileRefs, ...]
    skips: tuple[SkipRow, ...]
    analysed: int
    duration_s: float

    @property
    def partial(self) -> bool:
        """True when something could not be read or parsed."""
        return any(s.reason in ("unreadable", "too-large", "unparseable") for s in self.skips)

    @property
    def references(self) -> tuple[Ref, ...]:
        """Every reference, in file order."""
        return tuple(ref for f in self.files for ref, _ in f.refs)


def discover_tree(
    root: str | os.PathLike[str], options: DiscoverOptions, vocab: Vocabulary
) -> Outcome:
    """Walk ``root`` and return every reference found, with skips for what was left out."""
    start = time.monotonic()
    vendored: list[str] = []
    skips: list[SkipRow] = []
    files: list[FileRefs] = []
    analysed = docs = seen = 0
    for entry in walk(root, vendored, options.max_files):
        seen += 1
        if entry.kind is FileKind.DOC:
            docs += 1
            continue
        if entry.kind is FileKind.OTHER:
            continue
        try:
            found = _file(entry, options, vocab, skips)
        except OSError as exc:
            skips.append(SkipRow(entry.rel, "unreadable", str(exc)[:200]))
            continue
        if found is None:
            continue
        analysed += 1
        if found.refs:
            files.append(found)
    if seen >= options.max_files:
        skips.append(SkipRow(".", "too-many-files", f"stopped after {options.max_files} files"))
    skips.extend(
        SkipRow(v, "vendored", "third-party code: not the software's own references")
        for v in vendored
    )
    if docs:
        detail = f"{docs} documentation file(s) (.md, .rst, .txt) not read"
        skips.append(SkipRow("(documentation)", "documentation", detail))
    return Outcome(tuple(files), tuple(skips), analysed, time.monotonic() - start)


def _file(
    entry: Entry, options: DiscoverOptions, vocab: Vocabulary, skips: list[SkipRow]
) -> FileRefs | None:
    if entry.kind is FileKind.MAYBE_MODEL:
        return _model_file(entry, vocab, skips)
    if entry.size > options.max_source_bytes:
        skips.append(
            SkipRow(entry.rel, "too-large", f"{entry.size} bytes > {options.max_source_bytes}")
        )
        return None
    with open(entry.path, "rb") as fh:  # noqa: PTH123 (str paths: see walk.py)
        data = fh.read(options.max_source_bytes + 1)
    if b"\0" in data[:8192]:
        return None  # binary content under a text name: not source
    text = data.decode("utf-8", errors="replace")
    hint = entry.suffix or None
    if entry.kind is FileKind.NOTEBOOK:
        fmt = "json"
        hits, error = scan_notebook(vocab, data)
    elif entry.kind is FileKind.PYTHON:
        fmt = "python"
        hits, error = scan_python(vocab, text)
        if error:
            # NOTE: Python 2 or broken files still name models: fall back to the line scanner.
            hits = list(scan_lines(vocab, strip_comments(text, entry.syntax)))
    else:
        fmt = "json" if entry.suffix.lower() == ".json" else "text"
        hits, error = list(scan_lines(vocab, strip_comments(text, entry.syntax))), None
    if error:
        skips.append(SkipRow(entry.rel, "unparseable", f"{error} (lines scanned as text)"))
    if entry.kind is not FileKind.NOTEBOOK and any(h.model for h in hits):
        # A file that names models: its API-base keys point at where they are called.
        hits = [*hits, *keyed_endpoints(vocab, strip_comments(text, entry.syntax))]
    if not hits:
        return FileRefs(entry.rel, entry.size, _NO_DIGEST, fmt, hint, ())
    lines_of = text.splitlines()
    out = []
    for hit in _dedupe(attach_host(hits, vocab)):
        excerpt = ""
        if hit.cell is None and 1 <= hit.line <= len(lines_of):
            excerpt = lines_of[hit.line - 1].strip()[:200]
        out.append((resolve(vocab, hit, entry.rel), excerpt))
    digest = sha256_hex(data)
    return FileRefs(entry.rel, entry.size, digest, fmt, hint, tuple(out))


def _model_file(entry: Entry, vocab: Vocabulary, skips: list[SkipRow]) -> FileRefs | None:
    from pathlib import Path

    from modelcustoms.artifacts.blob import FileBlob
    from modelcustoms.engines.discover import model_files

    hint = entry.suffix or None
    suffix = entry.suffix.lower()
    with FileBlob(Path(entry.path)) as blob:
        head = blob.head(16)
        if head[:4] == _GGUF_MAGIC:
            from modelcustoms.engines.discover.gguf_files import scan_gguf

            fmt = "gguf"
            hits, error = scan_gguf(blob)
        elif suffix == ".safetensors" and model_files.looks_like_safetensors(head, blob.size):
            if model_files.is_secondary_shard(entry.rel):
                return None  # the first shard names the model once for all of them
            fmt = "safetensors"
            hits, error = model_files.scan_safetensors(blob, entry.path, entry.rel)
        elif suffix == ".onnx" and blob.size > 0:
            fmt = "onnx"
            hits, error = model_files.scan_onnx(blob, entry.path, entry.rel)
        else:
            return None
        if error:
            skips.append(SkipRow(entry.rel, "unparseable", error[:200]))
        if not hits:
            return FileRefs(entry.rel, entry.size, _NO_DIGEST, fmt, hint, ())
        digest = blob.sha256()
    refs = tuple((resolve(vocab, h, entry.rel), "") for h in _dedupe(hits))
    return FileRefs(entry.rel, entry.size, digest, fmt, hint, refs)


def _dedupe(hits: list[Hit]) -> list[Hit]:
    best: dict[tuple[int | None, int, str], Hit] = {}
    for h in hits:
        k = h.key()
        if k not in best or h.confidence > best[k].confidence:
            best[k] = h
    return sorted(best.values(), key=lambda h: (h.cell or 0, h.line, h.model or h.endpoint or ""))
