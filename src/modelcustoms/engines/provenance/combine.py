"""Combine the scored candidates into an identity, a confidence level and a lineage chain.

The level is decided by which signals agree, never by a sum: ``signatures`` needs exact
shapes of a known release *and* tokenizer agreement *and* no other unrelated family fitting as
well; otherwise ``partial-signatures`` when file evidence supports the family; ``declared``
when only names do. Unknown stays unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modelcustoms.core import ConfidenceLevel, Evidence, LineageClaim, Location, Relation
from modelcustoms.engines.provenance.architecture import DIMS, ArchSignature
from modelcustoms.engines.provenance.declared import Resolved
from modelcustoms.engines.provenance.metadata import FileRef, Metadata
from modelcustoms.engines.provenance.origin import family_evidence, publisher_evidence
from modelcustoms.engines.provenance.scoring import Candidate
from modelcustoms.engines.provenance.tokenizer import TokenizerPrint
from modelcustoms.kb import Family, KnowledgeBase, Release

MIN_SCORE = 3.0


@dataclass(slots=True)
class Identity:
    """The decision: a family (or none), how sure, and why."""

    family: Family | None
    level: ConfidenceLevel | None
    release: Release | None = None
    best: Candidate | None = None
    alternatives: list[Candidate] = field(default_factory=list)
    declared_only: Resolved | None = None
    method: str = ""


def decide(kb: KnowledgeBase, candidates: list[Candidate], declared: list[Resolved]) -> Identity:
    """Pick the family and its confidence level."""
    usable = [c for c in candidates if c.structural and c.score >= MIN_SCORE]
    if usable:
        best = usable[0]
        rivals = [
            c
            for c in usable[1:]
            if not _related(kb, best.family, c.family) and not _explained(best, c)
        ]
        strong_rivals = [c for c in rivals if c.strong]
        close = [c for c in rivals if c.score >= best.score - 1.0]
        if best.strong and not strong_rivals:
            level = ConfidenceLevel.SIGNATURES
        else:
            level = ConfidenceLevel.PARTIAL_SIGNATURES
        alts = strong_rivals if best.strong else close
        release = _release(best, declared)
        return Identity(best.family, level, release, best, alts[:3], method=_method(best))
    for r in declared:
        if r.family is not None:
            return Identity(
                r.family,
                ConfidenceLevel.DECLARED,
                r.release,
                declared_only=r,
                method=f"declared name ({r.declared.source})",
            )
    return Identity(None, None)


def _explained(best: Candidate, other: Candidate) -> bool:
    """``best`` accounts for strictly more of the tokenizer than ``other`` (Qwen2.5 vs Qwen2:
    same shapes, but only one family defines the tokens seen at ids 151646+)."""
    mine, theirs = set(best.anchors), set(other.anchors)
    return theirs < mine and set(other.specials) <= set(best.specials)


def _related(kb: KnowledgeBase, a: Family, b: Family) -> bool:
    return b in kb.ancestors(a.id) or a in kb.ancestors(b.id)


def _release(best: Candidate, declared: list[Resolved]) -> Release | None:
    for r in declared:
        rel = r.release
        if r.family is None or r.family.id != best.family.id or rel is None:
            continue
        if best.release is None or (rel.hidden, rel.layers) == (
            best.release.hidden,
            best.release.layers,
        ):
            return rel
    return best.release


def _method(c: Candidate) -> str:
    parts = []
    if c.fit == "exact" and c.release is not None:
        parts.append(f"config-shape={c.release.name}")
    elif c.fit == "partial":
        parts.append("config-shape-partial")
    if c.vocab != "none":
        parts.append(f"vocab-{c.vocab}")
    if c.anchors:
        parts.append(f"tokens-by-id x{len(c.anchors)}")
    if c.specials:
        parts.append(f"special-tokens x{len(c.specials)}")
    if c.pre:
        parts.append("llama.cpp-pre")
    if c.hash_match:
        parts.append("vocab-hash")
    if c.config_markers or c.tensor_markers:
        parts.append(f"markers x{len(c.config_markers) + len(c.tensor_markers)}")
    if c.class_match:
        parts.append(f"class {c.class_match}")
    return "+".join(parts) or "weak signals"


def relation_of(meta: Metadata, sig: ArchSignature, best: Candidate | None) -> Relation:
    """How the subject relates to its base, from what the files show."""
    declared = meta.card.get("base_model_relation")
    if isinstance(declared, str) and declared.lower() in {r.value for r in Relation}:
        return Relation(declared.lower())
    tags = meta.card.get("tags")
    tag_text = " ".join(tags if isinstance(tags, list) else [str(tags or "")]).lower()
    if meta.doc("adapter") is not None:
        return Relation.ADAPTER
    if sig.quantized:
        return Relation.QUANTIZED
    if "merge" in tag_text:
        return Relation.MERGE
    return Relation.DERIVED


def chain(
    kb: KnowledgeBase,
    subject: str,
    ident: Identity,
    declared: list[Resolved],
    relation: Relation,
    evidence: tuple[Evidence, ...],
) -> list[LineageClaim]:
    """subject → (declared intermediate) → family → the family's own bases."""
    claims: list[LineageClaim] = []
    cur = subject
    fam = ident.family
    inter = next(
        (r for r in declared if r.declared.kind == "base" and r.repo and r.family is None), None
    )
    if inter is not None and fam is not None and inter.repo is not None:
        pub = inter.publisher
        claims.append(
            LineageClaim(
                subject=cur,
                base=inter.repo,
                relation=relation,
                level=ConfidenceLevel.DECLARED,
                method=inter.declared.source,
                publisher=pub.id if pub else None,
                country=pub.hq_country if pub else None,
                evidence=(declared_evidence(inter),),
            )
        )
        cur, relation = inter.repo, Relation.DERIVED
    if fam is None or ident.level is None:
        return claims
    pub = kb.publisher(fam.publisher)
    claims.append(
        LineageClaim(
            subject=cur,
            base=fam.id,
            relation=relation,
            level=ident.level,
            method=ident.method,
            publisher=fam.publisher,
            country=pub.hq_country if pub else None,
            evidence=(
                *evidence,
                family_evidence(kb, fam),
                *((publisher_evidence(kb, pub),) if pub else ()),
            ),
        )
    )
    base_id = (
        ident.release.base_family
        if ident.release and ident.release.base_family
        else fam.base_family
    )
    seen = {fam.id}
    while base_id and base_id not in seen:
        base = kb.family(base_id)
        if base is None:
            break
        seen.add(base_id)
        bpub = kb.publisher(base.publisher)
        claims.append(
            LineageClaim(
                subject=fam.id,
                base=base.id,
                relation=fam.base_relation or Relation.DERIVED,
                level=ConfidenceLevel.DECLARED,
                method="knowledge-base: documented base of the family",
                publisher=base.publisher,
                country=bpub.hq_country if bpub else None,
                evidence=(family_evidence(kb, fam),),
            )
        )
        fam, base_id = base, base.base_family
    return claims


