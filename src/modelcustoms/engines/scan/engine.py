"""The scan engine: hash each artifact, sniff its format, run the analyzers for it, recurse.

One pass per file: small files are read once into memory and both hashed and parsed from that
single read; large files are hashed in one sequential pass and parsed through bounded ``pread``
calls on the same descriptor, and the file's identity (size, mtime, inode) is checked after the
analysis so that a file swapped mid-scan is reported instead of silently mis-bound.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from modelcustoms.artifacts.blob import Blob, BytesBlob, FileBlob, Opener, SpooledBlob
from modelcustoms.artifacts.sniff import hint_of, sniff
from modelcustoms.core import (
    Artifact,
    EngineRun,
    EngineStatus,
    Finding,
    Format,
    Rule,
    Severity,
    Skip,
)
from modelcustoms.engines.scan.base import ENGINE, Analyzer, Result, ScanContext, ScanOptions
from modelcustoms.engines.scan.registry import analyzers_for, builtin_analyzers
from modelcustoms.version import __version__

ENGINE_RULES: tuple[Rule, ...] = (
    Rule(
        id="scan.analyzer-error",
        title="Analyzer failed on this artifact",
        severity=Severity.HIGH,
        help="The analyzer could not finish, so the artifact is NOT verified as safe. Parsers of "
        "real loaders may accept what ours rejected; treat the file as untrusted.",
    ),
    Rule(
        id="scan.nothing-analyzed",
        title="Nothing was analysed",
        severity=Severity.HIGH,
        help="No artifact in a supported format was found. A scan that analysed nothing is not a "
        "pass: check the path, or the skips for why files were not analysed.",
    ),
    Rule(
        id="scan.changed-during-scan",
        title="File changed while it was being scanned",
        severity=Severity.HIGH,
        help="The file's size, modification time or inode changed during the scan, so the "
        "analysis cannot be bound to one version of its bytes. Scan it again at rest.",
    ),
    Rule(
        id="scan.unreadable",
        title="File could not be read",
        severity=Severity.MEDIUM,
        help="The file could not be opened or read (permissions, I/O error); it is not verified.",
    ),
    Rule(
        id="archive.too-deep",
        title="Containers nested too deeply",
        severity=Severity.HIGH,
        help="Containers are nested deeper than the configured limit; deeper members were not "
        "analysed. Deep nesting is a known way to hide payloads from scanners.",
    ),
    Rule(
        id="archive.bomb",
        title="Decompression bomb",
        severity=Severity.HIGH,
        help="A member decompresses beyond the size, ratio or count limits. The rest was not "
        "analysed; loaders that extract it may exhaust memory or disk.",
    ),
)


@dataclass(slots=True)
class _Budget:
    """Per top-level artifact: bytes and members taken out of containers so far."""

    total_bytes: int = 0
    members: int = 0
    artifacts: list[Artifact] = field(default_factory=list)
    analysed: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What the scan engine returns: its run, and every artifact it hashed."""

    run: EngineRun
    artifacts: tuple[Artifact, ...]


