"""Dependency risk: what a company must rely on to keep running a model.

Two questions, each answered as ``dependency.*`` facts a policy can test:

- **Code.** Does loading need the repository's own Python (``auto_map`` in config.json or
  tokenizer_config.json means ``trust_remote_code=True``), and does each major runtime
  (transformers, vLLM, llama.cpp) implement the architecture itself? A model only its author's
  code can load dies with that code; one that three runtimes implement does not.
- **Licence.** May the weights be redistributed and mirrored internally (a vault is a mirror),
  and does the licensor keep a right to end the licence or restrict use remotely?

The files are read first (a natively supported architecture can still ship ``auto_map``), the
knowledge base second (``kb/data/architectures.json``, the licence rows). Each fact cites the
file pointer or the knowledge-base row it rests on.

A third needs the Hub, so only a repo read from it has these facts (a local folder has none;
nothing is guessed):

- **Release.** When the repo was created and last changed (``createdAt``/``lastModified`` of the
  repo info already fetched): an old release its publisher no longer updates is a stale one.
- **Ecosystem.** How many repos declare the lineage root (the identified release's reference
  repo, else the repo itself) as their base, as a quantization or otherwise, and how many
  distinct publishers hold them: copies the company could fall back on if the publisher
  withdraws the original. Counts are capped by the listing's limit (``complete`` says so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Protocol

from modelcustoms.core import Evidence, Fact, Location, Skip
from modelcustoms.engines.provenance.architecture import ArchSignature
from modelcustoms.engines.provenance.combine import file_evidence
from modelcustoms.engines.provenance.metadata import Metadata
from modelcustoms.engines.provenance.origin import ENGINE, kb_evidence
from modelcustoms.kb import Architecture, Family, KnowledgeBase, License
from modelcustoms.sources.hfrepo import HubListing, HubRepoInfo

RUNTIMES = ("transformers", "vllm", "llama_cpp")
_ORDER = {"no": 0, "conditional": 1, "yes": 2}
_MAX_FILES = 50


def dependency_facts(
    kb: KnowledgeBase,
    meta: Metadata,
    sig: ArchSignature,
    paths: Sequence[str],
    family: Family | None,
) -> list[Fact]:
    """The ``dependency.*`` facts for one subject."""
    facts = _code_facts(kb, meta, sig, paths)
    facts.extend(_license_facts(kb, meta, family))
    return facts


def _fact(key: str, value: Any, ev: tuple[Evidence, ...], confidence: float = 0.9) -> Fact:
    return Fact(
        key=f"dependency.{key}", value=value, engine=ENGINE, evidence=ev, confidence=confidence
    )


def _code_facts(
    kb: KnowledgeBase, meta: Metadata, sig: ArchSignature, paths: Sequence[str]
) -> list[Fact]:
    out: list[Fact] = []
    remote_ev: list[Evidence] = []
    for role in ("config", "tokenizer_config"):
        doc, ref = meta.doc(role), meta.ref(role)
        auto_map = doc.get("auto_map") if doc is not None else None
        if ref is not None and isinstance(auto_map, dict) and auto_map:
            classes = ", ".join(f"{k}={v}" for k, v in list(auto_map.items())[:4])
            remote_ev.append(file_evidence(ref, "/auto_map", f"auto_map: {classes}"))
    py_files = sorted(p for p in paths if PurePosixPath(p).suffix.lower() == ".py")
    if meta.docs or meta.gguf is not None:
        # NOTE: only a subject with a config or a GGUF header says how it is loaded; a bare
        # folder of weights says nothing either way, so no fact rather than a false "no".
        out.append(_fact("trust_remote_code", bool(remote_ev), tuple(remote_ev)))
    if py_files:
        out.append(_fact("code_files", py_files[:_MAX_FILES], ()))
    arch, name, ev = _architecture(kb, meta, sig)
    if name is not None:
        out.append(_fact("architecture", name, ev))
    if arch is None:
        if name is not None:
            out.extend(_fact(f"native_support.{r}", "unknown", ev, 0.5) for r in RUNTIMES)
        return out
    row_ev = (*ev, kb_evidence(kb, "architectures.json", arch.id, arch.sources))
    native = []
    for runtime in RUNTIMES:
        support = getattr(arch, runtime)
        out.append(_fact(f"native_support.{runtime}", support.status, row_ev, _conf(arch)))
        if support.status == "native":
            native.append(runtime)
    out.append(_fact("native_runtimes", native, row_ev, _conf(arch)))
    return out


def _conf(arch: Architecture) -> float:
    return 0.9 if arch.verified else 0.7


def _architecture(
    kb: KnowledgeBase, meta: Metadata, sig: ArchSignature
) -> tuple[Architecture | None, str | None, tuple[Evidence, ...]]:
    """The knowledge-base row for the subject's architecture, the name seen, and where."""
    ev: tuple[Evidence, ...] = ()
    if sig.source is not None:
        ev = (file_evidence(sig.source, sig.pointer or None, "architecture"),)
    for cls in sig.architectures:
        row = kb.architecture(cls)
        if row is not None:
            return row, cls, ev
    gguf_arch = meta.gguf.get("general.architecture") if meta.gguf is not None else None
    if isinstance(gguf_arch, str):
        return kb.architecture(gguf=gguf_arch), f"gguf:{gguf_arch[:100]}", ev
    if sig.model_type:
        row = kb.architecture(model_type=sig.model_type)
        name = sig.architectures[0] if sig.architectures else f"model_type:{sig.model_type}"
        return row, name, ev
    if sig.architectures:
        return None, sig.architectures[0][:200], ev
    return None, None, ev


