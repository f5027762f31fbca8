"""``customs serve`` as a real process: it starts, records, and keeps everything across restarts,
including after being killed (SIGKILL) right after answering."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from modelcustoms.registry.auth import Role
from modelcustoms.registry.store import RegistryStore
from tests.unit.registry.reports import model_report


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "modelcustoms", "serve", "--db", db, "--port", str(port)]
    with log.open("ab") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(log.read_text())
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("customs serve did not start")


def test_restarts_keep_everything(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    with RegistryStore(db) as store:
        token = store.create_token("ci", Role.APPROVER)
    headers = {"Authorization": f"Bearer {token}"}
    port = _port()
    url = f"http://127.0.0.1:{port}/api/v1"
    for round_, sig in enumerate((signal.SIGTERM, signal.SIGKILL)):
        proc = _serve(db, port, tmp_path / "serve.log")
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
                assert c.get("/models").json()["total"] == round_ * 3
                for i in range(3):
                    body = {"report": model_report(f"r{round_}/m{i}").model_dump(mode="json")}
                    assert c.post("/reports", json=body).status_code == 201
                if round_ == 0:
                    assert c.post("/models/1/approve", json={"reason": "ok"}).status_code == 201
        finally:
            proc.send_signal(sig)
            proc.wait(timeout=30)
    proc = _serve(db, port, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            page = c.get("/models").json()
            assert page["total"] == 6
            assert [m["approval"] for m in page["items"]].count("approved") == 1
            actions = [e["action"] for e in c.get("/events").json()]
            assert actions.count("record") == 6 and actions.count("approve") == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
