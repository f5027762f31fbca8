"""Gateway overhead, side by side with LiteLLM's proxy, against one instant local upstream.

    .venv/bin/python benchmarks/gateway_bench.py [--rate 100] [--seconds 10] [--rounds 3]
        [--litellm .bench/venvs/litellm] [--postgres] [--out benchmarks/results/gateway.json]

Targets, all on 127.0.0.1, each a separate process:
  direct    the upstream itself (tests/unit/gateway/upstream.py under uvicorn): the baseline
  customs   `customs gateway serve`: passport check, PII detection + redaction on the route,
            file audit log (hash chain), virtual key, metering, per-request JSON log lines
  customs-pg (with --postgres) two `customs gateway serve` processes sharing a throwaway
            PostgreSQL: shared rate limit/budget (one round trip per request) and the shared
            audit chain; requests alternate between the two
  litellm   LiteLLM's proxy (its own venv; LITELLM_LOCAL_MODEL_COST_MAP=True; no database)

Load is open-loop at a fixed rate (a request every 1/rate s whatever the answers do), in
rounds that alternate the targets so background load hits all alike. Added latency = a
target's percentile minus the direct percentile of the same round. CPU per request = the
target processes' user+system CPU over the requests they served. Memory = resident set
(VmRSS, children included) after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.gateway.helpers import keypair, passport_for, upstream, write_config  # noqa: E402

from modelcustoms.gateway.keys import new_key  # noqa: E402
from modelcustoms.gateway.upstream import Pool  # noqa: E402

PROMPT = (
    "Summarise the complaint below in two sentences and propose a reply. The customer, "
    "reachable at jane.doe@example.com, writes: my order 48213 arrived late and the box was "
    "damaged; I would like a refund to my card or a replacement by Friday. Please keep the "
    "tone friendly and do not promise anything our policy does not allow. " * 2
)


LITELLM_KEY = "sk-" + "b3nchm4rk" * 4  # its master key: LiteLLM checks it on every request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, path: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"port {port} not ready after {timeout} s")


def tree_pids(pid: int) -> list[int]:
    out = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            out += tree_pids(int(child))
    return out


def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        for p in tree_pids(pid):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for p in tree_pids(pid):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
    return total / 1024


async def load(
    ports: list[int], key: str | None, rate: float, seconds: float
) -> tuple[list[float], list[str]]:
    """Open-loop load; returns latencies (s) of the successful requests, and the failures."""
    pools = [Pool("127.0.0.1", p) for p in ports]
    body = json.dumps(
        {"model": "chat", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 16}
    ).encode()
    auth = f"Authorization: Bearer {key}\r\n".encode() if key else b""
    lat: list[float] = []
    errors: list[str] = []

    async def one(i: int) -> None:
        t = time.perf_counter()
        try:
            r = await pools[i % len(pools)].request(
                b"POST", b"/v1/chat/completions", body, extra_headers=auth, timeout=30
            )
            content = await r.read()
        except Exception as exc:
            errors.append(repr(exc))
            return
        if r.status != 200:
            errors.append(f"HTTP {r.status}: {content[:200]!r}")
            return
        lat.append(time.perf_counter() - t)

    n = int(rate * seconds)
    start = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    for pool in pools:
        pool.close()
    return lat, errors


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Procs:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, argv: list[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            p = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)


def gateway_config(
    tmp: Path, up_port: int, *, postgres: str | None = None, name: str = "gw"
) -> tuple[Path, str]:
    tmp = tmp / name
    key, _pub = keypair(tmp / "keys")
    sha = passport_for(tmp / "passports", key, "bench", origin="US")
    user_key, user_hash = new_key()
    extra: dict[str, object] = {"audit": {"path": f"{name}-audit.jsonl"}}
    if postgres:
        extra = {"audit": {"postgres": True}, "shared": {"postgres_url": postgres}}
    cfg = write_config(
        tmp / f"{name}.yaml",
        passports={"folder": "passports", "public_keys": ["keys/passport.pub"]},
        upstreams=[
            upstream(
                "local",
                f"http://127.0.0.1:{up_port}",
                sha,
                operator_country="DE",
                redact=True,
                price={"input_per_mtok": 0.5, "output_per_mtok": 1.5},
            )
        ],
        models=[{"name": "chat", "routes": ["local"]}],
        rules=[
            {
                "id": "no-pii-abroad",
                "data_classes": ["pii"],
                "deny_operator_countries": ["CN"],
                "deny_origin_countries": ["CN"],
            }
        ],
        keys=[{"id": "bench", "sha256": user_hash, "budget_usd": "1000", "rpm": 1_000_000}],
        **extra,
    )
    return cfg, user_key


def litellm_config(tmp: Path, up_port: int) -> Path:
    cfg = tmp / "litellm.yaml"
    cfg.write_text(
        "model_list:\n"
        "  - model_name: chat\n"
        "    litellm_params:\n"
        "      model: openai/local-model\n"
        f"      api_base: http://127.0.0.1:{up_port}/v1\n"
        "      api_key: sk-local\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
    )
    return cfg


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--litellm", type=Path, default=ROOT / ".bench/venvs/litellm")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument(
        "--postgres", action="store_true", help="also measure two processes on PostgreSQL"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/gateway.json")
    ap.add_argument("--demo", type=Path, metavar="DIR", help="only run the audit-log demo into DIR")
    ap.add_argument("--clients", action="store_true", help="only compare upstream clients")
    args = ap.parse_args()
    if args.clients:
        return compare_clients()
    if args.demo:
        return demo(args.demo)

    procs = Procs()
    pg = None
    tmp = Path(tempfile.mkdtemp(prefix="gw-bench-"))
    try:
        up_port = free_port()
        up = procs.start(
            [sys.executable, "-m", "tests.unit.gateway.upstream", str(up_port)], tmp / "up.log"
        )
        wait_ready(up_port, "/v1/models", 30, up)
        targets: dict[str, tuple[list[int], list[int], str | None]] = {
            "direct": ([up_port], [up.pid], None)
        }

        cfg, key = gateway_config(tmp, up_port)
        gw_port = free_port()
        gw = procs.start(
            [str(ROOT / ".venv/bin/customs"), "gateway", "serve", str(cfg), "--port", str(gw_port)],
            tmp / "gw.log",
        )
        wait_ready(gw_port, "/healthz", 30, gw)
        targets["customs"] = ([gw_port], [gw.pid], key)

        if args.postgres:
            from tests.pgserver import find_bindir, start_postgres

            bindir = find_bindir()
            assert bindir is not None, "PostgreSQL is not installed"
            pg = start_postgres(bindir)
            url = pg.create_database()
            pcfg, pkey = gateway_config(tmp, up_port, postgres=url, name="pg")
            ports, pids = [], []
            for i in range(2):
                port = free_port()
                p = procs.start(
                    [
                        str(ROOT / ".venv/bin/customs"),
                        "gateway",
                        "serve",
                        str(pcfg),
                        "--port",
                        str(port),
                    ],
                    tmp / f"pg{i}.log",
                )
                wait_ready(port, "/healthz", 30, p)
                ports.append(port)
                pids.append(p.pid)
            targets["customs-pg"] = (ports, pids, pkey)

        if not args.no_litellm:
            ll_port = free_port()
            t = time.monotonic()
            ll = procs.start(
                [
                    str(args.litellm / "bin/litellm"),
                    "--config",
                    str(litellm_config(tmp, up_port)),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ll_port),
                    "--num_workers",
                    "1",
                ],
                tmp / "litellm.log",
                env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"},
            )
            wait_ready(ll_port, "/health/liveliness", 180, ll)
            print(f"litellm ready after {time.monotonic() - t:.1f} s", flush=True)
            targets["litellm"] = ([ll_port], [ll.pid], LITELLM_KEY)

        # warm-up: connections, imports, caches
        for name, (ports, _pids, k) in targets.items():
            _, errors = asyncio.run(load(ports, k, 20, 2))
            if errors:
                raise RuntimeError(f"{name}: warm-up failed: {errors[0]}")
        samples: dict[str, list[list[float]]] = {n: [] for n in targets}
        cpu: dict[str, float] = dict.fromkeys(targets, 0.0)
        count: dict[str, int] = dict.fromkeys(targets, 0)
        failed: dict[str, int] = dict.fromkeys(targets, 0)
        for r in range(args.rounds):
            for name, (ports, pids, k) in targets.items():
                c0 = cpu_seconds(pids)
                lat, errors = asyncio.run(load(ports, k, args.rate, args.seconds))
                cpu[name] += cpu_seconds(pids) - c0
                count[name] += len(lat)
                failed[name] += len(errors)
                samples[name].append(lat)
                print(
                    f"round {r + 1} {name}: p50 {pct(lat, 0.5) * 1e3:.2f} ms  "
                    f"p99 {pct(lat, 0.99) * 1e3:.2f} ms  failed {len(errors)}",
                    flush=True,
                )
        rows = []
        for name, (_ports, pids, _k) in targets.items():
            p50s = [
                pct(s, 0.5) - pct(d, 0.5)
                for s, d in zip(samples[name], samples["direct"], strict=True)
            ]
            p99s = [
                pct(s, 0.99) - pct(d, 0.99)
                for s, d in zip(samples[name], samples["direct"], strict=True)
            ]
            allv = [x for s in samples[name] for x in s]
            rows.append(
                {
                    "target": name,
                    "requests": count[name],
                    "failed": failed[name],
                    "p50_ms": pct(allv, 0.5) * 1e3,
                    "p99_ms": pct(allv, 0.99) * 1e3,
                    "added_p50_ms": statistics.median(p50s) * 1e3,
                    "added_p99_ms": statistics.median(p99s) * 1e3,
                    "cpu_ms_per_request": cpu[name] / max(count[name], 1) * 1e3,
                    "rss_mb": rss_mb(pids) / (len(pids) if name == "customs-pg" else 1),
                }
            )
        result = {
            "rate_rps": args.rate,
            "seconds_per_round": args.seconds,
            "rounds": args.rounds,
            "prompt_chars": len(PROMPT),
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "rows": rows,
        }
        inside = in_app_times(tmp / "gw" / "gw-audit.jsonl")
        if inside:
            result["customs_in_app_ms"] = {
                "p50": pct(inside, 0.5),
                "p99": pct(inside, 0.99),
                "n": len(inside),
            }
        if args.postgres and pg is not None:
            result["postgres_check"] = check_shared(url, tmp)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(
            f"\n{args.rate:.0f} req/s open loop, {args.rounds} x {args.seconds:.0f} s per target, "
            f"{len(PROMPT)}-char prompt; load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs\n"
        )
        print(
            "| target | ok / failed | p50 ms | p99 ms | added p50 ms | added p99 ms | CPU ms/req"
            " | RSS MB |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for row in rows:
            added = (
                ("—", "—")
                if row["target"] == "direct"
                else (f"{row['added_p50_ms']:.2f}", f"{row['added_p99_ms']:.2f}")
            )
            print(
                f"| {row['target']} | {row['requests']} / {row['failed']} | {row['p50_ms']:.2f} | "
                f"{row['p99_ms']:.2f} | {added[0]} | {added[1]} | "
                f"{row['cpu_ms_per_request']:.2f} | {row['rss_mb']:.0f} |"
            )
        if "customs_in_app_ms" in result:
            t = result["customs_in_app_ms"]
            print(
                f"\ncustoms, time inside the app minus the upstream wait (from its audit log): "
                f"p50 {t['p50']:.3f} ms, p99 {t['p99']:.3f} ms over {t['n']} requests"
            )
        if "postgres_check" in result:
            print("\nshared PostgreSQL:", json.dumps(result["postgres_check"]))
        return 0
    finally:
        procs.stop()
        if pg is not None:
            pg.stop()


def demo(out: Path) -> int:
    """The issue's "must show": a block by origin, a redaction and a fallback in the audit log,
    then `customs gateway verify-log` on the log and on a copy with one edited line."""
    import httpx
    from tests.unit.gateway.upstream import BuiltinServerThread, ServerThread, UpstreamApp

    from modelcustoms.cli import main as customs
    from modelcustoms.gateway.server import build

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        old.unlink() if old.is_file() else None
    tmp = Path(tempfile.mkdtemp(prefix="gw-demo-"))
    key, _ = keypair(tmp / "keys")
    folder = tmp / "passports"
    sha_qwen = passport_for(folder, key, "qwen-derived", origin="CN")
    sha_down = passport_for(folder, key, "mistral-small", origin="FR")
    sha_llama = passport_for(folder, key, "llama-finetune", origin="US")
    apps = {
        "qwen": UpstreamApp(name="qwen"),
        "down": UpstreamApp("fail", "down"),
        "llama": UpstreamApp(name="llama"),
    }
    servers = {k: ServerThread(a).__enter__() for k, a in apps.items()}
    user_key, user_hash = new_key()
    cfg = write_config(
        tmp / "gateway.yaml",
        passports={"folder": "passports", "public_keys": ["keys/passport.pub"]},
        upstreams=[
            upstream(
                "qwen-local",
                servers["qwen"].url,
                sha_qwen,
                operator_country="DE",
                price={"input_per_mtok": 0.1, "output_per_mtok": 0.3},
            ),
            upstream(
                "mistral-eu",
                servers["down"].url,
                sha_down,
                operator_country="FR",
                redact=True,
                price={"input_per_mtok": 0.5, "output_per_mtok": 1.5},
            ),
            upstream(
                "llama-us",
                servers["llama"].url,
                sha_llama,
                operator_country="US",
                redact=True,
                price={"input_per_mtok": 1, "output_per_mtok": 3},
            ),
        ],
        models=[
            {"name": "chat", "routes": ["qwen-local", "mistral-eu", "llama-us"]},
            {"name": "coder", "routes": ["qwen-local"]},
        ],
        rules=[
            {
                "id": "no-sensitive-data-to-cn-models",
                "data_classes": ["pii", "source-code", "customer-data"],
                "deny_operator_countries": ["CN"],
                "deny_origin_countries": ["CN"],
            }
        ],
        keys=[{"id": "team-a", "sha256": user_hash}],
        audit={"path": "audit.jsonl"},
    )
    gateway, _ = build(cfg)
    server = BuiltinServerThread(gateway).__enter__()
    h = {"Authorization": f"Bearer {user_key}"}
    asks = [
        (
            "blocked by origin: source code for a model of Chinese origin",
            {
                "model": "coder",
                "messages": [{"role": "user", "content": "refactor: def f(x): ..."}],
            },
            {"X-Customs-Data-Class": "source-code"},
        ),
        (
            "redacted, with a fallback: PII may not reach qwen-local; mistral-eu fails (HTTP 500); "
            "llama-us gets the prompt redacted",
            {
                "model": "chat",
                "messages": [
                    {
                        "role": "user",
                        "content": "Reply to jane.doe@example.com, card 4111 1111 1111 1111, "
                        "phone +44 20 7946 0958",
                    }
                ],
            },
            {},
        ),
        (
            "untagged, no personal data: the cheapest passported route",
            {"model": "chat", "messages": [{"role": "user", "content": "What is 2 + 2?"}]},
            {},
        ),
    ]
    lines = []
    try:
        for title, body, extra in asks:
            r = httpx.post(server.url + "/v1/chat/completions", json=body, headers={**h, **extra})
            lines.append(f"## {title}\nHTTP {r.status_code}: {r.text[:200]}\n")
        lines.append("## what llama-us received\n" + json.dumps(apps["llama"].received[0]) + "\n")
    finally:
        server.__exit__()
        for s in servers.values():
            s.__exit__()
    log = tmp / "audit.jsonl"
    (out / "audit.jsonl").write_text(log.read_text())
    entries = log.read_text().splitlines()
    edited = list(entries)
    edited[0] = edited[0].replace('"decision":"block"', '"decision":"allow"')
    (out / "audit-edited.jsonl").write_text("\n".join(edited) + "\n")
    import io
    from contextlib import redirect_stdout

    for name in ("audit.jsonl", "audit-edited.jsonl"):
        buf = io.StringIO()
        with redirect_stdout(buf):
            code = customs(["gateway", "verify-log", str(out / name)])
        lines.append(f"## customs gateway verify-log {name} -> exit {code}\n{buf.getvalue()}")
    text = "\n".join(lines)
    (out / "demo.md").write_text(text)
    print(text)
    print("\naudit entries:")
    for e in entries:
        print(e)
    return 0


def in_app_times(audit: Path) -> list[float]:
    """Per request: the gateway's own time (audit "ms" minus "upstream_ms")."""
    out = []
    if audit.exists():
        for line in audit.read_text().splitlines():
            e = json.loads(line)
            if "upstream_ms" in e:
                out.append(e["ms"] - e["upstream_ms"])
    return out


