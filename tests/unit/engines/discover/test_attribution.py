"""Every reported model has a publisher and its country, or says explicitly why not.

Checked on everything both corpora report and on a grid of hits the resolver can meet (known and
unknown names, hub ids, router strings, hosts, client classes), so that no path through
``resolve`` returns a reference that is silent about its origin.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.kinds import ReferenceKind, Via
from modelcustoms.engines.discover.refs import Ref
from modelcustoms.engines.discover.resolve import resolve
from modelcustoms.engines.discover.scan import DiscoverOptions, discover_tree
from modelcustoms.engines.discover.vocab import default_vocabulary

DATA = Path(__file__).resolve().parents[3] / "data" / "discover"

VALUES = [
    "qwen-plus",
    "Qwen/Qwen2.5-7B-Instruct",
    "deepseek/deepseek-chat",
    "openrouter/qwen/qwen-2.5-72b-instruct",
    "qwen2.5:0.5b",
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "meta-llama/Llama-3.1-8B-Instruct",
    "all-MiniLM-L6-v2",
    "mystery-model-7b",
    "unknown-org/unknown-model",
    "ep-20250206170923-bx29l",
]
ENDPOINTS = [
    None,
    "https://api.deepseek.com",
    "https://api.siliconflow.cn/v1",
    "http://localhost:11434",
    "https://llm.internal.example.com/v1",
]


def _explained(ref: Ref) -> bool:
    """A publisher with its country, or a non-empty reason why not."""
    if ref.publisher and ref.publisher_country:
        return True
    return bool(ref.unresolved and ref.unresolved.strip())


def test_every_reference_in_both_corpora_has_a_publisher_or_says_why() -> None:
    vocab = default_vocabulary()
    for folder in (DATA / "corpus", DATA / "real" / "repos"):
        refs = discover_tree(folder, DiscoverOptions(), vocab).references
        assert refs
        silent = [r for r in refs if not _explained(r)]
        assert not silent, silent
        # A host that is named is attributed too: its operator and country, or the reason.
        hosts = [r for r in refs if r.endpoint and r.host_operator]
        assert all(r.host_country for r in hosts), hosts


def test_no_hit_resolves_to_a_silent_reference() -> None:
    vocab = default_vocabulary()
    providers = [None, *vocab.kb.providers]
    kinds = list(ReferenceKind)
    checked = 0
    for value, endpoint, kind, provider in itertools.product(
        [*VALUES, None], ENDPOINTS, kinds, providers
    ):
        if value is None and endpoint is None and kind is not ReferenceKind.SDK_CLASS:
            continue
        hit = Hit(kind, 3, Via.LITERAL, 0.9, model=value, endpoint=endpoint, provider=provider)
        ref = resolve(vocab, hit, "app.py")
        assert _explained(ref), (hit, ref)
        checked += 1
    assert checked > 1000