class ScanEngine:
    """Scans a set of inputs with the registered analyzers."""

    name = ENGINE

    def __init__(
        self, options: ScanOptions | None = None, analyzers: Sequence[Analyzer] | None = None
    ) -> None:
        self.options = options or ScanOptions()
        self.analyzers = tuple(analyzers) if analyzers is not None else builtin_analyzers()
        rules: dict[str, Rule] = {r.id: r for r in ENGINE_RULES}
        for a in self.analyzers:
            for r in a.rules:
                rules[r.id] = r
        self.rules = rules
        self._lock = threading.Lock()

    def run(self, inputs: Sequence[Opener]) -> ScanResult:
        """Scan every input (files in parallel) and return the run and the artifacts."""
        started = time.perf_counter()
        jobs = self.options.jobs or os.cpu_count() or 1
        if jobs == 1 or len(inputs) <= 1:
            per_input = [self._scan_top(i) for i in inputs]
        else:
            with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="scan") as pool:
                per_input = list(pool.map(self._scan_top, inputs))
        results: list[Result] = []
        artifacts: list[Artifact] = []
        analysed = errors = 0
        for budget, res in per_input:
            results.extend(res)
            artifacts.extend(budget.artifacts)
            analysed += budget.analysed
            errors += budget.errors
        findings = [r for r in results if isinstance(r, Finding)]
        skips = [r for r in results if isinstance(r, Skip)]
        facts = [r for r in results if not isinstance(r, Finding | Skip)]
        if analysed == 0:
            findings.append(
                Finding(
                    rule_id="scan.nothing-analyzed",
                    severity=Severity.HIGH,
                    engine=ENGINE,
                    message=f"none of the {len(inputs)} input file(s) was in a format the scanner "
                    "analyses; this is not a clean result",
                )
            )
        if errors:
            status = EngineStatus.PARTIAL if analysed else EngineStatus.ERROR
        elif any(s.reason not in _BENIGN_SKIPS for s in skips):
            status = EngineStatus.PARTIAL
        else:
            status = EngineStatus.OK
        used = {f.rule_id for f in findings}
        run = EngineRun(
            engine=ENGINE,
            version=__version__,
            status=status,
            findings=tuple(sorted(findings, key=_finding_key)),
            facts=tuple(facts),
            skips=tuple(skips),
            rules=tuple(self.rules[r] for r in sorted(used)),
            analysed=analysed,
            duration_s=round(time.perf_counter() - started, 6),
        )
        return ScanResult(run=run, artifacts=tuple(artifacts))

    # -- one top-level input -------------------------------------------------------------

    def _scan_top(self, opener: Opener) -> tuple[_Budget, list[Result]]:
        budget = _Budget()
        try:
            blob: Blob = opener.open()
        except OSError as exc:
            return budget, [Skip(artifact=opener.path, reason="unreadable", detail=str(exc))]
        try:
            out: list[Result] = []
            if blob.size <= self.options.in_memory_limit:
                data = blob.all(self.options.in_memory_limit)
                blob.close()
                blob = BytesBlob(data)
                digest = hashlib.sha256(data).hexdigest()
            else:
                digest = blob.sha256()
            ctx = self._context(opener.path, blob, digest, None, 0, budget)
            out.extend(self._analyze(ctx, budget))
            if isinstance(blob, FileBlob) and not blob.unchanged():
                out.append(ctx.finding("scan.changed-during-scan", "file changed during the scan"))
            return budget, out
        except OSError as exc:
            budget.errors += 1
            # NOTE: sources may name the reason (a remote weight file is "not-downloaded" unless
            # asked); reading it by attribute keeps the engine free of HTTP imports.
            reason = str(getattr(exc, "skip_reason", "unreadable"))
            return budget, [Skip(artifact=opener.path, reason=reason, detail=str(exc))]
        finally:
            blob.close()

    def _context(
        self,
        path: str,
        blob: Blob,
        digest: str,
        parent: str | None,
        depth: int,
        budget: _Budget,
    ) -> ScanContext:
        hint = hint_of(path.rsplit("!", 1)[-1])
        fmt = sniff(blob, hint)
        artifact = Artifact(
            path=path,
            size=blob.size,
            sha256=digest,
            format=fmt,
            format_hint=hint,
            parent=parent,
        )
        budget.artifacts.append(artifact)

        def submit(
            pctx: ScanContext, name: str, chunks: Iterable[bytes], mhint: str | None
        ) -> list[Result]:
            return self._member(pctx, name, chunks, budget)

        return ScanContext(
            artifact=artifact,
            blob=blob,
            options=self.options,
            depth=depth,
            rules=self.rules,
            _submit=submit,
        )

    def _analyze(self, ctx: ScanContext, budget: _Budget) -> list[Result]:
        fmt = ctx.artifact.format
        chosen = analyzers_for(self.analyzers, fmt)
        if not chosen:
            reason = "unsupported-format" if fmt is Format.UNKNOWN else "no-analyzer"
            return [ctx.skip(reason, f"format {fmt.value} is not analysed")]
        out: list[Result] = []
        ok = False
        for analyzer in chosen:
            try:
                out.extend(analyzer.analyze(ctx))
                ok = True
            except RecursionError:
                budget.errors += 1
                out.append(
                    ctx.finding(
                        "scan.analyzer-error",
                        f"{analyzer.name}: structure nested too deeply to analyse",
                    )
                )
            except Exception as exc:
                budget.errors += 1
                out.append(
                    ctx.finding(
                        "scan.analyzer-error",
                        f"{analyzer.name} failed: {type(exc).__name__}: {exc}",
                    )
                )
        if ok:
            budget.analysed += 1
        return out

    def _member(
        self, pctx: ScanContext, name: str, chunks: Iterable[bytes], budget: _Budget
    ) -> list[Result]:
        opts = self.options
        path = f"{pctx.artifact.path}!{name}"
        if pctx.depth + 1 > opts.max_depth:
            return [
                pctx.finding(
                    "archive.too-deep",
                    f"member {name!r} is nested deeper than {opts.max_depth} containers",
                    pointer=f"member {name}",
                )
            ]
        budget.members += 1
        if budget.members > opts.max_members:
            if budget.members == opts.max_members + 1:
                return [
                    pctx.finding(
                        "archive.bomb",
                        f"more than {opts.max_members} members in containers; rest not analysed",
                    )
                ]
            return []
        h = hashlib.sha256()
        size = 0
        mem = bytearray()
        spill: tempfile._TemporaryFileWrapper[bytes] | None = None
        limit = min(opts.max_member_bytes, opts.max_total_bytes - budget.total_bytes)
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    budget.total_bytes += size
                    return [
                        pctx.finding(
                            "archive.bomb",
                            f"member {name!r} decompresses past the limit of {limit} bytes",
                            pointer=f"member {name}",
                        )
                    ]
                h.update(chunk)
                if spill is not None:
                    spill.write(chunk)
                else:
                    mem += chunk
                    if len(mem) > opts.in_memory_limit:
                        spill = tempfile.NamedTemporaryFile(prefix="customs-", delete=True)  # noqa: SIM115
                        spill.write(mem)
                        mem = bytearray()
            budget.total_bytes += size
            blob: Blob
            if spill is not None:
                spill.flush()
                blob = SpooledBlob(spill.file, size)
            else:
                blob = BytesBlob(bytes(mem))
            ctx = self._context(
                path, blob, h.hexdigest(), pctx.artifact.path, pctx.depth + 1, budget
            )
            return self._analyze(ctx, budget)
        finally:
            if spill is not None:
                spill.close()


_BENIGN_SKIPS = frozenset({"unsupported-format", "no-analyzer", "not-applicable"})


def _finding_key(f: Finding) -> tuple[int, str, str, str]:
    loc = f.evidence[0].location.artifact if f.evidence else ""
    return (-f.severity.rank, loc, f.rule_id, f.message)
