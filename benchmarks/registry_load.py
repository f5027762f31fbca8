"""Registry under load: N concurrent clients record reports into PostgreSQL; nothing may be lost.

    .venv/bin/python benchmarks/registry_load.py                       # 20 clients, 10,000 reports
    .venv/bin/python benchmarks/registry_load.py --clients 4 --reports 400 --db sqlite:///x.db

Starts a throwaway PostgreSQL cluster on 127.0.0.1 (Debian's server binaries, as the tests do)
unless ``--db`` names a database, runs ``customs serve`` on it in its own process, and then:

1. ``--clients`` threads, each with its own HTTP connection, POST ``--reports`` report documents
   in total (every one distinct; ``--models`` models with several revisions each, five families
   and origins, a quarter with findings and a deny verdict), timing every request;
2. checks zero loss: every answer was 201 with a new report id, the ids are distinct, and the
   database holds exactly that many reports (counted with SQL, not through the API);
3. times the inventory at that size: the dashboard's page (``GET /``) and the API's first page
   (``GET /api/v1/models``), ``--page-requests`` times each, and one filtered page.

Report documents are built before the clock starts. Results go to stdout and ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pgserver import find_bindir, start_postgres  # noqa: E402
from tests.unit.registry.reports import FAMILIES, T0, model_report  # noqa: E402

from modelcustoms.core import Decision  # noqa: E402
from modelcustoms.registry.auth import Role  # noqa: E402
from modelcustoms.registry.db import normalise_url  # noqa: E402
from modelcustoms.registry.store import RegistryStore  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary(ms: list[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of latencies in milliseconds."""
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def bodies(n: int, models: int) -> list[bytes]:
    """``n`` distinct report bodies over ``models`` models."""
    from datetime import timedelta

    families = list(FAMILIES)
    out = []
    for i in range(n):
        m = i % models
        rev = i // models
        deny = m % 4 == 0
        doc = model_report(
            f"org{m % 50}/model-{m}",
            family=families[m % len(families)],
            revision=f"r{rev}",
            decision=Decision.DENY if deny else Decision.ALLOW,
            findings=("pickle.dangerous-import",) if deny else (),
            created=T0 + timedelta(minutes=i),
        )
        out.append(json.dumps({"report": doc.model_dump(mode="json")}).encode())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(db: str, port: int) -> subprocess.Popen[bytes]:
    """``customs serve`` in its own process; returns once it answers."""
    argv = [sys.executable, "-m", "modelcustoms", "serve", "--db", db, "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    msg = "customs serve did not start"
    raise RuntimeError(msg)


def record_all(url: str, token: str, work: list[bytes], clients: int) -> dict[str, Any]:
    """POST every body from ``clients`` threads; latencies and answers."""
    lat: list[list[float]] = [[] for _ in range(clients)]
    ids: list[list[int]] = [[] for _ in range(clients)]
    bad: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(c: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            for body in work[c::clients]:
                t = time.perf_counter()
                try:
                    r = http.post("/api/v1/reports", content=body)
                except httpx.HTTPError as exc:
                    bad.append(f"transport: {exc}")
                    continue
                lat[c].append((time.perf_counter() - t) * 1000)
                if r.status_code != 201 or not r.json().get("created"):
                    bad.append(f"{r.status_code}: {r.text[:200]}")
                else:
                    ids[c].append(r.json()["report_id"])

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    all_ids = [i for part in ids for i in part]
    return {
        "wall_s": round(wall, 2),
        "throughput_per_s": round(len(work) / wall, 1),
        "latency": summary([x for part in lat for x in part]),
        "accepted": len(all_ids),
        "distinct_ids": len(set(all_ids)),
        "errors": len(bad),
        "first_errors": bad[:5],
    }


def time_pages(url: str, token: str, n: int) -> dict[str, Any]:
    """Latency of the inventory: dashboard page, API page, filtered API page."""
    out: dict[str, Any] = {}
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as http:
        for name, path in (
            ("dashboard_inventory", "/"),
            ("api_models_page", "/api/v1/models?limit=100"),
            ("api_models_filtered", "/api/v1/models?country=CN&verdict=deny&limit=100"),
        ):
            ms = []
            size = 0
            for _ in range(n):
                t = time.perf_counter()
                r = http.get(path)
                ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text[:200]
                size = len(r.content)
            out[name] = {**summary(ms), "bytes": size}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--models", type=int, default=2_500)
    ap.add_argument("--page-requests", type=int, default=50)
    ap.add_argument("--db", help="database URL (default: a throwaway PostgreSQL)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/registry_load.json")
    args = ap.parse_args()

    t = time.perf_counter()
    work = bodies(args.reports, args.models)
    print(f"built {len(work)} report documents in {time.perf_counter() - t:.1f}s", flush=True)
    pg = None
    if args.db is None:
        bindir = find_bindir()
        if bindir is None:
            print("PostgreSQL server binaries not found; pass --db URL", file=sys.stderr)
            return 2
        pg = start_postgres(bindir)
        db = pg.create_database()
    else:
        db = normalise_url(args.db)
    proc = None
    try:
        with RegistryStore(db) as store:
            token = store.create_token("load", Role.AUDITOR)
        port = free_port()
        proc = serve(db, port)
        url = f"http://127.0.0.1:{port}"
        print(
            f"recording {len(work)} reports with {args.clients} clients into {db.split('@')[-1]}",
            flush=True,
        )
        rec = record_all(url, token, work, args.clients)
        engine = create_engine(db)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM reports")).scalar_one()
            models = conn.execute(text("SELECT count(*) FROM models")).scalar_one()
        engine.dispose()
        pages = time_pages(url, token, args.page_requests)
        result = {
            "clients": args.clients,
            "reports_sent": len(work),
            "reports_stored": stored,
            "models_stored": models,
            "lost": len(work) - stored,
            "record": rec,
            "inventory": pages,
            "backend": db.split(":", 1)[0],
            "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if pg is not None:
            pg.stop()
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    ok = result["lost"] == 0 and rec["errors"] == 0 and rec["distinct_ids"] == len(work)
    print("zero loss" if ok else "LOSS OR ERRORS", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
