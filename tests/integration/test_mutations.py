"""Corrupted and truncated model files: findings or skips, never an analyzer crash or a hang."""

from __future__ import annotations

import random
import time
from pathlib import Path

from modelcustoms.artifacts.blob import Opener
from modelcustoms.engines.scan import ScanEngine, ScanOptions
from modelcustoms.samples import build_zoo


def _mutants(data: bytes, rng: random.Random) -> list[bytes]:
    out = []
    if len(data) > 1:
        out.append(data[: rng.randrange(1, len(data))])  # truncated
    if data:
        b = bytearray(data)
        for _ in range(max(1, len(b) // 200)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        out.append(bytes(b))  # bit rot
        b = bytearray(data)
        start = rng.randrange(len(b))
        b[start : start + 64] = b"\xff" * min(64, len(b) - start)
        out.append(bytes(b))  # a field overwritten with huge values
    return out


def test_mutated_zoo_never_crashes(tmp_path: Path):
    zoo = tmp_path / "zoo"
    build_zoo(zoo, scale="demo")
    rng = random.Random(20261128)
    mutants = tmp_path / "mutants"
    mutants.mkdir()
    openers = []
    for i, path in enumerate(sorted(p for p in zoo.rglob("*") if p.is_file())):
        for j, data in enumerate(_mutants(path.read_bytes(), rng)):
            m = mutants / f"{i:03d}-{j}-{path.name}"
            m.write_bytes(data)
            openers.append(Opener.local(m.name, m))
    engine = ScanEngine(ScanOptions(template_timeout_s=2.0))
    started = time.monotonic()
    result = engine.run(openers)
    elapsed = time.monotonic() - started
    crashes = [
        f"{f.evidence[0].location.artifact}: {f.message}"
        for f in result.run.findings
        if f.rule_id == "scan.analyzer-error"
    ]
    assert not crashes, "\n".join(crashes)
    assert elapsed < 120