def _license_rows(
    kb: KnowledgeBase, meta: Metadata, family: Family | None
) -> tuple[list[License], str]:
    """The licence rows to judge: the declared licence's, else the identified family's."""
    declared = meta.card.get("license")
    if isinstance(declared, str) and declared.strip().lower() not in ("", "other"):
        want = declared.strip().lower()
        fam_ids = set(family.licenses) if family is not None else set()
        exact = [lic for lic in kb.licenses if want in (lic.id, (lic.hf_license_id or "").lower())]
        rows = exact or [lic for lic in kb.licenses if want in _tokens(lic)]
        # NOTE: "apache-2.0" names every Apache row; prefer the family's own when it has one.
        own = [lic for lic in rows if lic.id in fam_ids]
        if own or rows:
            return own or rows, "declared"
    if family is not None:
        rows = [lic for i in family.licenses if (lic := kb.license(i)) is not None]
        if rows:
            return rows, "family"
    return [], "none"


def _tokens(lic: License) -> set[str]:
    return set(re.findall(r"[a-z0-9][a-z0-9.\-]*", (lic.hf_license_id or "").lower()))


def _license_facts(kb: KnowledgeBase, meta: Metadata, family: Family | None) -> list[Fact]:
    rows, basis = _license_rows(kb, meta, family)
    rows = [r for r in rows if r.redistribution is not None]
    if not rows:
        return [_fact("license.known", False, (), 0.5)]
    ev = tuple(kb_evidence(kb, "licenses.json", r.id, r.sources) for r in rows[:4])
    conf = 0.7 if basis == "declared" else 0.5
    # The worst case over the candidate rows: a licence that may be any of them is judged by
    # the most restrictive one until the exact licence file is pinned down.
    red = min((r.redistribution for r in rows if r.redistribution), key=_ORDER.__getitem__)
    mirror = min(
        (r.internal_mirroring for r in rows if r.internal_mirroring), key=_ORDER.__getitem__
    )
    terms = sorted({r.termination for r in rows if r.termination})
    return [
        _fact("license.known", True, ev, conf),
        _fact("license.basis", basis, ev, conf),
        _fact("license.ids", [r.id for r in rows], ev, conf),
        _fact("license.redistribution", red, ev, conf),
        _fact("license.internal_mirroring", mirror, ev, conf),
        _fact("license.termination", terms, ev, conf),
        _fact("license.remote_restriction", any(r.remote_restriction for r in rows), ev, conf),
    ]


class HubLookup(Protocol):
    """What the Hub said about the subject's repo, and a way to list repos derived from one."""

    @property
    def info(self) -> HubRepoInfo | None:
        """The repo info read for the subject (``None`` offline)."""
        ...

    def derived(self, base: str) -> tuple[dict[str, HubListing], Skip | None]:
        """Repos derived from ``base`` by relation, or a skip saying why none were listed."""
        ...


def hub_facts(
    hub: HubLookup, root: str | None, now: datetime
) -> tuple[list[Fact], tuple[Skip, ...]]:
    """Release and ecosystem facts of a Hub repo; ``root`` is the lineage root's repo if known."""
    info = hub.info
    if info is None:
        return [], ()
    facts = _release_facts(info, now)
    base = root or info.repo_id
    listings, skip = hub.derived(base)
    facts.extend(_ecosystem_facts(base, listings))
    return facts, (skip,) if skip is not None else ()


def _release_facts(info: HubRepoInfo, now: datetime) -> list[Fact]:
    out: list[Fact] = []
    for key, pointer, when, days in (
        ("created", "/createdAt", info.created_at, "age_days"),
        ("last_modified", "/lastModified", info.last_modified, "days_since_update"),
    ):
        if when is None:
            continue
        stamp = when.isoformat().replace("+00:00", "Z")
        ev = (_api_evidence(info.url, info.digest, pointer, f"{pointer[1:]}: {stamp}"),)
        out.append(_fact(f"release.{key}", stamp, ev))
        # NOTE: a clock behind the Hub's gives 0, not a negative age.
        out.append(_fact(f"release.{days}", max(0, (now - when).days), ev))
    return out


def _ecosystem_facts(base: str, listings: Mapping[str, HubListing]) -> list[Fact]:
    if not listings:
        return []
    ev = tuple(
        _api_evidence(x.url, x.digest, None, f"{len(x.ids)} repos listed (limit {x.limit})")
        for x in listings.values()
    )
    quantized = listings.get("quantized")
    everyone = {i for x in listings.values() for i in x.ids}
    own = base.split("/")[0] if "/" in base else None
    publishers = sorted({i.split("/")[0] for i in everyone if "/" in i} - {own})
    complete = all(x.complete for x in listings.values())
    conf = 0.9 if complete else 0.6
    return [
        _fact("ecosystem.base", base, ev),
        _fact("ecosystem.quantizations", len(quantized.ids) if quantized else 0, ev, conf),
        _fact("ecosystem.derivatives", len(everyone), ev, conf),
        _fact("ecosystem.publishers", len(publishers), ev, conf),
        _fact("ecosystem.publisher_names", publishers[:20], ev, conf),
        _fact("ecosystem.complete", complete, ev),
    ]


def _api_evidence(url: str, digest: str, pointer: str | None, excerpt: str) -> Evidence:
    return Evidence(
        location=Location(artifact=url[:2000], sha256=digest or "0" * 64, pointer=pointer),
        excerpt=excerpt[:2000],
    )
