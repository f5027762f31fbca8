"""Probes (one request each, with how to score it), suite data loading and stratified sampling."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any, TypeVar

from modelcustoms.engines.audit.interface import Request, SuiteDataError


class Suite(StrEnum):
    """The suites (``language`` reuses the EN/ZH requests of the first two)."""

    CENSORSHIP = "censorship"
    NARRATIVE = "narrative"
    BUSINESS = "business"
    SECURITY = "security"
    LANGUAGE = "language"
    IMPORTED = "imported"
    """Prompts from public datasets on disk (``--import``)."""


BUILTIN_SUITES = (
    Suite.CENSORSHIP,
    Suite.NARRATIVE,
    Suite.BUSINESS,
    Suite.SECURITY,
    Suite.LANGUAGE,
)
"""What runs by default (the imported suite needs ``--import``)."""


@dataclass(frozen=True, slots=True)
class Probe:
    """One request of a suite and the parameters its scorer needs."""

    id: str
    suite: Suite
    cluster: str
    """Topic or template: the unit the bootstrap resamples (items in it are not independent)."""
    arm: str
    """Role in the design: ``sensitive``/``government``/``harm``, ``variant``, ``injection``..."""
    lang: str
    category: str
    request: Request
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one answer scored: ``passed`` is None when it cannot be judged (error, invalid)."""

    passed: bool | None
    label: str
    detail: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def load_suite_data(name: str) -> dict[str, Any]:
    """A bundled, versioned suite data file."""
    source = resources.files("modelcustoms.engines.audit").joinpath(f"data/{name}.json")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"cannot read bundled suite data {name}.json: {exc}"
        raise SuiteDataError(msg) from exc
    if not isinstance(data, dict) or "version" not in data:
        msg = f"suite data {name}.json has no version"
        raise SuiteDataError(msg)
    return data


T = TypeVar("T")


def stratified_sample(
    items: Sequence[T], k: int | None, category: Callable[[T], str], seed: int
) -> list[T]:
    """Up to ``k`` items, spread over categories round-robin, in a seeded but stable order.

    Each category's items are ordered by a hash of (seed, position), then categories take turns,
    so a sample of 6 from 5 categories covers all five. ``k=None`` keeps everything.
    """
    if k is None or k >= len(items):
        return list(items)
    groups: dict[str, list[tuple[str, int]]] = {}
    for i, item in enumerate(items):
        digest = hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()
        groups.setdefault(category(item), []).append((digest, i))
    queues = [sorted(g) for _, g in sorted(groups.items())]
    chosen: list[int] = []
    while len(chosen) < k:
        for q in queues:
            if q and len(chosen) < k:
                chosen.append(q.pop(0)[1])
    return [items[i] for i in sorted(chosen)]


def canary(seed: int, item: str) -> str:
    """A random-looking token that is stable for (seed, item), so the cache still applies."""
    return "ZX" + hashlib.sha256(f"canary:{seed}:{item}".encode()).hexdigest()[:10].upper()
