"""Harness overhead: requests/s through the audit harness vs a bare async httpx client.

    .venv/bin/python benchmarks/audit_overhead.py [--requests 2000] [--concurrency 8] [--rounds 5]

Both hit the same fast local OpenAI-compatible server (a raw ASGI app under uvicorn, in its own
process on 127.0.0.1, answering a fixed completion). The harness path is the real one: an
``OpenAITarget`` (semaphore, retries armed, JSON parsing) under ``answer_all`` with an SQLite
response cache on disk (every answer committed as it arrives); every request is distinct, so
nothing comes from the cache. Rounds alternate bare/harness; both the ratio of the medians
and the median of the per-round ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from modelcustoms.engines.audit import HttpOptions, Message, OpenAITarget, Request, ResponseCache
from modelcustoms.engines.audit.harness import answer_all

SERVER = r"""
import json, sys, uvicorn
BODY = json.dumps({"id": "x", "object": "chat.completion", "choices": [{"index": 0,
    "message": {"role": "assistant", "content": "I'm sorry, I can't help with that."},
    "finish_reason": "stop"}]}).encode()
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        msg = await receive()
        more = msg.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False)
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _requests(n: int, tag: str) -> list[Request]:
    return [Request((Message("user", f"{tag} question {i}"),), max_tokens=16) for i in range(n)]


async def bare(base: str, reqs: list[Request], concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        base_url=base, limits=httpx.Limits(max_connections=concurrency)
    ) as client:
        todo = list(reversed(reqs))
        out: list[str] = []

        # NOTE: a fixed pool of workers, the fastest plain shape (gathering one task per
        # request measured ~20% slower): the baseline is a good bare client, not a naive one.
        async def worker() -> None:
            while todo:
                r = todo.pop()
                async with sem:
                    body = {
                        "model": "m",
                        "messages": [{"role": m.role, "content": m.content} for m in r.messages],
                        "max_tokens": r.max_tokens,
                    }
                    resp = await client.post("/chat/completions", json=body)
                    resp.raise_for_status()
                    out.append(str(resp.json()["choices"][0]["message"]["content"]))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        assert len(out) == len(reqs)
        return len(reqs) / (time.perf_counter() - start)


async def harness(base: str, reqs: list[Request], concurrency: int, cache_path: Path) -> float:
    target = OpenAITarget(base, "m", options=HttpOptions(concurrency=concurrency))
    cache = ResponseCache(cache_path)
    try:
        start = time.perf_counter()
        _answers, stats = await answer_all(target, reqs, cache, workers=concurrency)
        rate = len(reqs) / (time.perf_counter() - start)
    finally:
        await target.aclose()
        cache.close()
    assert stats.sent == len(reqs) and stats.errors == 0, stats
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    port = _port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                httpx.post(base + "/chat/completions", json={}, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        bare_rates, harness_rates = [], []
        bare_cpu, harness_cpu = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(args.rounds):
                reqs = _requests(args.requests, f"round{n}")
                c0 = time.process_time()
                bare_rates.append(asyncio.run(bare(base, reqs, args.concurrency)))
                c1 = time.process_time()
                harness_rates.append(
                    asyncio.run(
                        harness(base, reqs, args.concurrency, Path(tmp) / f"cache{n}.sqlite")
                    )
                )
                c2 = time.process_time()
                bare_cpu.append((c1 - c0) / len(reqs) * 1e6)
                harness_cpu.append((c2 - c1) / len(reqs) * 1e6)
        b, h = statistics.median(bare_rates), statistics.median(harness_rates)
        print(json.dumps({
            "requests_per_round": args.requests,
            "concurrency": args.concurrency,
            "bare_rps": [round(x) for x in bare_rates],
            "harness_rps": [round(x) for x in harness_rates],
            "bare_median_rps": round(b),
            "harness_median_rps": round(h),
            "ratio": round(h / b, 3),
            # each round's harness rate over the bare rate just before it: robust to slow drift
            # of a shared machine's load.
            # client CPU per request (this process only: the server's and other processes' load
            # does not enter), the steadier view of the harness's own cost on a shared machine.
            "bare_cpu_us_per_request": round(statistics.median(bare_cpu)),
            "harness_cpu_us_per_request": round(statistics.median(harness_cpu)),
            "cpu_efficiency": round(
                statistics.median(bare_cpu) / statistics.median(harness_cpu), 3
            ),
            "median_paired_ratio": round(
                statistics.median(x / y for x, y in zip(harness_rates, bare_rates, strict=True)), 3
            ),
        }, indent=2))  # fmt: skip
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
