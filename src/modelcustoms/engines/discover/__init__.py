"""Discover engine: every model a codebase (or a disk tree) uses, with where it comes from.

It reads source files, configs, notebooks and manifests as text (never importing or running
them) and GGUF headers of model files, and emits one ``discover.reference`` fact per reference
with file:line evidence, publisher and country, host operator and country, and lineage.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from modelcustoms.artifacts.blob import FileBlob
from modelcustoms.core import (
    Artifact,
    EngineRun,
    EngineStatus,
    Evidence,
    Fact,
    Finding,
    Format,
    Location,
    Skip,
)
from modelcustoms.core.references import ModelReference
from modelcustoms.engines.discover.findings import RULES, finding_for
from modelcustoms.engines.discover.gguf_files import scan_gguf
from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.notebooks import scan_notebook
from modelcustoms.engines.discover.python_ast import scan_python
from modelcustoms.engines.discover.resolve import resolve
from modelcustoms.engines.discover.text import attach_host, scan_lines, strip_comments
from modelcustoms.engines.discover.vocab import Vocabulary, default_vocabulary
from modelcustoms.engines.discover.walk import Entry, FileKind, walk
from modelcustoms.version import __version__

ENGINE = "discover"
FACT_KEY = "discover.reference"

__all__ = [
    "ENGINE",
    "FACT_KEY",
    "RULES",
    "DiscoverEngine",
    "DiscoverOptions",
    "DiscoverResult",
]

_GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True, slots=True)
class DiscoverOptions:
    """Limits of a discover run."""

    max_source_bytes: int = 2 * 1024 * 1024
    """Source and config files larger than this are skipped (``too-large``)."""
    max_files: int = 2_000_000


@dataclass(frozen=True, slots=True)
class DiscoverResult:
    """The engine run and the artifacts that hold references."""

    run: EngineRun
    artifacts: tuple[Artifact, ...] = ()
    references: tuple[ModelReference, ...] = field(default=())


class DiscoverEngine:
    """Find model references under a path."""

    name = ENGINE

    def __init__(self, options: DiscoverOptions | None = None, vocab: Vocabulary | None = None):
        self.options = options or DiscoverOptions()
        self.vocab = vocab or default_vocabulary()

    def run(self, root: Path) -> DiscoverResult:
        """Walk ``root`` and return every reference found, with skips for what was left out."""
        start = time.monotonic()
        vendored: list[str] = []
        skips: list[Skip] = []
        facts: list[Fact] = []
        findings: list[Finding] = []
        artifacts: list[Artifact] = []
        refs: list[ModelReference] = []
        analysed = docs = seen = 0
        for entry in walk(root, vendored, self.options.max_files):
            seen += 1
            if entry.kind is FileKind.DOC:
                docs += 1
                continue
            if entry.kind is FileKind.OTHER:
                continue
            try:
                outcome = self._file(entry, skips)
            except OSError as exc:
                skips.append(Skip(artifact=entry.rel, reason="unreadable", detail=str(exc)[:200]))
                continue
            if outcome is None:
                continue
            analysed += 1
            hits, digest, fmt = outcome
            if not hits:
                continue
            artifacts.append(
                Artifact(
                    path=entry.rel,
                    size=entry.size,
                    sha256=digest,
                    format=fmt,
                    format_hint=entry.path.suffix or None,
                )
            )
            for ref, excerpt in hits:
                refs.append(ref)
                evidence = _evidence(ref, digest, excerpt)
                facts.append(_fact(ref, evidence))
                findings.append(finding_for(ref, evidence, ENGINE))
        if seen >= self.options.max_files:
            skips.append(
                Skip(
                    artifact=".",
                    reason="too-many-files",
                    detail=f"stopped after {self.options.max_files} files",
                )
            )
        skips.extend(
            Skip(
                artifact=v,
                reason="vendored",
                detail="third-party code: not the software's own references",
            )
            for v in vendored
        )
        if docs:
            skips.append(
                Skip(
                    artifact="(documentation)",
                    reason="documentation",
                    detail=f"{docs} documentation file(s) (.md, .rst, .txt) not read",
                )
            )
        problems = any(s.reason in ("unreadable", "too-large", "unparseable") for s in skips)
        run = EngineRun(
            engine=ENGINE,
            version=__version__,
            status=EngineStatus.PARTIAL if problems else EngineStatus.OK,
            findings=tuple(findings),
            facts=tuple(facts),
            skips=tuple(skips),
            rules=tuple(r for r in RULES if r.id in {f.rule_id for f in findings}),
            analysed=analysed,
            duration_s=time.monotonic() - start,
        )
        return DiscoverResult(run=run, artifacts=tuple(artifacts), references=tuple(refs))

    def _file(
        self, entry: Entry, skips: list[Skip]
    ) -> tuple[list[tuple[ModelReference, str]], str, Format] | None:
        if entry.kind is FileKind.MAYBE_MODEL:
            return self._model_file(entry, skips)
        if entry.size > self.options.max_source_bytes:
            skips.append(
                Skip(
                    artifact=entry.rel,
                    reason="too-large",
                    detail=f"{entry.size} bytes > {self.options.max_source_bytes}",
                )
            )
            return None
        data = entry.path.read_bytes()[: self.options.max_source_bytes + 1]
        if b"\0" in data[:8192]:
            return None  # binary content under a text name: not source
        text = data.decode("utf-8", errors="replace")
        fmt = Format.TEXT
        if entry.kind is FileKind.NOTEBOOK:
            fmt = Format.JSON
            hits, error = scan_notebook(self.vocab, data)
        elif entry.kind is FileKind.PYTHON:
            fmt = Format.PYTHON
            hits, error = scan_python(self.vocab, text)
            if error:
                # NOTE: Python 2 or broken files still name models: fall back to the line scanner.
                hits = list(scan_lines(self.vocab, strip_comments(text, entry.syntax)))
        else:
            fmt = Format.JSON if entry.path.suffix.lower() == ".json" else Format.TEXT
            lines = strip_comments(text, entry.syntax)
            hits, error = list(scan_lines(self.vocab, lines)), None
        if error:
            skips.append(
                Skip(
                    artifact=entry.rel,
                    reason="unparseable",
                    detail=f"{error} (lines scanned as text)",
                )
            )
        if not hits:
            return [], "0" * 64, fmt
        lines_of = text.splitlines()
        out = []
        for hit in _dedupe(attach_host(hits, self.vocab)):
            ref = resolve(self.vocab, hit, entry.rel)
            excerpt = ""
            if hit.cell is None and 1 <= hit.line <= len(lines_of):
                excerpt = lines_of[hit.line - 1].strip()[:200]
            out.append((ref, excerpt))
        return out, hashlib.sha256(data).hexdigest(), fmt

    def _model_file(
        self, entry: Entry, skips: list[Skip]
    ) -> tuple[list[tuple[ModelReference, str]], str, Format] | None:
        with FileBlob(entry.path) as blob:
            if blob.head(4) != _GGUF_MAGIC:
                return None
            hits, error = scan_gguf(blob)
            if error:
                skips.append(Skip(artifact=entry.rel, reason="unparseable", detail=error[:200]))
            if not hits:
                return [], "0" * 64, Format.GGUF
            digest = blob.sha256()
        refs = [(resolve(self.vocab, h, entry.rel), "") for h in _dedupe(hits)]
        return refs, digest, Format.GGUF


def _dedupe(hits: list[Hit]) -> list[Hit]:
    best: dict[tuple[int | None, int, str], Hit] = {}
    for h in hits:
        k = h.key()
        if k not in best or h.confidence > best[k].confidence:
            best[k] = h
    return sorted(best.values(), key=lambda h: (h.cell or 0, h.line, h.model or h.endpoint or ""))


def _evidence(ref: ModelReference, digest: str, excerpt: str) -> Evidence:
    pointer = f"cell {ref.cell}" if ref.cell is not None else None
    return Evidence(
        location=Location(artifact=ref.file, sha256=digest, line=ref.line, pointer=pointer),
        excerpt=excerpt or None,
    )


def _fact(ref: ModelReference, evidence: Evidence) -> Fact:
    return Fact(
        key=FACT_KEY,
        value=ref.model_dump(mode="json"),
        engine=ENGINE,
        evidence=(evidence,),
        confidence=ref.confidence,
    )
