"""Signed model folders for the vault tests: files, a real scan report and a real passport."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from modelcustoms.core import ReportDocument
from modelcustoms.engines.scan import ScanOptions
from modelcustoms.passport import (
    KeyAlgorithm,
    PrivateKey,
    PublicKey,
    generate_key,
    issue_passport,
    public_pem,
)
from modelcustoms.pipeline import scan_paths
from modelcustoms.render import OutputFormat, renderer_for

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


@dataclass
class Signed:
    """A model and its evidence, as bytes and as files beside it."""

    model: Path
    report: bytes
    passport: bytes
    key: PrivateKey
    public: PublicKey
    report_path: Path
    passport_path: Path
    public_path: Path


def write_model(root: Path, files: dict[str, bytes]) -> Path:
    """A model folder with these files."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def sign_model(model: Path, key: PrivateKey | None = None) -> Signed:
    """Scan ``model``, sign a passport for the report, write all three beside the folder."""
    key = key or generate_key(KeyAlgorithm.ED25519)
    doc = ReportDocument.of(scan_paths([model], ScanOptions(jobs=1), now=NOW))
    report = renderer_for(OutputFormat.JSON).render(doc.report())
    envelope = issue_passport(doc, key, now=NOW, tool_version="test")
    passport = json.dumps(envelope).encode()
    base = model.parent / f"{model.name}.evidence"
    base.mkdir(exist_ok=True)
    (base / "report.json").write_bytes(report)
    (base / "passport.json").write_bytes(passport)
    (base / "passport.pub").write_bytes(public_pem(key))
    return Signed(
        model,
        report,
        passport,
        key,
        key.public_key(),
        base / "report.json",
        base / "passport.json",
        base / "passport.pub",
    )


def tokenizer_bytes() -> bytes:
    """A tokenizer-like JSON shared by two models."""
    vocab = {f"tok{i}": i for i in range(2000)}
    return json.dumps({"model": {"type": "BPE", "vocab": vocab}}).encode()


def weights_bytes(size: int, seed: int | str) -> bytes:
    """A valid safetensors file of about ``size`` bytes with seeded random weights.

    Raw random bytes are not a model file: now and then their first bytes read as another
    format (a pickle opcode, a compressed stream), the scan flags them and the passport denies.
    """
    payload = random.Random(seed).randbytes(size)
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}})
    raw = header.encode() + b" " * (-len(header) % 8)
    return len(raw).to_bytes(8, "little") + raw + payload
