"""Score every knowledge-base family against the observed signals.

Each signal is kept separately on a :class:`Candidate` so that the confidence level can be
decided from *which* signals agree, not from a sum: shapes are strong, vocabulary and special
tokens by id are strong, class names are weak (weighted by how many families share them),
declared names only break ties.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from modelcustoms.engines.provenance.architecture import ArchSignature, Fit, match_release
from modelcustoms.engines.provenance.declared import Resolved
from modelcustoms.engines.provenance.tokenizer import TokenizerPrint
from modelcustoms.kb import Family, KnowledgeBase, Release

VocabFit = Literal["exact", "resized", "within", "extended", "smaller", "none"]


@dataclass(slots=True)
class Candidate:
    """How one family fits the evidence."""

    family: Family
    fit: Fit = "none"
    release: Release | None = None
    fused: bool = False
    vocab: VocabFit = "none"
    anchors: list[str] = field(default_factory=list)
    contradictions: list[str] = field(default_factory=list)
    specials: list[str] = field(default_factory=list)
    chat: list[str] = field(default_factory=list)
    config_markers: list[str] = field(default_factory=list)
    tensor_markers: list[str] = field(default_factory=list)
    class_match: str | None = None
    class_share: int = 1
    """How many families list the matched class (shared classes say little)."""
    type_match: str | None = None
    type_share: int = 1
    tokenizer_class: bool = False
    pre: bool = False
    hash_match: bool = False
    declared: list[Resolved] = field(default_factory=list)
    score: float = 0.0

    @property
    def tokenizer_agrees(self) -> bool:
        """The tokenizer side (vocabulary, tokens by id, pre-tokenizer) supports the family."""
        if self.contradictions or self.vocab == "smaller":
            return False
        return (
            self.vocab in ("exact", "resized")
            or len(self.anchors) >= 2
            or self.pre
            or self.hash_match
            or len(self.specials) >= 2
        )

    @property
    def strong(self) -> bool:
        """Shapes match a release exactly and the tokenizer agrees: config+tokenizer signature."""
        return self.fit == "exact" and not self.fused and self.tokenizer_agrees

    @property
    def markers(self) -> int:
        """Family-specific markers seen (what a derived family needs to be named at all)."""
        return len(self.config_markers) + len(self.tensor_markers) + len(self.specials)

    @property
    def structural(self) -> bool:
        """Some file evidence (not only names) supports the family."""
        return bool(
            self.fit in ("exact", "partial")
            or self.tokenizer_agrees
            or self.config_markers
            or self.tensor_markers
            or (self.class_match and self.type_match)
        )


def score_families(
    kb: KnowledgeBase, sig: ArchSignature, tp: TokenizerPrint, resolved: list[Resolved]
) -> list[Candidate]:
    """All families with any support, best first."""
    class_df = Counter(a for f in kb.families for a in set(f.architectures))
    type_df = Counter(t for f in kb.families for t in set(f.model_types))
    special_df = Counter(s for f in kb.families for s in set(f.special_tokens))
    out: list[Candidate] = []
    for fam in kb.families:
        c = Candidate(fam)
        rf = match_release(sig, fam)
        c.fit, c.release, c.fused = rf.fit, rf.release, rf.fused
        _vocab(c, sig, tp)
        _tokens(c, tp, special_df)
        _classes(c, sig, class_df, type_df)
        c.config_markers = [k for k in fam.config_markers if k in sig.config_keys]
        c.tensor_markers = [m for m in fam.tensor_markers if _any_contains(sig.tensor_names, m)]
        c.pre = tp.pre is not None and tp.pre in fam.llamacpp_pre
        c.hash_match = tp.vocab_hash is not None and tp.vocab_hash in fam.vocab_hashes
        c.declared = [r for r in resolved if r.family is not None and r.family.id == fam.id]
        if fam.base_family is not None and not _own_markers(kb, c):
            continue  # a derived family is named only by its own markers
        c.score = _score(c, sig, rf.soft) - (1.0 if rf.fused else 0.0)
        if c.score > 0 or c.declared:
            out.append(c)
    _inherit(kb, out)
    out.sort(key=lambda c: (c.strong, c.score), reverse=True)
    return out


def _inherit(kb: KnowledgeBase, cands: list[Candidate]) -> None:
    """A derived family named by its own markers also carries the evidence for its base."""
    by_id = {c.family.id: c for c in cands}
    for c in cands:
        base_id = (c.release.base_family if c.release else None) or c.family.base_family
        base = by_id.get(base_id) if base_id else None
        if base is None:
            continue
        if c.vocab == "none":
            c.vocab = base.vocab
        c.anchors = base.anchors + c.anchors
        c.contradictions = base.contradictions + c.contradictions
        own = len(c.config_markers) + len(c.tensor_markers)
        c.score = max(c.score, base.score + 1.0 + min(own, 6))


def _any_contains(names: tuple[str, ...], marker: str) -> bool:
    return any(marker in n for n in names[:20000])


def _own_markers(kb: KnowledgeBase, c: Candidate) -> bool:
    base_specials: set[str] = set()
    for anc in kb.ancestors(c.family.id):
        base_specials |= set(anc.special_tokens)
    own = [s for s in c.specials if s not in base_specials]
    return bool(c.config_markers or c.tensor_markers or len(own) >= 2)


def _vocab(c: Candidate, sig: ArchSignature, tp: TokenizerPrint) -> None:
    fam = c.family
    v = sig.get("vocab")
    value = int(v) if v is not None else tp.vocab_len
    known = set(fam.vocab_sizes) | set(fam.tokenizer_lens)
    if value is None or not known:
        return
    if value in fam.vocab_sizes:
        c.vocab = "exact"
    elif value in fam.tokenizer_lens:
        c.vocab = "resized"
    elif value < min(known):
        c.vocab = "smaller"
    elif value <= max(known):
        c.vocab = "within"
    else:
        c.vocab = "extended"


def _tokens(c: Candidate, tp: TokenizerPrint, special_df: Counter[str]) -> None:
    fam = c.family
    for idx, content in fam.anchor_tokens.items():
        seen = tp.ids.get(idx)
        if seen is None:
            continue
        if seen == content:
            c.anchors.append(f"{idx}={content}")
        else:
            c.contradictions.append(f"token {idx} is {seen!r}, not {content!r}")
    # Generic tokens (<s>, </s>) say little; only tokens few families share count.
    c.specials = [s for s in fam.special_tokens if s in tp.specials and special_df[s] <= 3]
    if tp.chat_template:
        c.chat = [m for m in fam.chat_markers if m in tp.chat_template]
    c.tokenizer_class = bool(tp.tokenizer_class and tp.tokenizer_class in fam.tokenizer_classes)


def _classes(
    c: Candidate, sig: ArchSignature, class_df: Counter[str], type_df: Counter[str]
) -> None:
    fam = c.family
    for arch in sig.architectures:
        if arch in fam.architectures:
            c.class_match = arch
            c.class_share = class_df[arch]
    mt = sig.model_type
    if mt:
        if mt in fam.model_types:
            c.type_match = mt
            c.type_share = type_df[mt]
        elif any(mt.startswith(t) and len(t) >= 4 for t in fam.model_types):
            c.type_match = mt + " (prefix)"


def _score(c: Candidate, sig: ArchSignature, soft: int) -> float:
    s = {"exact": 6.0, "partial": 2.0, "mismatch": -2.0, "none": 0.0}[c.fit] + 0.5 * soft
    s += {
        "exact": 3.0,
        "resized": 3.0,
        "within": 1.5,
        "extended": 0.5,
        "smaller": -3.0,
        "none": 0.0,
    }[c.vocab]
    s += min(len(c.anchors), 4) * 1.0 - min(len(c.contradictions), 2) * 3.0
    s += min(len(c.specials), 3) * 1.0 + min(len(c.chat), 3) * 0.5
    s += min(len(c.config_markers), 3) * 1.0 + min(len(c.tensor_markers), 3) * 1.0
    s += 4.0 if c.pre else 0.0
    s += 6.0 if c.hash_match else 0.0
    if c.class_match:
        s += 2.0 / max(1, c.class_share)
    s += 0.5 if c.tokenizer_class else 0.0
    if c.type_match:
        s += 0.5 if c.type_match.endswith("(prefix)") else 1.5 / max(1, c.type_share)
    rope = sig.get("rope_theta")
    if rope is not None and c.family.rope_thetas:
        s += 1.0 if any(abs(rope - r) <= 1e-6 * r for r in c.family.rope_thetas) else -0.5
    s += 0.5 if c.declared else 0.0
    return s
