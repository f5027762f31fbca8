"""Hand-built reports for policy tests: a subject, engines, facts, findings and lineage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from modelcustoms.core import (
    Artifact,
    ConfidenceLevel,
    EngineRun,
    EngineStatus,
    Fact,
    Finding,
    Format,
    LineageClaim,
    Relation,
    Report,
    Severity,
    Skip,
    Subject,
    SubjectKind,
    ToolInfo,
)

SHA_MODEL = "1" * 64
SHA_CONFIG = "2" * 64


def origin(country: str, parent: str | None = None, **extra: Any) -> dict[str, Any]:
    """Origin facts as the provenance engine writes them."""
    facts: dict[str, Any] = {
        "origin.publisher": "pub",
        "origin.publisher_name": f"Publisher in {country}",
        "origin.country": country,
        "origin.ultimate_parent_country": parent or country,
        "origin.foreign_adversary_nexus": False,
        "origin.watchlists": [],
        "origin.listed": False,
        "origin.chain_countries": [country],
    }
    facts.update({f"origin.{k}": v for k, v in extra.items()})
    return facts


def license_row(lic_id: str, commercial: str = "yes", **terms: Any) -> dict[str, Any]:
    """One ``license.family_candidates`` row."""
    return {"id": lic_id, "name": lic_id.upper(), "commercial_use": commercial, **terms}


def suite(name: str, delta: float, low: float, high: float) -> dict[str, Any]:
    """One ``audit.suites`` row."""
    return {
        "suite": name,
        "pass_rate": 0.8,
        "ci_low": 0.75,
        "ci_high": 0.85,
        "delta": delta,
        "delta_ci_low": low,
        "delta_ci_high": high,
    }


def make_report(
    *,
    facts: Mapping[str, Any] | None = None,
    findings: Iterable[tuple[str, Severity]] = (),
    lineage: Iterable[tuple[str, str | None]] = (),
    kind: SubjectKind = SubjectKind.PATH,
    name: str = "acme/model",
    scan: EngineStatus | None = EngineStatus.OK,
    provenance: EngineStatus | None = EngineStatus.OK,
    audit: EngineStatus | None = None,
    audit_facts: Mapping[str, Any] | None = None,
    skips: Iterable[str] = (),
    analysed: int = 2,
) -> Report:
    """A report with the given facts (all from provenance), findings (scan) and lineage."""
    artifacts = (
        Artifact(path="model.safetensors", size=10, sha256=SHA_MODEL, format=Format.SAFETENSORS),
        Artifact(path="config.json", size=5, sha256=SHA_CONFIG, format=Format.JSON),
    )
    runs: list[EngineRun] = []
    if scan is not None:
        runs.append(
            EngineRun(
                engine="scan",
                version="0.1.0",
                status=scan,
                analysed=analysed,
                findings=tuple(
                    Finding(rule_id=rid, severity=sev, engine="scan", message=f"{rid} seen")
                    for rid, sev in findings
                ),
                skips=tuple(Skip(artifact=a, reason="unsupported-format") for a in skips),
            )
        )
    if provenance is not None:
        runs.append(
            EngineRun(
                engine="provenance",
                version="0.1.0",
                status=provenance,
                analysed=analysed,
                facts=tuple(
                    Fact(key=k, value=v, engine="provenance") for k, v in (facts or {}).items()
                ),
                lineage=tuple(
                    LineageClaim(
                        subject=name,
                        base=base,
                        relation=Relation.FINETUNE,
                        level=ConfidenceLevel.SIGNATURES,
                        method="test",
                        country=country,
                    )
                    for base, country in lineage
                ),
            )
        )
    if audit is not None:
        runs.append(
            EngineRun(
                engine="audit",
                version="0.1.0",
                status=audit,
                analysed=1,
                facts=tuple(
                    Fact(key=k, value=v, engine="audit") for k, v in (audit_facts or {}).items()
                ),
            )
        )
    return Report(
        tool=ToolInfo(version="0.1.0"),
        created_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        subject=Subject(kind=kind, ref=name, name=name),
        artifacts=artifacts if kind is not SubjectKind.ENDPOINT else (),
        runs=tuple(runs),
    )


def clean_facts() -> dict[str, Any]:
    """A US publisher with an Apache-2.0 licence: nothing for any profile to object to."""
    return {
        **origin("US"),
        "license.declared": "apache-2.0",
        "license.family_candidates": [license_row("apache-2.0")],
    }
