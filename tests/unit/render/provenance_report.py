"""A sample report with a provenance run: identity, origin and licence facts and a lineage chain."""

from __future__ import annotations

from modelcustoms.core import (
    ConfidenceLevel,
    Decision,
    EngineRun,
    EngineStatus,
    Evidence,
    Fact,
    LineageClaim,
    Location,
    Relation,
    Report,
    Verdict,
)
from tests.factories import SHA_C, sample_report

SHA_KB = "d" * 64


def _kb(pointer: str) -> Evidence:
    return Evidence(
        location=Location(artifact="kb/families.json", sha256=SHA_KB, pointer=pointer),
        excerpt="sources: https://huggingface.co/Qwen",
    )


def provenance_report(relation: Relation = Relation.FINETUNE) -> Report:
    """The sample report plus provenance: demo → acme/demo-base → qwen2.5 → qwen2."""
    config = Evidence(
        location=Location(artifact="config.json", sha256=SHA_C, pointer="/architectures"),
        excerpt="Qwen2ForCausalLM",
    )
    facts = (
        Fact(key="identity.family", value="qwen2.5", engine="provenance", evidence=(config,)),
        Fact(key="identity.family_name", value="Qwen2.5", engine="provenance", confidence=0.9),
        Fact(key="identity.relation", value=relation.value, engine="provenance"),
        Fact(key="origin.publisher", value="alibaba", engine="provenance"),
        Fact(key="origin.publisher_name", value="Alibaba Cloud", engine="provenance"),
        Fact(key="origin.country", value="CN", engine="provenance", evidence=(_kb("/alibaba"),)),
        Fact(
            key="license.declared",
            value="apache-2.0",
            engine="provenance",
            evidence=(
                Evidence(
                    location=Location(artifact="config.json", sha256=SHA_C, line=1),
                    excerpt="license: apache-2.0",
                ),
            ),
        ),
        Fact(
            key="architecture.signature",
            value={"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"},
            engine="provenance",
            evidence=(config,),
        ),
    )
    lineage = (
        LineageClaim(
            subject="models/demo",
            base="acme/demo-base",
            relation=relation,
            level=ConfidenceLevel.DECLARED,
            method="card base_model",
            publisher="acme",
            country="US",
        ),
        LineageClaim(
            subject="acme/demo-base",
            base="qwen2.5",
            relation=Relation.DERIVED,
            level=ConfidenceLevel.SIGNATURES,
            method="config-signature+tokenizer-hash",
            score=0.97,
            publisher="alibaba",
            country="CN",
            evidence=(config, _kb("/qwen2.5")),
        ),
        LineageClaim(
            subject="qwen2.5",
            base="qwen2",
            relation=Relation.CONTINUED_PRETRAINING,
            level=ConfidenceLevel.DECLARED,
            method="knowledge-base: documented base of the family",
            publisher="alibaba",
            country="CN",
            evidence=(_kb("/qwen2.5"),),
        ),
        LineageClaim(
            subject="models/demo",
            base="meta-llama/Llama-3.1-8B",
            relation=Relation.INDEPENDENT,
            level=ConfidenceLevel.WEIGHTS,
            method="weight-correlation",
            p_value=0.4,
        ),
    )
    run = EngineRun(
        engine="provenance",
        version="0.1.0",
        status=EngineStatus.OK,
        facts=facts,
        lineage=lineage,
        analysed=1,
        duration_s=0.1,
    )
    base = sample_report()
    return base.model_copy(update={"runs": (*base.runs, run)})


def deny_verdict(report: Report) -> Verdict:
    """A deny verdict for ``report``."""
    return Verdict(
        decision=Decision.DENY,
        fired_rules=("origin.covered-nation", "security.critical-finding"),
        reasons=("root publisher alibaba is domiciled in CN", "a critical finding"),
        report_digest=report.digest(),
        policy="enterprise-default",
    )
