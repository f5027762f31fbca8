"""``customs discover`` beside the PyPI peers on the labeled real-repository corpus (not a test).

    .venv/bin/python benchmarks/discover_peers.py [--setup] [--runs 3]

Peers, each in its own venv under .bench/venvs/ (``--setup`` creates them with pip):

- cisco-aibom: its deterministic ``ScanPipeline`` (no ``--llm-model``: the agentic stage is
  skipped, which is what runs without a model API);
- ai-bom ``scan --deep -f json``;
- aibom-scanner ``scan -f json``;
- airom ``fs -o json=...``.

The corpus (tests/data/discover/real/repos) is copied to a temporary folder first: cisco-aibom
drops whatever lies under a ``tests/`` path as fixture-only. Each tool's output is reduced to
(file, line, value) triples that name a model or a model endpoint; imports, frameworks, secrets
and runtime images are not counted as reports (that only helps the peers' precision).

A labeled reference is matched by a report of the same file and value (case-insensitive)
*strict*: within 2 lines (tools differ in whether a multi-line call counts at its first line or
at the keyword); *lenient*: at any line (some tools report the import line). Time is the median
wall time of ``--runs`` runs of the whole command, interpreter start-up included, for every tool,
after one untimed warm-up run each (Python tools then have their bytecode, as installed tools do;
``PYTHONDONTWRITEBYTECODE`` is removed from the environment), runs interleaved across tools.
CPU time (user + system of the process and its threads) is recorded beside wall time: on a
shared, loaded machine it is the steadier of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "data" / "discover" / "real"
VENVS = ROOT / ".bench" / "venvs"
RESULTS = ROOT / "benchmarks" / "results" / "discover_peers.json"
PEERS = {
    "cisco-aibom": "cisco-aibom",
    "ai-bom": "ai-bom",
    "aibom-scanner": "aibom-scanner",
    "airom": "airom",
}
Triple = tuple[str, int, str]

_CISCO = """
import json, sys
from aibom.scan_pipeline import ScanPipeline
root = sys.argv[1].rstrip("/") + "/"
out = []
for c in ScanPipeline([root]).run().components:
    kind = str(getattr(c.component_type, "value", c.component_type)).lower()
    if kind not in ("model", "embedding", "llm"):
        continue
    out.append([c.file_path.replace(root, ""), c.line_number or 0, c.model_name or c.name])
print(json.dumps(out))
"""


def _venv_bin(peer: str, exe: str) -> Path:
    return VENVS / f"d-{peer}" / "bin" / exe


def setup() -> None:
    """Create one venv per peer and install it from PyPI."""
    for peer, package in PEERS.items():
        venv = VENVS / f"d-{peer}"
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", package])


def _run(
    cmd: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds (user + system, all threads) and the finished process."""
    start = time.perf_counter()
    with subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as popen:
        stdout, stderr = popen.communicate(timeout=600)
        wall = time.perf_counter() - start
        # NOTE: communicate() has reaped the child; its rusage is in RUSAGE_CHILDREN deltas.
    proc = subprocess.CompletedProcess(cmd, popen.returncode, stdout, stderr)
    return wall, _children_cpu(), proc