def compare_clients(n: int = 2000) -> int:
    """CPU per request of the upstream client: httpx.AsyncClient vs the gateway's own Pool."""
    import httpx

    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="gw-clients-"))
    try:
        port = free_port()
        up = procs.start(
            [sys.executable, "-m", "tests.unit.gateway.upstream", str(port)], tmp / "up.log"
        )
        wait_ready(port, "/v1/models", 30, up)
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": PROMPT}]})

        async def with_httpx() -> float:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
                for _ in range(50):
                    await c.post("/v1/chat/completions", content=body)
                t = time.process_time()
                for _ in range(n):
                    r = await c.post(
                        "/v1/chat/completions",
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    r.read()
                return (time.process_time() - t) / n

        async def with_pool() -> float:
            pool = Pool("127.0.0.1", port)
            data = body.encode()
            for _ in range(50):
                await (await pool.request(b"POST", b"/v1/chat/completions", data)).read()
            t = time.process_time()
            for _ in range(n):
                r = await pool.request(b"POST", b"/v1/chat/completions", data)
                await r.read()
            pool.close()
            return (time.process_time() - t) / n

        import uvloop

        for name, fn in (("httpx.AsyncClient", with_httpx), ("gateway Pool", with_pool)):
            per = uvloop.run(fn())
            print(f"{name}: {per * 1e6:.0f} µs CPU per request (client side, {n} sequential)")
        return 0
    finally:
        procs.stop()


def check_shared(url: str, tmp: Path) -> dict[str, object]:
    """After the run: the shared chain verifies and the spend equals the audited costs."""
    import psycopg

    from modelcustoms.gateway.ledger import verify_lines
    from modelcustoms.gateway.shared import export_lines, libpq_url

    time.sleep(1.0)
    lines = list(export_lines(url))
    check = verify_lines(lines)
    audited = sum(json.loads(line).get("cost_nano_usd", 0) for line in lines)
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT COALESCE(SUM(nano), 0) FROM gateway_spend").fetchone()
    spent = int(row[0]) if row else 0
    return {
        "entries": check.count,
        "chain_problems": len(check.problems),
        "audited_cost_nano_usd": audited,
        "store_spent_nano_usd": spent,
    }


if __name__ == "__main__":
    raise SystemExit(main())
