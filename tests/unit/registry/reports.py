"""Report documents for registry tests and the load benchmark: varied, valid, deterministic.

``model_report`` builds a report of a hub model with identity, origin and lineage facts, a
verdict, and optionally findings; ``repo_report`` builds a discover report of a repository.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from modelcustoms.core import (
    Artifact,
    ConfidenceLevel,
    Decision,
    EngineRun,
    EngineStatus,
    Evidence,
    Fact,
    Finding,
    Format,
    LineageClaim,
    Location,
    Relation,
    Report,
    ReportDocument,
    Severity,
    Subject,
    SubjectKind,
    ToolInfo,
    Verdict,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

FAMILIES = {
    "qwen2.5": ("alibaba", "CN"),
    "llama3": ("meta", "US"),
    "mistral": ("mistral-ai", "FR"),
    "deepseek-v3": ("deepseek", "CN"),
    "gemma3": ("google", "US"),
}


def sha(*parts: object) -> str:
    """A deterministic sha256 of the parts."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def model_report(
    name: str = "acme/chat-7b",
    *,
    family: str = "qwen2.5",
    revision: str = "r1",
    decision: Decision | None = Decision.ALLOW,
    findings: tuple[str, ...] = (),
    weights: str | None = None,
    created: datetime | None = None,
    base: str | None = None,
) -> ReportDocument:
    """A hub model's report: ``findings`` are rule ids (high severity) on the weights file."""
    publisher, country = FAMILIES[family]
    digest = weights or sha(name, revision, "weights")
    cfg = sha(name, revision, "config")
    arts = (
        Artifact(path="model.safetensors", size=1000, sha256=digest, format=Format.SAFETENSORS),
        Artifact(path="config.json", size=100, sha256=cfg, format=Format.JSON),
    )
    ev = (Evidence(location=Location(artifact="model.safetensors", sha256=digest)),)
    found = tuple(
        Finding(rule_id=r, severity=Severity.HIGH, engine="scan", message=f"{r} here", evidence=ev)
        for r in findings
    )
    facts = (
        Fact(key="identity.family", value=family, engine="provenance"),
        Fact(key="origin.publisher", value=publisher, engine="provenance"),
        Fact(key="origin.country", value=country, engine="provenance"),
        Fact(key="origin.chain_countries", value=[country], engine="provenance"),
    )
    lineage = (
        LineageClaim(
            subject=name,
            base=base or f"{publisher}/{family}-base",
            relation=Relation.FINETUNE,
            level=ConfidenceLevel.SIGNATURES,
            method="config-signature+tokenizer-hash",
            publisher=publisher,
            country=country,
        ),
        LineageClaim(
            subject=base or f"{publisher}/{family}-base",
            base=family,
            relation=Relation.SAME,
            level=ConfidenceLevel.DECLARED,
            method="knowledge base",
            publisher=publisher,
            country=country,
        ),
    )
    report = Report(
        tool=ToolInfo(version="0.1.0"),
        created_at=created or T0,
        subject=Subject(
            kind=SubjectKind.HUGGINGFACE, ref=f"hf:{name}@{revision}", name=name, revision=revision
        ),
        artifacts=arts,
        runs=(
            EngineRun(
                engine="scan", version="1", status=EngineStatus.OK, findings=found, analysed=2
            ),
            EngineRun(
                engine="provenance",
                version="1",
                status=EngineStatus.OK,
                facts=facts,
                lineage=lineage,
                analysed=1,
            ),
        ),
    )
    verdict = None
    if decision is not None:
        verdict = Verdict(
            decision=decision,
            fired_rules=findings,
            reasons=("test",),
            report_digest=report.digest(),
            policy="enterprise-default",
        )
    return ReportDocument.of(report, verdict)


def repo_report(
    name: str = "shop-backend", models: tuple[str, ...] = ("acme/chat-7b",)
) -> ReportDocument:
    """A discover report of a repository naming ``models``."""
    facts = tuple(
        Fact(
            key="discover.reference",
            value={
                "kind": "hf-model",
                "model": m,
                "file": "app/llm.py",
                "line": 10 + i,
                "publisher": "alibaba",
                "publisher_country": "CN",
                "confidence": 0.9,
                "via": "literal",
                "lineage": [],
            },
            engine="discover",
            evidence=(
                Evidence(location=Location(artifact="app/llm.py", sha256=sha(name), line=10 + i)),
            ),
        )
        for i, m in enumerate(models)
    )
    report = Report(
        tool=ToolInfo(version="0.1.0"),
        created_at=T0 + timedelta(hours=1),
        subject=Subject(kind=SubjectKind.PATH, ref=f"/src/{name}", name=name),
        artifacts=(Artifact(path="app/llm.py", size=10, sha256=sha(name), format=Format.PYTHON),),
        runs=(
            EngineRun(
                engine="discover", version="1", status=EngineStatus.OK, facts=facts, analysed=1
            ),
        ),
    )
    return ReportDocument.of(report)
