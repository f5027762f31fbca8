"""Policy benchmark: evaluation cost per report, and ``customs`` start-up time.

    .venv/bin/python benchmarks/policy_eval.py [--reports N] [--repeat R] [--celpy PYTHON]

1. Median cost of ``evaluate(report, policy)`` for a 20-rule profile (the first 20 rules of
   enterprise-default: origin, hosted-API, licence and security rules) over N hand-built
   reports of varied shape (clean, covered-nation origin, non-commercial licence, critical
   findings, unknown origin). Split into: building the facts document, binding it, and running
   the 20 CEL programs. Loading (parse + compile) is measured once, apart.
2. Start-up: ``python -X importtime`` of the CLI package, and the wall time (median of R runs)
   of ``customs --help``, ``customs inspect TINY -f json`` and the same with
   ``--policy enterprise-default``, on a folder with one small config.json.
3. With ``--celpy PYTHON`` (a Python that has ``cel-python`` installed, e.g. a scratch venv),
   the same 20 expressions over the same document evaluated by cel-python, for the comparison
   recorded in docs/policy.md. cel-python is never a dependency of modelcustoms.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.unit.policy.reports import clean_facts, license_row, make_report, origin  # noqa: E402

from modelcustoms.core import Severity  # noqa: E402
from modelcustoms.policy import build_facts, evaluate, load_policy  # noqa: E402
from modelcustoms.policy.cel import bind  # noqa: E402

CELPY_SNIPPET = r"""
import json, sys, time, statistics, celpy
exprs, doc = json.load(sys.stdin)
env = celpy.Environment()
t = time.perf_counter()
progs = [env.program(env.compile(e)) for e in exprs]
compile_ms = (time.perf_counter() - t) * 1e3
def once():
    act = {k: celpy.json_to_cel(v) for k, v in doc.items()}
    for p in progs:
        try:
            p.evaluate(act)
        except celpy.CELEvalError:
            pass
times = []
for _ in range(50):
    t = time.perf_counter(); once(); times.append(time.perf_counter() - t)
print(json.dumps({"compile_ms": compile_ms, "median_us": statistics.median(times) * 1e6}))
"""


def reports() -> list:
    """Varied report shapes (each evaluation exercises different rule outcomes)."""
    return [
        make_report(facts=clean_facts()),
        make_report(facts=origin("CN"), lineage=[("qwen2.5", "CN")]),
        make_report(facts={**origin("US"), "license.family_candidates": [license_row("x", "no")]}),
        make_report(
            facts=clean_facts(),
            findings=[("pickle.dangerous-import", Severity.CRITICAL)] * 5
            + [("x.y", Severity.MEDIUM)] * 20,
        ),
        make_report(facts={}),
    ]


def _median_us(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def bench_eval(n_reports: int, repeat: int) -> dict:
    t = time.perf_counter()
    full = load_policy("enterprise-default")
    load_ms = (time.perf_counter() - t) * 1e3
    policy = dataclasses.replace(full, rules=full.rules[:20])
    shapes = reports()
    pool = [shapes[i % len(shapes)] for i in range(n_reports)]
    for r in pool:  # warm-up: the knowledge base and CEL environment load once per process
        evaluate(r, policy)
    per_report = [_median_us(lambda r=r: evaluate(r, policy), repeat) for r in pool]
    facts_us = [_median_us(lambda r=r: build_facts(r), repeat) for r in pool]
    docs = [{**build_facts(r).to_cel(), "params": policy.policy.params} for r in pool]
    bind_us = [_median_us(lambda d=d: bind(d), repeat) for d in docs]
    acts = [bind(d) for d in docs]

    def run_rules(act):
        for c in policy.rules:
            if c.applies is not None:
                c.applies.run(act)
            c.when.run(act)

    cel_us = [_median_us(lambda a=a: run_rules(a), repeat) for a in acts]
    return {
        "rules": len(policy.rules),
        "reports": n_reports,
        "load_enterprise_default_ms": round(load_ms, 2),
        "evaluate_median_us": round(statistics.median(per_report), 1),
        "facts_document_median_us": round(statistics.median(facts_us), 1),
        "bind_median_us": round(statistics.median(bind_us), 1),
        "cel_20_rules_median_us": round(statistics.median(cel_us), 1),
        "expressions": [c.when.text for c in policy.rules],
        "document": docs[1],
    }


def _wall(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1e3, 1)


def bench_startup(repeat: int) -> dict:
    py = sys.executable
    out = subprocess.run(
        [py, "-X", "importtime", "-c", "import modelcustoms.cli"],
        capture_output=True,
        text=True,
        check=False,
    ).stderr.splitlines()
    cli_import_us = next(
        (
            int(line.split("|")[1])
            for line in reversed(out)
            if line.rstrip().endswith(" modelcustoms.cli")
        ),
        -1,
    )
    policy_import = subprocess.run(
        [
            py,
            "-X",
            "importtime",
            "-c",
            "import modelcustoms.policy, modelcustoms.policy.cel as c; c._env()",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stderr.splitlines()
    cel_us = sum(
        int(line.split("|")[0].split(":")[1]) for line in policy_import if "cel_expr_python" in line
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text('{"hidden_size": 8}')
        base = [py, "-m", "modelcustoms"]
        return {
            "import_modelcustoms_cli_ms": round(cli_import_us / 1e3, 1),
            "import_cel_expr_python_ms": round(cel_us / 1e3, 1),
            "customs_help_ms": _wall([*base, "--help"], repeat),
            "customs_inspect_tiny_ms": _wall([*base, "inspect", tmp, "-f", "json"], repeat),
            "customs_inspect_tiny_policy_ms": _wall(
                [*base, "inspect", tmp, "-f", "json", "--policy", "enterprise-default"], repeat
            ),
        }


def bench_celpy(python: str, expressions: list[str], document: dict) -> dict:
    proc = subprocess.run(
        [python, "-c", CELPY_SNIPPET],
        input=json.dumps([expressions, document]),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    result: dict = json.loads(proc.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reports", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--startup-repeat", type=int, default=5)
    ap.add_argument("--celpy", metavar="PYTHON", help="a Python with cel-python, for comparison")
    args = ap.parse_args()
    ev = bench_eval(args.reports, args.repeat)
    expressions, document = ev.pop("expressions"), ev.pop("document")
    print(json.dumps({"evaluation": ev}, indent=2))
    if args.celpy:
        print(
            json.dumps(
                {"cel_python_same_20": bench_celpy(args.celpy, expressions, document)}, indent=2
            )
        )
    print(json.dumps({"startup": bench_startup(args.startup_repeat)}, indent=2))


if __name__ == "__main__":
    main()
