"""The analyzer extension point of the scan engine.

An :class:`Analyzer` reads one artifact (already hashed, format already sniffed) through a
bounded :class:`~modelcustoms.artifacts.blob.Blob` and yields findings, facts and skips built
with the :class:`ScanContext` helpers, so that every result is bound to the artifact's digest.
Containers hand their members back to the engine with :meth:`ScanContext.member`; the engine
hashes, sniffs and analyses them recursively under the limits of :class:`ScanOptions`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from modelcustoms.artifacts.blob import Blob
from modelcustoms.core import (
    Artifact,
    Evidence,
    Fact,
    Finding,
    Format,
    Location,
    Rule,
    Severity,
    Skip,
)
from modelcustoms.errors import EngineError

ENGINE = "scan"

Result = Finding | Fact | Skip
"""What analyzers yield."""


class AnalyzerError(EngineError):
    """Base of errors an analyzer raises on purpose; the engine turns them into findings."""


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Limits and switches of a scan. Frozen and passed down; there is no global config."""

    max_depth: int = 8
    """Deepest nesting of containers (zip in tar in 7z ...) that is opened."""
    max_members: int = 100_000
    """Most members read from one container."""
    max_total_bytes: int = 16 * 1024**3
    """Most bytes decompressed from all containers of one top-level artifact."""
    max_member_bytes: int = 4 * 1024**3
    """Largest single decompressed member."""
    max_ratio: float = 250.0
    """Largest compression ratio accepted for a member larger than ``ratio_floor`` bytes."""
    ratio_floor: int = 16 * 1024**2
    in_memory_limit: int = 64 * 1024**2
    """Members and files up to this size are analysed from memory; larger ones from disk."""
    max_pickle_ops: int = 20_000_000
    """Most pickle opcodes interpreted in one artifact."""
    render_templates: bool = True
    """Render chat templates in a Jinja sandbox (in a subprocess with a time limit)."""
    template_timeout_s: float = 5.0
    jobs: int = 0
    """Worker threads for top-level files (0: one per CPU)."""


@dataclass(slots=True)
class ScanContext:
    """What an analyzer sees of the engine: the artifact, its bytes, and result builders."""

    artifact: Artifact
    blob: Blob
    options: ScanOptions
    depth: int
    rules: dict[str, Rule]
    _submit: Callable[[ScanContext, str, Iterable[bytes], str | None], list[Result]]

    def location(
        self, pointer: str | None = None, *, offset: int | None = None, line: int | None = None
    ) -> Location:
        """A location inside this artifact."""
        return Location(
            artifact=self.artifact.path,
            sha256=self.artifact.sha256,
            pointer=pointer,
            offset=offset,
            line=line,
        )

    def finding(
        self,
        rule_id: str,
        message: str,
        *,
        pointer: str | None = None,
        offset: int | None = None,
        line: int | None = None,
        excerpt: str | None = None,
        severity: Severity | None = None,
        confidence: float = 1.0,
    ) -> Finding:
        """A finding of rule ``rule_id`` bound to this artifact. Unknown rule ids are a bug."""
        rule = self.rules.get(rule_id)
        if rule is None:
            msg = f"analyzer used undeclared rule id {rule_id!r}"
            raise KeyError(msg)
        ev = Evidence(
            location=self.location(pointer, offset=offset, line=line),
            excerpt=_clip(excerpt),
        )
        return Finding(
            rule_id=rule_id,
            severity=severity or rule.severity,
            engine=ENGINE,
            message=message,
            evidence=(ev,),
            confidence=confidence,
        )

    def fact(
        self, key: str, value: object, *, pointer: str | None = None, confidence: float = 1.0
    ) -> Fact:
        """A fact about this artifact."""
        return Fact(
            key=key,
            value=value,
            engine=ENGINE,
            evidence=(Evidence(location=self.location(pointer)),),
            confidence=confidence,
        )

    def skip(self, reason: str, detail: str = "") -> Skip:
        """Record that (part of) this artifact was not analysed, and why."""
        return Skip(artifact=self.artifact.path, reason=reason, detail=detail)

    def member(
        self, name: str, chunks: Iterable[bytes] | bytes, *, hint: str | None = None
    ) -> list[Result]:
        """Hand a container member to the engine: it is hashed, sniffed and analysed recursively.

        ``chunks`` is consumed lazily so the engine can stop a decompression bomb early.
        The returned results (including those of deeper members) must be yielded by the caller.
        """
        data: Iterable[bytes] = (chunks,) if isinstance(chunks, bytes) else chunks
        return self._submit(self, name, data, hint)


class Analyzer(ABC):
    """Reads one format. Subclasses declare their metadata as class attributes."""

    name: ClassVar[str]
    """Short unique name, e.g. ``pickle``."""
    formats: ClassVar[frozenset[Format]]
    """Formats this analyzer reads (the engine dispatches on the sniffed format)."""
    rules: ClassVar[tuple[Rule, ...]]
    """Every rule id this analyzer may emit."""

    @abstractmethod
    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        """Yield findings, facts and skips about ``ctx.artifact``; never raise on hostile input.

        Raising is allowed only for bugs; the engine still converts any exception into an
        ``scan.analyzer-error`` finding so that a crash can never read as "clean".
        """


def _clip(text: str | None, limit: int = 400) -> str | None:
    if text is None:
        return None
    printable = "".join(
        ch if ch.isprintable() or ch in "\n\t" else f"\\x{ord(ch):02x}" for ch in text
    )
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"
