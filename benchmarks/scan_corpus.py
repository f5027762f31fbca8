"""Detection benchmark: modelcustoms and peer scanners over one labelled corpus, in one run.

    bash benchmarks/setup_peers.sh            # once: venvs under .bench/venvs
    .venv/bin/python benchmarks/scan_corpus.py [--tools ours,picklescan,...] [--keep DIR]

Builds the full zoo plus real-library benign files (benchmarks/real_benign.py, when the gen
venv exists) into a temporary folder, runs every tool over every sample, and prints per tool:
hostile detected %, benign flagged %, samples with errors, wall time. Writes
benchmarks/results/scan_corpus.json with per-sample verdicts and per-technique misses.

How each tool's "flagged" verdict is decided (each tool's own notion of unsafe):
  ours        any finding with severity high or critical whose artifact is in the sample
              (one `customs scan ROOT --format json` over the whole corpus; exit 0/1 = ok)
  modelscan   `modelscan -p SAMPLE -r json`: any reported issue (exit code 1); errors = the
              report's "errors" list or exit code >= 2
  picklescan  `picklescan -p SAMPLE`: exit code 1 ("infected"); exit code 2 = error
  modelaudit  `modelaudit scan ... --format json` (batched, offline): any issue of severity
              critical or warning located in the sample (its exit-1 threshold); issues whose
              message says the scan failed count as errors
  fickling    `fickling --check-safety FILE` on every file of the sample: exit 1 = unsafe;
              exit 2 (could not parse) = error. fickling reads pickles only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".bench" / "venvs"
sys.path.insert(0, str(ROOT / "src"))

from modelcustoms.samples import build_zoo  # noqa: E402

TIMEOUT = 300
OFFLINE = ["unshare", "-n"] if shutil.which("unshare") else []
ENV = {**os.environ, "NO_ANALYTICS": "1", "PROMPTFOO_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1"}


@dataclass
class Verdict:
    flagged: bool = False
    error: bool = False
    detail: str = ""


@dataclass
class ToolRun:
    name: str
    version: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    wall_s: float = 0.0


def run(cmd: list[str], timeout: int = TIMEOUT) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 124, "", "timeout")


def owner(samples: list[str], path: str) -> str | None:
    for s in samples:
        if path == s or path.startswith((s + "/", s + "!", s + ":", s + " ")):
            return s
    return None


def tool_ours(root: Path, samples: list[str], jobs: int) -> ToolRun:
    cmd = [
        sys.executable,
        "-m",
        "modelcustoms",
        "scan",
        str(root),
        "--format",
        "json",
        "--fail-on",
        "high",
    ]
    started = time.perf_counter()
    res = run(cmd, timeout=3600)
    t = ToolRun("modelcustoms", _version_ours(), wall_s=time.perf_counter() - started)
    verdicts = {s: Verdict() for s in samples}
    try:
        report = json.loads(res.stdout)
    except json.JSONDecodeError:
        for v in verdicts.values():
            v.error, v.detail = True, f"exit {res.returncode}: {res.stderr[-300:]}"
        t.verdicts = verdicts
        return t
    for run_ in report["runs"]:
        for f in run_["findings"]:
            where = f["evidence"][0]["location"]["artifact"] if f["evidence"] else ""
            s = owner(samples, where)
            if s is None:
                continue
            if f["rule_id"] == "scan.analyzer-error":
                verdicts[s].error = True
            if f["severity"] in ("high", "critical"):
                verdicts[s].flagged = True
                verdicts[s].detail = verdicts[s].detail or f["rule_id"]
    t.verdicts = verdicts
    return t


def _version_ours() -> str:
    from modelcustoms import __version__

    return __version__


def per_sample(
    name: str,
    version: str,
    root: Path,
    samples: list[str],
    jobs: int,
    one: Callable[[Path], Verdict],
) -> ToolRun:
    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(lambda s: one(root / s), samples))
    return ToolRun(
        name, version, dict(zip(samples, results, strict=True)), time.perf_counter() - started
    )


def modelscan_one(path: Path) -> Verdict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        res = run(
            [
                *OFFLINE,
                str(VENVS / "modelscan/bin/modelscan"),
                "-p",
                str(path),
                "-r",
                "json",
                "-o",
                out.name,
            ]
        )
        try:
            report = json.loads(Path(out.name).read_text() or "{}")
        except json.JSONDecodeError:
            report = {}
    issues, errors = report.get("issues", []), report.get("errors", [])
    detail = (
        issues[0]["description"][:80]
        if issues
        else (errors[0]["description"][:80] if errors else "")
    )
    return Verdict(
        bool(issues), bool(errors) or res.returncode not in (0, 1, 3) or not report, detail
    )


def picklescan_one(path: Path) -> Verdict:
    res = run([str(VENVS / "picklescan/bin/picklescan"), "-p", str(path)])
    return Verdict(res.returncode == 1, res.returncode not in (0, 1), res.stdout.strip()[:120])


def fickling_one(path: Path) -> Verdict:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    v = Verdict()
    for f in files:
        res = run([str(VENVS / "fickling/bin/fickling"), "--check-safety", str(f)])
        if res.returncode == 1:
            v.flagged, v.detail = True, f.name
        elif res.returncode != 0:
            v.error = True
    return v


def tool_modelaudit(root: Path, samples: list[str], jobs: int) -> ToolRun:
    exe = str(VENVS / "modelaudit/bin/modelaudit")
    verdicts = {s: Verdict() for s in samples}
    batches = [samples[i : i + 40] for i in range(0, len(samples), 40)]
    prefix = str(root) + "/"

    def batch(chunk: list[str]) -> None:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            res = run(
                [
                    *OFFLINE,
                    exe,
                    "scan",
                    *[str(root / s) for s in chunk],
                    "--format",
                    "json",
                    "-o",
                    out.name,
                ],
                timeout=3600,
            )
            try:
                report = json.loads(Path(out.name).read_text() or "{}")
            except json.JSONDecodeError:
                report = {}
        if not report:
            for s in chunk:
                verdicts[s].error, verdicts[s].detail = True, f"exit {res.returncode}"
            return
        for issue in report.get("issues", []):
            loc = str(issue.get("location") or "").removeprefix(prefix)
            hit = owner(chunk, loc)
            if hit is None:
                continue
            s = hit
            msg = str(issue.get("message", ""))
            if "error" in msg.lower() and ("scan" in msg.lower() or "pars" in msg.lower()):
                verdicts[s].error = True
            if issue.get("severity") in ("critical", "warning"):
                verdicts[s].flagged = True
                verdicts[s].detail = verdicts[s].detail or msg[:80]

    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(batch, batches))
    return ToolRun(
        "modelaudit", _peer_version("modelaudit"), verdicts, time.perf_counter() - started
    )


def _peer_version(name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    res = run([str(VENVS / name / "bin/python"), "-c", code])
    return res.stdout.strip() or "?"


def build_corpus(root: Path) -> dict[str, dict[str, object]]:
    rows: dict[str, dict[str, object]] = {
        s.path: {"label": s.label, "technique": s.technique, "format": s.format}
        for s in build_zoo(root, scale="full")
    }
    gen = VENVS / "gen/bin/python"
    if gen.exists():
        res = run([str(gen), str(ROOT / "benchmarks/real_benign.py"), str(root)], timeout=900)
        if res.returncode == 0:
            for r in json.loads((root / "real_manifest.json").read_text())["samples"]:
                rows[r["path"]] = {
                    "label": r["label"],
                    "technique": r["technique"],
                    "format": r["format"],
                }
        else:
            print("real_benign.py failed; corpus is the zoo only:", res.stderr[-500:])
    else:
        print("no .bench/venvs/gen: corpus is the zoo only (run benchmarks/setup_peers.sh)")
    (root / "manifest.json").unlink()
    (root / "real_manifest.json").unlink(missing_ok=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tools", default="ours,modelscan,picklescan,modelaudit,fickling")
    ap.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2))
    ap.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/scan_corpus.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "corpus"
        rows = build_corpus(root)
        samples = sorted(rows)
        print(
            f"corpus: {sum(r['label'] == 'hostile' for r in rows.values())} hostile, "
            f"{sum(r['label'] == 'benign' for r in rows.values())} benign samples in {root}"
        )
        tools: dict[str, Callable[[], ToolRun]] = {
            "ours": lambda: tool_ours(root, samples, args.jobs),
            "modelscan": lambda: per_sample(
                "modelscan", _peer_version("modelscan"), root, samples, args.jobs, modelscan_one
            ),
            "picklescan": lambda: per_sample(
                "picklescan", _peer_version("picklescan"), root, samples, args.jobs, picklescan_one
            ),
            "modelaudit": lambda: tool_modelaudit(root, samples, args.jobs),
            "fickling": lambda: per_sample(
                "fickling", _peer_version("fickling"), root, samples, args.jobs, fickling_one
            ),
        }
        runs = []
        for name in args.tools.split(","):
            if name != "ours" and not (VENVS / name).exists():
                print(f"skip {name}: no venv (run benchmarks/setup_peers.sh)")
                continue
            print(f"running {name} ...", flush=True)
            runs.append(tools[name]())
        report(rows, runs, args.out)
    return 0


def report(rows: dict[str, dict[str, object]], runs: list[ToolRun], out: Path) -> None:
    hostile = [s for s, r in rows.items() if r["label"] == "hostile"]
    benign = [s for s, r in rows.items() if r["label"] == "benign"]
    print(
        f"\n{'tool':<13}{'version':<12}{'hostile detected':>18}{'benign flagged':>16}"
        f"{'errors':>8}{'wall s':>9}"
    )
    result: dict[str, object] = {
        "corpus": {"hostile": len(hostile), "benign": len(benign)},
        "tools": {},
    }
    for t in runs:
        det = sum(t.verdicts[s].flagged for s in hostile)
        fp = sum(t.verdicts[s].flagged for s in benign)
        err = sum(v.error for v in t.verdicts.values())
        print(
            f"{t.name:<13}{t.version:<12}{100 * det / len(hostile):>17.1f}%"
            f"{100 * fp / len(benign):>15.1f}%"
            f"{err:>8}{t.wall_s:>9.1f}"
        )
        misses: dict[str, list[str]] = collections.defaultdict(list)
        for s in hostile:
            if not t.verdicts[s].flagged:
                misses[str(rows[s]["technique"])].append(s)
        result["tools"][t.name] = {  # type: ignore[index]
            "version": t.version,
            "wall_s": round(t.wall_s, 2),
            "hostile_detected": det,
            "benign_flagged": fp,
            "errors": err,
            "missed_by_technique": dict(sorted(misses.items())),
            "false_positives": {s: t.verdicts[s].detail for s in benign if t.verdicts[s].flagged},
            "errored": sorted(s for s, v in t.verdicts.items() if v.error),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nper-sample details and per-technique misses: {out}")


if __name__ == "__main__":
    sys.exit(main())
