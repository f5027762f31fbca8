"""Release-age and ecosystem dependency facts of a Hub repo, through the pipeline, against the
local hub server on 127.0.0.1: values, offline, a failing listing, and the listing's bound."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from modelcustoms.artifacts.http import HttpSettings
from modelcustoms.core import Decision, Report
from modelcustoms.pipeline import InspectOptions, inspect
from modelcustoms.policy import evaluate, load_policy
from modelcustoms.sources.huggingface import HubSettings, HuggingFaceSource
from modelcustoms.sources.resolve import SourceOptions
from tests.hubserver import HubServer, hub_server, llama70b_files

__all__ = ["hub_server"]

FAST = HttpSettings(trust_env=False, backoff=0.01, connect_timeout=2.0, read_timeout=5.0)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CONFIG = {"architectures": ["MysteryForCausalLM"], "model_type": "mystery", "hidden_size": 64}
FILES = {
    "config.json": json.dumps(CONFIG).encode(),
    "README.md": b"---\nlicense: apache-2.0\n---\n# base\n",
}


def _derived(hub: HubServer) -> None:
    """Three quantizations by two other publishers, a fine-tune by the publisher itself, an
    adapter by a third publisher, and a repo derived from something else."""
    for repo, rel in (
        ("bartowski/base-GGUF", "quantized"),
        ("bartowski/base-AWQ", "quantized"),
        ("unsloth/base-bnb-4bit", "quantized"),
        ("org/base-Instruct", "finetune"),
        ("someone/base-lora", "adapter"),
    ):
        hub.add_repo(repo, {"README.md": b"# x\n"}, base_model=(rel, "org/base"))
    hub.add_repo("other/thing-GGUF", {"README.md": b"# y\n"}, base_model=("quantized", "org/x"))


def _inspect(hub: HubServer, cache: Path, ref: str, **env: str) -> Report:
    options = InspectOptions(
        run_scan=False,
        source=SourceOptions(
            env={"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache), **env}, http=FAST
        ),
    )
    return inspect([ref], options, now=NOW)


def _facts(report: Report) -> dict[str, Any]:
    return {f.key: f.value for f in report.facts if f.key.startswith("dependency.")}


def _listings(hub: HubServer) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(h.path).query) for h in hub.hits if h.path.startswith("/api/models?")]


def test_release_and_ecosystem_facts(hub_server: HubServer, tmp_path: Path) -> None:
    hub_server.add_repo(
        "org/base",
        FILES,
        created_at="2024-04-17T23:33:47.000Z",
        last_modified="2025-01-02T10:00:00.000Z",
    )
    _derived(hub_server)
    hub_server.reset_counters()
    report = _inspect(hub_server, tmp_path, "hf:org/base")
    got = _facts(report)
    assert got["dependency.release.created"] == "2024-04-17T23:33:47Z"
    assert got["dependency.release.last_modified"] == "2025-01-02T10:00:00Z"
    assert (
        got["dependency.release.age_days"]
        == (NOW - datetime(2024, 4, 17, 23, 33, 47, tzinfo=UTC)).days
    )
    assert got["dependency.release.days_since_update"] == 695
    assert got["dependency.ecosystem.base"] == "org/base"
    assert got["dependency.ecosystem.quantizations"] == 3
    assert got["dependency.ecosystem.derivatives"] == 5
    # The publisher's own fine-tune is not an independent copy.
    assert got["dependency.ecosystem.publishers"] == 3
    assert got["dependency.ecosystem.publisher_names"] == ["bartowski", "someone", "unsloth"]
    assert got["dependency.ecosystem.complete"] is True
    by_key = {f.key: f for f in report.facts}
    ev = by_key["dependency.ecosystem.quantizations"].evidence
    assert any("filter=base_model%3Aquantized%3Aorg%2Fbase" in e.location.artifact for e in ev)
    created = by_key["dependency.release.created"].evidence[0].location
    assert created.artifact.endswith("/api/models/org/base/revision/main")
    assert created.pointer == "/createdAt"
    listings = _listings(hub_server)
    assert [q["filter"][0].split(":")[1] for q in listings] == [
        "quantized",
        "finetune",
        "adapter",
        "merge",
    ]
    assert all(q["limit"] == ["100"] for q in listings)
    # Updated 695 days before NOW: the stale rule fires; others publish copies: no single-source.
    fired = set(evaluate(report, load_policy("dependency")).verdict.fired_rules)
    assert "dependency.stale" in fired
    assert "dependency.single-source" not in fired


def test_lineage_root_is_counted(hub_server: HubServer, tmp_path: Path) -> None:
    """A renamed 70B-class repo: the identified release's reference repo is the root counted."""
    hub_server.add_repo("someone/renamed-70b", llama70b_files(shards=2))
    hub_server.add_repo(
        "bartowski/Meta-Llama-3-70B-GGUF",
        {"README.md": b"# q\n"},
        base_model=("quantized", "meta-llama/Meta-Llama-3-70B"),
    )
    report = _inspect(hub_server, tmp_path, "hf:someone/renamed-70b")
    got = _facts(report)
    assert got["dependency.ecosystem.base"] == "meta-llama/Meta-Llama-3-70B"
    assert got["dependency.ecosystem.quantizations"] == 1
    assert got["dependency.ecosystem.publishers"] == 1
    # No dates in the repo info: no release facts, nothing guessed.
    assert "dependency.release.created" not in got
    assert "dependency.release.days_since_update" not in got


