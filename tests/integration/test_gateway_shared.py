"""Several gateway processes sharing PostgreSQL keep one exact audit chain, spend and rate limit.

Three real `customs gateway serve` processes, one real PostgreSQL holding the registry (where
the passport is looked up) and the shared state, one real upstream; requests are fired
concurrently at all three.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from modelcustoms.cli import main
from modelcustoms.core.load import load_report
from modelcustoms.gateway.keys import new_key
from modelcustoms.gateway.ledger import verify_lines
from modelcustoms.gateway.shared import export_lines, libpq_url
from modelcustoms.passport import load_public_key
from modelcustoms.registry.store import RegistryStore
from tests.pgserver import postgres_server, postgres_url  # noqa: F401
from tests.unit.gateway.helpers import keypair, passport_for, upstream, write_config
from tests.unit.gateway.upstream import ServerThread, UpstreamApp

PROCESSES = 3
REQUESTS = 90
RPM = 60


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("gateway did not start")


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str):  # noqa: F811
    key, pub = keypair(tmp_path / "keys")
    sha = passport_for(tmp_path / "passports", key, "m", origin="US")
    # The passports come from the registry, in the same PostgreSQL database as the shared state.
    with RegistryStore(postgres_url, trusted_keys=[load_public_key(pub.read_bytes())]) as store:
        doc = load_report((tmp_path / "passports" / "m.report.json").read_bytes())
        env = json.loads((tmp_path / "passports" / "m.passport.json").read_text())
        store.record(doc, env, actor="test")
    limited, limited_hash = new_key()
    spender, spender_hash = new_key()
    with ServerThread(UpstreamApp()) as up:
        cfg = write_config(
            tmp_path / "gw.yaml",
            passports={"registry": postgres_url, "public_keys": ["keys/passport.pub"]},
            upstreams=[
                upstream(
                    "u",
                    up.url,
                    sha,
                    operator_country="US",
                    price={"input_per_mtok": 7, "output_per_mtok": 11},
                )
            ],
            models=[{"name": "chat", "routes": ["u"]}],
            keys=[
                {"id": "limited", "sha256": limited_hash, "rpm": RPM},
                {"id": "spender", "sha256": spender_hash, "budget_usd": "1000"},
            ],
            audit={"postgres": True},
            shared={"postgres_url": postgres_url},
        )
        ports, procs = [], []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            for _ in range(PROCESSES):
                port = _port()
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "modelcustoms",
                        "gateway",
                        "serve",
                        str(cfg),
                        "--port",
                        str(port),
                        "--quiet",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env=env,
                )
                procs.append(proc)
                ports.append(port)
            for port, proc in zip(ports, procs, strict=True):
                _ready(port, proc)
            yield {
                "ports": ports,
                "procs": procs,
                "limited": limited,
                "spender": spender,
                "url": postgres_url,
            }
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in procs:
                proc.wait(30)
                if proc.stderr is not None:
                    proc.stderr.close()


def _fire(ports: list[int], key: str, n: int) -> list[int]:
    def one(i: int) -> int:
        body = {"model": "chat", "messages": [{"role": "user", "content": f"request {i} " * 3}]}
        r = httpx.post(
            f"http://127.0.0.1:{ports[i % len(ports)]}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        return r.status_code

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(n)))


def test_three_processes_keep_one_exact_chain_spend_and_rate_limit(cluster, capsys):
    minute = int(time.time() // 60)
    limited = _fire(cluster["ports"], cluster["limited"], REQUESTS)
    same_window = int(time.time() // 60) == minute
    spender = _fire(cluster["ports"], cluster["spender"], REQUESTS)
    assert set(spender) == {200}
    if same_window:  # all in one rate window: exactly RPM admitted across the processes
        assert limited.count(200) == RPM and limited.count(429) == REQUESTS - RPM
    else:
        assert limited.count(200) >= RPM and set(limited) <= {200, 429}
    for proc in cluster["procs"]:  # stop: each process writes what it still holds
        proc.send_signal(signal.SIGINT)
    for proc in cluster["procs"]:
        assert proc.wait(30) == 0
    lines = list(export_lines(cluster["url"]))
    check = verify_lines(lines)
    assert check.problems == () and check.count == 2 * REQUESTS
    entries = [json.loads(line) for line in lines]
    audited = {}
    for e in entries:
        audited[e["key"]] = audited.get(e["key"], 0) + e.get("cost_nano_usd", 0)
    with psycopg.connect(libpq_url(cluster["url"])) as conn:
        spent = dict(conn.execute("SELECT key_id, nano FROM gateway_spend").fetchall())
    assert spent == {k: v for k, v in audited.items() if v}
    assert audited["spender"] == REQUESTS * (6 * 7_000 + 7 * 11_000)  # 6 in, 7 out
    assert main(["gateway", "verify-log", "--postgres", cluster["url"]]) == 0
    assert f"{2 * REQUESTS} entries, chain verified" in capsys.readouterr().out
