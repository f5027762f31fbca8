"""The discover engine in the report model's types (what the pipeline and every renderer use)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
from modelcustoms.engines.discover import ENGINE, FACT_KEY
from modelcustoms.engines.discover.findings import RULES, finding_for
from modelcustoms.engines.discover.refs import Ref
from modelcustoms.engines.discover.scan import DiscoverOptions, discover_tree
from modelcustoms.engines.discover.vocab import Vocabulary, default_vocabulary
from modelcustoms.version import __version__


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
        outcome = discover_tree(root, self.options, self.vocab)
        facts: list[Fact] = []
        findings: list[Finding] = []
        artifacts: list[Artifact] = []
        refs: list[ModelReference] = []
        for f in outcome.files:
            artifacts.append(
                Artifact(
                    path=f.path,
                    size=f.size,
                    sha256=f.sha256,
                    format=Format(f.format),
                    format_hint=f.format_hint,
                )
            )
            for ref, excerpt in f.refs:
                model_ref = ModelReference.model_validate(ref.as_dict())
                refs.append(model_ref)
                evidence = _evidence(ref, f.sha256, excerpt)
                facts.append(
                    Fact(
                        key=FACT_KEY,
                        value=model_ref.model_dump(mode="json"),
                        engine=ENGINE,
                        evidence=(evidence,),
                        confidence=ref.confidence,
                    )
                )
                findings.append(finding_for(ref, evidence, ENGINE, ref.confidence))
        used = {f.rule_id for f in findings}
        run = EngineRun(
            engine=ENGINE,
            version=__version__,
            status=EngineStatus.PARTIAL if outcome.partial else EngineStatus.OK,
            findings=tuple(findings),
            facts=tuple(facts),
            skips=tuple(
                Skip(artifact=s.artifact, reason=s.reason, detail=s.detail) for s in outcome.skips
            ),
            rules=tuple(r for r in RULES if r.id in used),
            analysed=outcome.analysed,
            duration_s=outcome.duration_s,
        )
        return DiscoverResult(run=run, artifacts=tuple(artifacts), references=tuple(refs))


def _evidence(ref: Ref, digest: str, excerpt: str) -> Evidence:
    pointer = f"cell {ref.cell}" if ref.cell is not None else None
    return Evidence(
        location=Location(artifact=ref.file, sha256=digest, line=ref.line, pointer=pointer),
        excerpt=excerpt or None,
    )
