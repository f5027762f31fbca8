"""Provenance of a remote repo through the pipeline: bounded requests and bytes, no weights."""

from __future__ import annotations

from pathlib import Path

from modelcustoms.artifacts.http import HttpSettings
from modelcustoms.pipeline import InspectOptions, inspect
from modelcustoms.sources.resolve import SourceOptions
from tests.hubserver import HubServer, llama70b_files

FAST = HttpSettings(trust_env=False, backoff=0.01, connect_timeout=2.0, read_timeout=5.0)


def test_remote_70b_class_provenance_is_cheap(tmp_path: Path) -> None:
    with HubServer(tmp_path / "hub") as hub:
        hub.add_repo("meta-llama/Meta-Llama-3-70B", llama70b_files())
        cache = tmp_path / "cache"
        cache.mkdir()
        options = InspectOptions(
            run_scan=False,
            source=SourceOptions(
                env={"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache)}, http=FAST
            ),
        )
        hub.reset_counters()
        report = inspect(["hf:meta-llama/Meta-Llama-3-70B"], options)
    # Read the counters after the server stopped: its handler threads have all finished.
    requests, sent = hub.requests, hub.bytes_sent
    print(f"remote provenance, 70B-class layout: {requests} requests, {sent} bytes")
    facts = {f.key: f.value for f in report.facts}
    assert facts["identity.family"] == "llama3"
    assert facts["origin.country"] == "US"
    assert requests < 20
    assert sent < 2 * 1024 * 1024
