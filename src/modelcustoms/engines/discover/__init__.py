"""Discover engine: every model a codebase (or a disk tree) uses, with where it comes from.

It reads source files, configs, notebooks and manifests as text (never importing or running
them) and GGUF headers of model files, and emits one ``discover.reference`` fact per reference
with file:line evidence, publisher and country, host operator and country, and lineage.

The scanning core (:mod:`.scan`) works on plain data; the report-model types are imported only
when :class:`DiscoverEngine` is, so ``customs discover -f json`` starts fast (:mod:`.document`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelcustoms.engines.discover.scan import DiscoverOptions

if TYPE_CHECKING:
    from modelcustoms.core import Rule
    from modelcustoms.engines.discover.engine import DiscoverEngine, DiscoverResult

ENGINE = "discover"
FACT_KEY = "discover.reference"

__all__ = [
    "ENGINE",
    "FACT_KEY",
    "RULES",
    "DiscoverEngine",
    "DiscoverOptions",
    "DiscoverResult",
]

RULES: tuple[Rule, ...]


def __getattr__(name: str) -> Any:
    # NOTE: lazy, so that importing the plain-data core does not load the report model.
    if name in ("DiscoverEngine", "DiscoverResult"):
        from modelcustoms.engines.discover import engine

        return getattr(engine, name)
    if name == "RULES":
        from modelcustoms.engines.discover.findings import RULES

        return RULES
    raise AttributeError(name)
