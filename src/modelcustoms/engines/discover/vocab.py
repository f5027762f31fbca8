"""The discover vocabulary, compiled once from the knowledge base (no names live in code)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from modelcustoms.engines.discover.kbview import (
    FamilyRow,
    KBView,
    ProviderRow,
    PublisherRow,
    bundled_view,
)
from modelcustoms.engines.discover.patterns import LazyPattern

_MAX_ALTERNATIVES = 5000


def _alternation(words: set[str]) -> str:
    # NOTE: longest first, so that a prefix never shadows a longer name in the alternation.
    ordered = sorted(words, key=lambda w: (-len(w), w))[:_MAX_ALTERNATIVES]
    return "|".join(re.escape(w) for w in ordered) or r"(?!x)x"


class Vocabulary(NamedTuple):
    """Indexes and compiled patterns over providers, publishers and families."""

    kb: KBView
    classes: dict[str, ProviderRow]
    prefixes: dict[str, ProviderRow]
    hosts: tuple[tuple[str, ProviderRow], ...] = ()
    host_tld_re: re.Pattern[str] = re.compile(r"(?!x)x")
    """A dot and the top-level label of any host: a (lowercased) line without one names no
    known host (searching for the dot first is much cheaper than for every host)."""
    router_re: re.Pattern[str] = re.compile(r"(?!x)x")
    class_re: re.Pattern[str] = re.compile(r"(?!x)x")
    family_res: tuple[tuple[LazyPattern, FamilyRow], ...] = ()
    provider_res: tuple[tuple[LazyPattern, ProviderRow], ...] = ()

    @classmethod
    def build(cls, kb: KBView) -> Vocabulary:
        """Compile the vocabulary of ``kb``."""
        classes: dict[str, ProviderRow] = {}
        prefixes: dict[str, ProviderRow] = {}
        hosts: list[tuple[str, ProviderRow]] = []
        for p in kb.providers:
            for c in p.sdk_classes:
                classes.setdefault(c, p)
            for x in p.litellm_prefixes:
                prefixes.setdefault(x, p)
            hosts.extend((h, p) for h in p.hosts)
        router_re = re.compile(
            r"(?<![\w.\-/@])(" + _alternation(set(prefixes)) + r")/([A-Za-z0-9][\w.:\-/]{0,120})"
        )
        class_re = re.compile(r"\b(" + _alternation(set(classes)) + r")\s*\(")
        family_res = tuple((LazyPattern(p), f) for f in kb.families for p in f.name_patterns)
        provider_res = tuple((LazyPattern(p), pr) for pr in kb.providers for p in pr.model_patterns)
        return cls(
            kb=kb,
            classes=classes,
            prefixes=prefixes,
            hosts=tuple(hosts),
            host_tld_re=re.compile(
                r"\.(?:" + _alternation({h.lower().rsplit(".", 1)[-1] for h, _ in hosts}) + r")\b"
            ),
            router_re=router_re,
            class_re=class_re,
            family_res=family_res,
            provider_res=provider_res,
        )

    def provider_of_host(self, host: str) -> ProviderRow | None:
        """The provider serving ``host`` (exact or a subdomain of a listed host)."""
        h = host.lower().split(":", 1)[0].rstrip(".")
        for name, p in self.hosts:
            if h == name or h.endswith("." + name):
                return p
        return None

    def publisher_of_namespace(self, ns: str) -> PublisherRow | None:
        """The publisher owning a hub namespace."""
        return self.kb.publisher_of_namespace(ns)

    def family_of(self, name: str) -> FamilyRow | None:
        """The family whose name pattern matches ``name`` (lowercased) earliest.

        The earliest match names the model; later ones name its base
        (``deepseek-r1-distill-qwen-7b`` is a DeepSeek distill, then a Qwen).
        """
        low = name.lower()
        best: tuple[int, int, FamilyRow] | None = None
        for rx, fam in self.family_res:
            m = rx.search(low)
            if m and (best is None or (m.start(), -len(m.group(0))) < best[:2]):
                best = (m.start(), -len(m.group(0)), fam)
        return best[2] if best else None

    def provider_of_model(self, name: str) -> ProviderRow | None:
        """The provider whose own model names match ``name``."""
        low = name.lower()
        for rx, p in self.provider_res:
            if rx.search(low):
                return p
        return None

    def names_a_model(self, value: str) -> bool:
        """True when ``value`` looks like a model the knowledge base can attribute."""
        if "/" in value:
            head, _, tail = value.partition("/")
            if self.publisher_of_namespace(head) is not None or head.lower() in self.prefixes:
                return True
            value = tail
        # NOTE: the family and provider patterns one by one (each compiled only when the text
        # holds its literal), not one joined alternation that every run would compile.
        low = value.lower()
        return any(rx.search(low) for rx, _ in self.family_res) or any(
            rx.search(low) for rx, _ in self.provider_res
        )


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The vocabulary of the bundled knowledge base."""
    return Vocabulary.build(bundled_view())