def test_single_source_when_nobody_else_publishes(hub_server: HubServer, tmp_path: Path) -> None:
    hub_server.add_repo("org/base", FILES, last_modified="2026-10-01T00:00:00Z")
    hub_server.add_repo(
        "org/base-GGUF", {"README.md": b"# own\n"}, base_model=("quantized", "org/base")
    )
    report = _inspect(hub_server, tmp_path, "hf:org/base")
    got = _facts(report)
    assert got["dependency.ecosystem.quantizations"] == 1
    assert got["dependency.ecosystem.publishers"] == 0
    assert got["dependency.release.days_since_update"] == 58
    verdict = evaluate(report, load_policy("dependency")).verdict
    assert "dependency.single-source" in verdict.fired_rules
    assert "dependency.stale" not in verdict.fired_rules
    assert verdict.decision is Decision.WARN


def test_offline_makes_no_listing_and_no_failure(hub_server: HubServer, tmp_path: Path) -> None:
    commit = hub_server.add_repo("org/base", FILES, last_modified="2020-01-01T00:00:00Z")
    _derived(hub_server)
    cache = tmp_path / "cache"
    repo = cache / "models--org--base"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    for name, data in FILES.items():
        (repo / "snapshots" / commit).mkdir(parents=True, exist_ok=True)
        (repo / "snapshots" / commit / name).write_bytes(data)
    hub_server.reset_counters()
    report = _inspect(hub_server, cache, "hf:org/base", HF_HUB_OFFLINE="1")
    assert hub_server.requests == 0
    got = _facts(report)
    assert not any(k.startswith(("dependency.release.", "dependency.ecosystem.")) for k in got)
    assert "dependency.trust_remote_code" in got  # the file-based facts are still there
    fired = set(evaluate(report, load_policy("dependency")).verdict.fired_rules)
    assert not fired & {"dependency.stale", "dependency.single-source"}


def test_failing_listing_is_a_skip_not_a_failure(hub_server: HubServer, tmp_path: Path) -> None:
    hub_server.add_repo("org/base", FILES, created_at="2024-01-01T00:00:00Z")
    hub_server.listing_status = 500
    hub_server.reset_counters()
    report = _inspect(hub_server, tmp_path, "hf:org/base")
    got = _facts(report)
    assert got["dependency.release.created"] == "2024-01-01T00:00:00Z"
    assert not any(k.startswith("dependency.ecosystem.") for k in got)
    run = next(r for r in report.runs if r.engine == "provenance")
    skip = next(s for s in run.skips if s.reason == "hub-listing-unavailable")
    assert skip.artifact == "org/base" and "500" in skip.detail
    # No retries, and the first failure stops the listing: one request, not four.
    assert len(_listings(hub_server)) == 1


def test_listing_is_bounded_by_limit(hub_server: HubServer, tmp_path: Path) -> None:
    hub_server.add_repo("org/base", FILES)
    for i in range(7):
        hub_server.add_repo(f"q{i}/base-GGUF", {"a": b"1"}, base_model=("quantized", "org/base"))
    settings = HubSettings.from_env({"HF_ENDPOINT": hub_server.url, "HF_HUB_CACHE": str(tmp_path)})
    source = HuggingFaceSource("hf:org/base", "org/base", None, settings, http=FAST)
    try:
        hub_server.reset_counters()
        listings, skip = source.derived("org/base", limit=3)
    finally:
        source.close()
    assert skip is None
    assert len(listings["quantized"].ids) == 3 and not listings["quantized"].complete
    assert listings["merge"].ids == () and listings["merge"].complete
    assert all(q["limit"] == ["3"] for q in _listings(hub_server))
    assert hub_server.requests == 4


def test_malformed_dates_cost_only_the_date_facts(hub_server: HubServer, tmp_path: Path) -> None:
    hub_server.add_repo(
        "org/base", FILES, extra={"createdAt": 1713396827, "lastModified": "yesterday"}
    )
    got = _facts(_inspect(hub_server, tmp_path, "hf:org/base"))
    assert not any(k.startswith("dependency.release.") for k in got)
    assert got["dependency.ecosystem.quantizations"] == 0
