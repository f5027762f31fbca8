"""Hand-built reports for renderer and policy tests (deterministic: fixed time and durations)."""

from __future__ import annotations

from datetime import UTC, datetime

from modelcustoms.core import (
    Artifact,
    EngineRun,
    EngineStatus,
    Evidence,
    Fact,
    Finding,
    Format,
    Location,
    Report,
    Rule,
    Severity,
    Skip,
    Subject,
    SubjectKind,
    ToolInfo,
)

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA_C = "c" * 64

RULE_DANGER = Rule(
    id="pickle.dangerous-import",
    title="Pickle imports a dangerous callable",
    severity=Severity.CRITICAL,
    help="Loading this pickle calls a function that can run commands.",
    references=("https://docs.python.org/3/library/pickle.html",),
)
RULE_SECRET = Rule(
    id="secrets.credential",
    title="Credential in a repository file",
    severity=Severity.HIGH,
    help="A token or key was found in a text file.",
)


def sample_report() -> Report:
    """A report with a nested member, findings of two severities, a fact and a skip."""
    artifacts = (
        Artifact(
            path="model.pt", size=1234, sha256=SHA_A, format=Format.PYTORCH_ZIP, format_hint=".pt"
        ),
        Artifact(
            path="model.pt!archive/data.pkl",
            size=200,
            sha256=SHA_B,
            format=Format.PICKLE,
            format_hint=".pkl",
            parent="model.pt",
        ),
        Artifact(
            path="config.json", size=42, sha256=SHA_C, format=Format.JSON, format_hint=".json"
        ),
    )
    findings = (
        Finding(
            rule_id="pickle.dangerous-import",
            severity=Severity.CRITICAL,
            engine="scan",
            message="imports os.system and calls it",
            evidence=(
                Evidence(
                    location=Location(
                        artifact="model.pt!archive/data.pkl",
                        sha256=SHA_B,
                        pointer="opcode STACK_GLOBAL @12",
                        offset=12,
                    ),
                    excerpt="os.system",
                ),
            ),
        ),
        Finding(
            rule_id="secrets.credential",
            severity=Severity.HIGH,
            engine="scan",
            message="Hugging Face token",
            evidence=(
                Evidence(
                    location=Location(artifact="config.json", sha256=SHA_C, line=3),
                    excerpt="hf_A… (37 chars)",
                ),
            ),
            confidence=0.9,
        ),
    )
    run = EngineRun(
        engine="scan",
        version="0.1.0",
        status=EngineStatus.PARTIAL,
        findings=findings,
        facts=(
            Fact(
                key="scan.pickle.globals",
                value=["os.system"],
                engine="scan",
                evidence=(
                    Evidence(location=Location(artifact="model.pt!archive/data.pkl", sha256=SHA_B)),
                ),
            ),
        ),
        skips=(
            Skip(artifact="tokenizer.model", reason="unsupported-format", detail="format unknown"),
        ),
        rules=(RULE_DANGER, RULE_SECRET),
        analysed=3,
        duration_s=0.5,
    )
    return Report(
        tool=ToolInfo(version="0.1.0"),
        created_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        subject=Subject(kind=SubjectKind.PATH, ref="models/demo", name="demo"),
        artifacts=artifacts,
        runs=(run,),
    )
