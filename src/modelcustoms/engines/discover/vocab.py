"""The discover vocabulary, compiled once from the knowledge base (no names live in code)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from modelcustoms.kb import Family, KnowledgeBase, Provider, Publisher, default_kb

_MAX_ALTERNATIVES = 5000


def _alternation(words: set[str]) -> str:
    # NOTE: longest first, so that a prefix never shadows a longer name in the alternation.
    ordered = sorted(words, key=lambda w: (-len(w), w))[:_MAX_ALTERNATIVES]
    return "|".join(re.escape(w) for w in ordered) or r"(?!x)x"


@dataclass(frozen=True)
class Vocabulary:
    """Indexes and compiled patterns over providers, publishers and families."""

    kb: KnowledgeBase
    classes: dict[str, Provider] = field(default_factory=dict)
    prefixes: dict[str, Provider] = field(default_factory=dict)
    hosts: tuple[tuple[str, Provider], ...] = ()
    host_re: re.Pattern[str] = re.compile(r"(?!x)x")
    hf_id_re: re.Pattern[str] = re.compile(r"(?!x)x")
    router_re: re.Pattern[str] = re.compile(r"(?!x)x")
    class_re: re.Pattern[str] = re.compile(r"(?!x)x")
    family_res: tuple[tuple[re.Pattern[str], Family], ...] = ()
    provider_res: tuple[tuple[re.Pattern[str], Provider], ...] = ()
    names_re: re.Pattern[str] = re.compile(r"(?!x)x")
    """Any model name of a family or a provider (searched in lowercased text)."""

    @classmethod
    def build(cls, kb: KnowledgeBase) -> Vocabulary:
        """Compile the vocabulary of ``kb``."""
        classes: dict[str, Provider] = {}
        prefixes: dict[str, Provider] = {}
        hosts: list[tuple[str, Provider]] = []
        for p in kb.providers:
            for c in p.sdk_classes:
                classes.setdefault(c, p)
            for x in p.litellm_prefixes:
                prefixes.setdefault(x, p)
            hosts.extend((h, p) for h in p.hosts)
        namespaces = {n for pub in kb.publishers for n in pub.hf_namespaces}
        host_re = re.compile(
            r"(?:https?://)?(?<![\w.-])(?:[a-z0-9-]+\.)*(?:"
            + _alternation({h for h, _ in hosts})
            + r")(?::\d{1,5})?(?![\w-])(?:/[^\s\"'<>`),;]*)?",
            re.IGNORECASE,
        )
        hf_id_re = re.compile(
            r"(?<![\w.\-/@])(?:(?:https?://)?(?:huggingface\.co|hf\.co|hf-mirror\.com)/)?("
            + _alternation(namespaces)
            + r")/([A-Za-z0-9][\w.\-]{0,95})",
            re.IGNORECASE,
        )
        router_re = re.compile(
            r"(?<![\w.\-/@])(" + _alternation(set(prefixes)) + r")/([A-Za-z0-9][\w.:\-/]{0,120})"
        )
        class_re = re.compile(r"\b(" + _alternation(set(classes)) + r")\s*\(")
        family_res = tuple((re.compile(p), f) for f in kb.families for p in f.name_patterns)
        provider_res = tuple((re.compile(p), pr) for pr in kb.providers for p in pr.model_patterns)
        all_names = [f.pattern for f, _ in family_res] + [p.pattern for p, _ in provider_res]
        return cls(
            kb=kb,
            classes=classes,
            prefixes=prefixes,
            hosts=tuple(hosts),
            host_re=host_re,
            hf_id_re=hf_id_re,
            router_re=router_re,
            class_re=class_re,
            family_res=family_res,
            provider_res=provider_res,
            names_re=re.compile("|".join(f"(?:{p})" for p in all_names) or r"(?!x)x"),
        )

    def provider_of_host(self, host: str) -> Provider | None:
        """The provider serving ``host`` (exact or a subdomain of a listed host)."""
        h = host.lower().split(":", 1)[0].rstrip(".")
        for name, p in self.hosts:
            if h == name or h.endswith("." + name):
                return p
        return None

    def publisher_of_namespace(self, ns: str) -> Publisher | None:
        """The publisher owning a hub namespace."""
        return self.kb.publisher_of_namespace(ns)

    def family_of(self, name: str) -> Family | None:
        """The family whose name pattern matches ``name`` (lowercased) earliest.

        The earliest match names the model; later ones name its base
        (``deepseek-r1-distill-qwen-7b`` is a DeepSeek distill, then a Qwen).
        """
        low = name.lower()
        best: tuple[int, int, Family] | None = None
        for rx, fam in self.family_res:
            m = rx.search(low)
            if m and (best is None or (m.start(), -len(m.group(0))) < best[:2]):
                best = (m.start(), -len(m.group(0)), fam)
        return best[2] if best else None

    def provider_of_model(self, name: str) -> Provider | None:
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
        return self.names_re.search(value.lower()) is not None


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The vocabulary of the bundled knowledge base."""
    return Vocabulary.build(default_kb())