def declared_evidence(r: Resolved) -> Evidence:
    """Evidence for a declared name: where it was read."""
    return file_evidence(
        r.declared.ref, r.declared.pointer, f"{r.declared.source}: {r.declared.value}"
    )


def file_evidence(ref: FileRef, pointer: str | None, excerpt: str) -> Evidence:
    """Evidence inside one of the subject's files."""
    return Evidence(
        location=Location(artifact=ref.path, sha256=ref.sha256, pointer=pointer),
        excerpt=excerpt[:2000],
    )


def signature_evidence(
    sig: ArchSignature, tp: TokenizerPrint, best: Candidate | None
) -> tuple[Evidence, ...]:
    """What was seen in the files, as evidence for the identity claim."""
    out: list[Evidence] = []
    if sig.source is not None:
        out.append(file_evidence(sig.source, sig.pointer, describe_signature(sig)))
    if best is not None and tp.sources and (best.anchors or best.specials or best.pre):
        seen = (
            best.anchors[:6] + best.specials[:6] + (["pre=" + (tp.pre or "")] if best.pre else [])
        )
        out.append(file_evidence(tp.sources[0], None, "tokenizer: " + ", ".join(seen)))
    return tuple(out)


def describe_signature(sig: ArchSignature) -> str:
    """A one-line summary of the observed shape."""
    parts = [f"architectures={list(sig.architectures)}"] if sig.architectures else []
    if sig.model_type:
        parts.append(f"model_type={sig.model_type}")
    for k in (*DIMS, "vocab", "rope_theta", "max_position", "experts"):
        v = sig.get(k)
        if v is not None:
            parts.append(f"{k}={v:g}")
    return " ".join(parts) or "no shape information"