_CPU_SEEN = [0.0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    delta, _CPU_SEEN[0] = total - _CPU_SEEN[0], total
    return delta


def _ours(corpus: Path, out: Path) -> tuple[list[str], Any]:
    cmd = [str(ROOT / ".venv" / "bin" / "customs"), "discover", str(corpus)]
    cmd += ["-f", "json", "-o", str(out)]

    def parse() -> list[Triple]:
        doc = json.loads(out.read_text())
        rows = [
            f["value"] for r in doc["runs"] for f in r["facts"] if f["key"] == "discover.reference"
        ]
        return [(v["file"], v["line"] or 0, v["model"] or v["endpoint"] or "") for v in rows]

    return cmd, parse


def _cisco(corpus: Path, out: Path) -> tuple[list[str], Any]:
    cmd = [str(_venv_bin("cisco-aibom", "python")), "-c", _CISCO, str(corpus)]

    def parse(stdout: str) -> list[Triple]:
        last = stdout.strip().splitlines()[-1] if stdout.strip() else "[]"
        return [(p, int(n), str(v)) for p, n, v in json.loads(last)]

    return cmd, parse


def _ai_bom(corpus: Path, out: Path) -> tuple[list[str], Any]:
    cmd = [str(_venv_bin("ai-bom", "ai-bom")), "scan", str(corpus), "--deep", "-q"]
    cmd += ["-f", "json", "-o", str(out)]

    def parse() -> list[Triple]:
        triples = []
        for c in json.loads(out.read_text()).get("components", []):
            props = {p["name"]: p["value"] for p in c.get("properties", [])}
            model = props.get("trusera:model_name")
            where = props.get("trusera:source_location", "")
            if not model or ":" not in where:
                continue
            path, _, line = where.rpartition(":")
            triples.append((_rel(path, corpus), int(line or 0), model))
        return triples

    return cmd, parse


def _aibom_scanner(corpus: Path, out: Path) -> tuple[list[str], Any]:
    cmd = [str(_venv_bin("aibom-scanner", "aibom-scanner")), "scan", "-p", str(corpus)]
    cmd += ["-f", "json", "-o", str(out)]

    def parse() -> list[Triple]:
        doc = json.loads(out.read_text())
        return [
            (_rel(d["file_path"], corpus), d.get("line_number") or 0, d["model_name"])
            for d in doc.get("detections", [])
            if d.get("model_name")
        ]

    return cmd, parse


def _airom(corpus: Path, out: Path) -> tuple[list[str], Any]:
    cmd = [str(_venv_bin("airom", "airom")), "fs", str(corpus), "-o", f"json={out}"]

    def parse() -> list[Triple]:
        triples = []
        for c in json.loads(out.read_text()).get("components", []):
            kind = str(c.get("kind", ""))
            if "model" not in kind and "llm" not in kind:
                continue
            for occ in c.get("evidence", {}).get("occurrences", []):
                loc = occ.get("location", {})
                triples.append((_rel(loc.get("path", ""), corpus), loc.get("line") or 0, c["name"]))
        return triples

    return cmd, parse


def _rel(path: str, corpus: Path) -> str:
    prefix = str(corpus).rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


TOOLS = {
    "modelcustoms": (_ours, False),
    "cisco-aibom": (_cisco, True),
    "ai-bom --deep": (_ai_bom, False),
    "aibom-scanner": (_aibom_scanner, False),
    "airom": (_airom, False),
}
"""name → (command builder, whether the parser reads stdout instead of the output file)."""


def score(labels: list[Triple], reports: list[Triple], slack: int | None) -> dict[str, Any]:
    """Recall and precision of ``reports`` against ``labels`` (``slack``: lines; None: any)."""
    reports = sorted({(p, n, v.lower()) for p, n, v in reports})
    matched_labels = set()
    matched_reports = set()
    for i, (lp, ln, lv) in enumerate(labels):
        for j, (rp, rn, rv) in enumerate(reports):
            if j in matched_reports or rp != lp or rv.rstrip("/") != lv.lower().rstrip("/"):
                continue
            if slack is None or abs(rn - ln) <= slack:
                matched_labels.add(i)
                matched_reports.add(j)
                break
    return {
        "recall": round(len(matched_labels) / len(labels), 3) if labels else None,
        "precision": round(len(matched_reports) / len(reports), 3) if reports else None,
        "reported": len(reports),
        "missed": [list(labels[i]) for i in range(len(labels)) if i not in matched_labels],
    }


def main() -> int:
    """Run every tool on the corpus, score it, and write benchmarks/results/discover_peers.json."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--setup", action="store_true", help="create the peer venvs first")
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    if args.setup:
        setup()
    doc = json.loads((REAL / "labels.json").read_text())
    labels = [(r["path"], r["line"], r["value"]) for r in doc["references"]]
    results: dict[str, Any] = {"labels": len(labels), "repositories": len(doc["repositories"])}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # NOTE: every Python tool gets its bytecode written once (a warm-up run each), as an
    # installed tool has it; the timed runs are interleaved so machine load hits all alike.
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(REAL / "repos", corpus)
        built = {}
        for name, (build, from_stdout) in TOOLS.items():
            out = Path(tmp) / f"out-{len(built)}.json"
            cmd, parse = build(corpus, out)
            if not Path(cmd[0]).exists():
                results[name] = {"error": f"not installed: {cmd[0]} (run with --setup)"}
                continue
            built[name] = (cmd, parse, from_stdout, out)
            _run(cmd, Path(tmp), env)
        times: dict[str, list[float]] = {name: [] for name in built}
        cpu: dict[str, list[float]] = {name: [] for name in built}
        procs: dict[str, subprocess.CompletedProcess[str]] = {}
        for _ in range(max(1, args.runs)):
            for name, (cmd, _parse, _stdout, out) in built.items():
                out.unlink(missing_ok=True)
                elapsed, used, procs[name] = _run(cmd, Path(tmp), env)
                times[name].append(elapsed)
                cpu[name].append(used)
        for name, (_cmd, parse, from_stdout, _out) in built.items():
            proc = procs[name]
            try:
                reports = parse(proc.stdout) if from_stdout else parse()
            except (OSError, ValueError, KeyError, IndexError) as exc:
                results[name] = {"error": f"{type(exc).__name__}: {exc}", "rc": proc.returncode}
                continue
            results[name] = {
                "strict": score(labels, reports, 2),
                "lenient": score(labels, reports, None),
                "median_s": round(statistics.median(times[name]), 3),
                "min_s": round(min(times[name]), 3),
                "cpu_median_s": round(statistics.median(cpu[name]), 3),
                "runs": len(times[name]),
                "rc": proc.returncode,
            }
            s, le = results[name]["strict"], results[name]["lenient"]
            print(
                f"{name:15} strict R {_pct(s['recall'])} P {_pct(s['precision'])} | "
                f"lenient R {_pct(le['recall'])} P {_pct(le['precision'])} | "
                f"{s['reported']} reported | median {results[name]['median_s']:.3f}s "
                f"min {results[name]['min_s']:.3f}s cpu {results[name]['cpu_median_s']:.3f}s"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def _pct(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.0%}"


if __name__ == "__main__":
    sys.exit(main())
