"""Signed passports for fake weights, and gateway configurations, for the gateway tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from modelcustoms.core import (
    Artifact,
    Decision,
    EngineRun,
    EngineStatus,
    Fact,
    Format,
    Report,
    ReportDocument,
    Subject,
    SubjectKind,
    ToolInfo,
    Verdict,
)
from modelcustoms.passport import KeyAlgorithm, generate_key, issue_passport, public_pem
from modelcustoms.passport.keys import PrivateKey

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def keypair(folder: Path) -> tuple[PrivateKey, Path]:
    """A signing key and its public PEM file."""
    key = generate_key(KeyAlgorithm.ED25519)
    folder.mkdir(parents=True, exist_ok=True)
    pub = folder / "passport.pub"
    pub.write_bytes(public_pem(key))
    return key, pub


def passport_for(
    folder: Path,
    key: PrivateKey,
    name: str,
    *,
    origin: str | None = "US",
    decision: Decision = Decision.ALLOW,
    with_report: bool = True,
) -> str:
    """Write a passport (and its report) for fake weights called ``name``; return their sha256."""
    weights = f"weights of {name}".encode()
    sha = hashlib.sha256(weights).hexdigest()
    facts = []
    if origin is not None:
        facts = [
            Fact(key="origin.publisher", value=f"pub-{name}", engine="provenance"),
            Fact(key="origin.country", value=origin, engine="provenance"),
            Fact(key="origin.chain_countries", value=[origin], engine="provenance"),
        ]
    run = EngineRun(
        engine="provenance",
        version="0.1.0",
        status=EngineStatus.OK,
        facts=tuple(facts),
        analysed=1,
        duration_s=0.0,
    )
    report = Report(
        tool=ToolInfo(version="0.1.0"),
        created_at=NOW,
        subject=Subject(kind=SubjectKind.PATH, ref=name, name=name),
        artifacts=(
            Artifact(path=f"{name}.gguf", size=len(weights), sha256=sha, format=Format.GGUF),
        ),
        runs=(run,),
    )
    verdict = Verdict(decision=decision, report_digest=report.digest(), policy="test")
    doc = ReportDocument.of(report, verdict)
    folder.mkdir(parents=True, exist_ok=True)
    env = issue_passport(doc, key, now=NOW, tool_version="0.1.0", verdict=verdict)
    import json

    (folder / f"{name}.passport.json").write_text(json.dumps(env))
    if with_report:
        (folder / f"{name}.report.json").write_text(doc.model_dump_json())
    return sha


def upstream(uid: str, url: str, sha: str, **extra: Any) -> dict[str, Any]:
    """One upstream entry."""
    return {"id": uid, "url": url, "model": f"{uid}-model", "weights_sha256": sha, **extra}


def write_config(path: Path, **sections: Any) -> Path:
    """A configuration file from sections."""
    path.write_text(yaml.safe_dump(sections, sort_keys=False))
    return path
