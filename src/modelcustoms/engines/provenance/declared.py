"""The declared story: what the card, the config and the file names say the model is.

Declared names are claims, not evidence: they are collected with where they were read, and
resolved against the knowledge base only by public names (reference repos, name patterns)
and hub namespaces (publishers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from modelcustoms.artifacts.gguf import GGUFFile
from modelcustoms.engines.provenance.metadata import FileRef, Metadata
from modelcustoms.kb import Family, KnowledgeBase, Publisher, Release

MAX_NAME = 256
_NESTED_LLM = ("text_config", "language_config", "llm_config", "language", "language_model", "text")
_REPO = re.compile(
    r"^(?:https?://(?:www\.)?(?:huggingface\.co|hf\.co)/)?([A-Za-z0-9][\w.\-]*)/([\w.\-]+)/?$"
)


@dataclass(frozen=True, slots=True)
class Declared:
    """One declared name and where it was read."""

    value: str
    source: str
    """Human label, e.g. ``card base_model``."""
    kind: Literal["base", "name"]
    """``base``: what the model says it derives from; ``name``: what it says it is."""
    ref: FileRef
    pointer: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """A declared name resolved against the knowledge base."""

    declared: Declared
    family: Family | None
    release: Release | None
    publisher: Publisher | None
    repo: str | None
    """``namespace/name`` when the value is a hub repo id."""


def collect_declared(meta: Metadata) -> list[Declared]:
    """Declared names, strongest source first."""
    out: list[Declared] = []
    adapter, aref = meta.doc("adapter"), meta.ref("adapter")
    if adapter is not None and aref is not None:
        _add(out, adapter.get("base_model_name_or_path"), "adapter base", "base", aref, "/base")
    if meta.card_ref is not None:
        base = meta.card.get("base_model")
        for i, v in enumerate(base if isinstance(base, list) else [base]):
            _add(out, v, "card base_model", "base", meta.card_ref, f"/base_model/{i}")
    if meta.gguf is not None and meta.gguf_ref is not None:
        out.extend(_gguf_declared(meta.gguf, meta.gguf_ref))
    config, cref = meta.doc("config"), meta.ref("config")
    if config is not None and cref is not None:
        for key in _NESTED_LLM:
            sub = config.get(key)
            if isinstance(sub, dict):
                ptr = f"/{key}/_name_or_path"
                _add(
                    out, sub.get("_name_or_path"), f"config {key}._name_or_path", "base", cref, ptr
                )
        _add(
            out, config.get("_name_or_path"), "config _name_or_path", "name", cref, "/_name_or_path"
        )
    if meta.card_ref is not None:
        _add(
            out,
            meta.card.get("model_name"),
            "card model_name",
            "name",
            meta.card_ref,
            "/model_name",
        )
        _add(out, meta.card_title, "card title", "name", meta.card_ref, "title")
    return out


def _gguf_declared(gguf: GGUFFile, ref: FileRef) -> list[Declared]:
    out: list[Declared] = []
    for i in range(8):
        url = gguf.get(f"general.base_model.{i}.repo_url")
        org = gguf.get(f"general.base_model.{i}.organization")
        name = gguf.get(f"general.base_model.{i}.name")
        if isinstance(url, str):
            _add(
                out, url, "GGUF general.base_model", "base", ref, f"general.base_model.{i}.repo_url"
            )
        elif isinstance(name, str):
            value = f"{org}/{name}" if isinstance(org, str) else name
            _add(out, value, "GGUF general.base_model", "base", ref, f"general.base_model.{i}.name")
    for key in ("general.name", "general.basename"):
        _add(out, gguf.get(key), f"GGUF {key}", "name", ref, key)
    return out


def _add(out: list[Declared], value: Any, source: str, kind: str, ref: FileRef, ptr: str) -> None:
    if not isinstance(value, str):
        return
    value = value.strip()[:MAX_NAME]
    if value.rstrip("/") in ("", ".", "..", "./"):
        return
    if value.startswith(("/", "./", "../", "~")) or "\\" in value:
        # A local path on the uploader's machine: only its last part names the model.
        value = re.split(r"[\\/]", value.rstrip("/\\"))[-1]
        source += " (local path)"
    if value and not any(d.value == value and d.kind == kind for d in out):
        assert kind in ("base", "name")
        out.append(Declared(value, source, "base" if kind == "base" else "name", ref, ptr))


def resolve(kb: KnowledgeBase, declared: Declared) -> Resolved:
    """The family, release and publisher a declared name points to, where the KB knows them."""
    repo = None
    publisher = None
    m = _REPO.match(declared.value)
    if m:
        repo = f"{m.group(1)}/{m.group(2)}"
        publisher = kb.publisher_of_namespace(m.group(1))
    family, release = family_of_name(kb, declared.value)
    return Resolved(declared, family, release, publisher, repo)


def family_of_name(kb: KnowledgeBase, value: str) -> tuple[Family | None, Release | None]:
    """Resolve a model name or repo id by reference repos, then by the earliest pattern match."""
    low = value.lower()
    m = _REPO.match(value)
    repo = f"{m.group(1)}/{m.group(2)}".lower() if m else None
    for fam in kb.families:
        for rel in fam.releases:
            if repo and rel.repo and rel.repo.lower() == repo:
                return fam, rel
        if repo and any(r.lower() == repo for r in fam.reference_repos):
            return fam, None
    name = re.sub(r"[\s_]+", "-", low)
    best: tuple[int, int, Family] | None = None
    for fam in kb.families:
        for pat in fam.name_patterns:
            hit = re.search(pat, name)
            if hit and (best is None or (hit.start(), -len(hit.group(0))) < best[:2]):
                best = (hit.start(), -len(hit.group(0)), fam)
    return (best[2], None) if best else (None, None)
