"""Turn the identity decision into facts, findings and lineage claims; the rule catalog."""

from __future__ import annotations

from modelcustoms.core import (
    ConfidenceLevel,
    Evidence,
    Fact,
    Finding,
    LineageClaim,
    Rule,
    Severity,
)
from modelcustoms.engines.provenance.architecture import ArchSignature
from modelcustoms.engines.provenance.combine import (
    Identity,
    chain,
    declared_evidence,
    describe_signature,
    file_evidence,
    relation_of,
    signature_evidence,
)
from modelcustoms.engines.provenance.declared import Resolved
from modelcustoms.engines.provenance.metadata import Metadata
from modelcustoms.engines.provenance.origin import (
    ENGINE,
    family_evidence,
    license_facts,
    origin_facts,
)
from modelcustoms.engines.provenance.scoring import Candidate
from modelcustoms.engines.provenance.tokenizer import TokenizerPrint
from modelcustoms.kb import KnowledgeBase

RULES: tuple[Rule, ...] = (
    Rule(
        id="provenance.declared-mismatch",
        title="Declared base disagrees with the files",
        severity=Severity.HIGH,
        help="The model card, config name or file names say the model is built on one family, "
        "but its architecture signature and tokenizer match another. Renamed derivatives hide "
        "their real base this way; treat the file evidence as the model's origin.",
    ),
    Rule(
        id="provenance.unknown",
        title="Identity unknown",
        severity=Severity.INFO,
        help="No known family matches the files and no declared name resolves. The report lists "
        "what was seen; nothing is guessed. Add the family to the knowledge base if it is a "
        "public release.",
    ),
    Rule(
        id="provenance.declared-only",
        title="Identity rests on declared names only",
        severity=Severity.INFO,
        help="The family comes from the card or file names; no config or tokenizer was present "
        "to confirm it. Provide the base model's config and tokenizer files to verify.",
    ),
    Rule(
        id="provenance.ambiguous",
        title="Several families fit the files",
        severity=Severity.INFO,
        help="More than one known family matches the available signals; the best fit is "
        "reported at a lower confidence level, with the alternatives.",
    ),
    Rule(
        id="provenance.malformed",
        title="Metadata file could not be parsed",
        severity=Severity.MEDIUM,
        help="A config, tokenizer, weight map or header is malformed, so the provenance signals "
        "it would carry could not be verified.",
    ),
)
_CONF = {
    ConfidenceLevel.IDENTICAL_HASH: 1.0,
    ConfidenceLevel.WEIGHTS: 0.95,
    ConfidenceLevel.SIGNATURES: 0.9,
    ConfidenceLevel.PARTIAL_SIGNATURES: 0.6,
    ConfidenceLevel.DECLARED: 0.3,
}


def build_outputs(
    kb: KnowledgeBase,
    subject: str,
    meta: Metadata,
    sig: ArchSignature,
    tp: TokenizerPrint,
    resolved: list[Resolved],
    ident: Identity,
    candidates: list[Candidate],
) -> tuple[list[Fact], list[Finding], list[LineageClaim]]:
    """Facts, findings and the lineage chain for one subject."""
    facts: list[Fact] = []
    findings: list[Finding] = []
    sig_ev = signature_evidence(sig, tp, ident.best)
    relation = relation_of(meta, sig, ident.best)
    lineage = chain(kb, subject, ident, resolved, relation, sig_ev)
    facts.extend(_observed(meta, sig, tp, resolved))
    for ref, path, message in meta.problems:
        bad = (file_evidence(ref, None, message),) if ref is not None else ()
        findings.append(
            _finding("provenance.malformed", Severity.MEDIUM, f"{path}: {message}", bad)
        )
    fam = ident.family
    if fam is None or ident.level is None:
        findings.append(
            _finding(
                "provenance.unknown", Severity.INFO, _unknown_message(sig, tp, resolved), sig_ev
            )
        )
        return facts, findings, lineage
    conf = _CONF[ident.level]
    ev: tuple[Evidence, ...] = (*sig_ev, family_evidence(kb, fam))
    if ident.declared_only is not None:
        ev = (declared_evidence(ident.declared_only), family_evidence(kb, fam))
    facts.append(
        Fact(key="identity.family", value=fam.id, engine=ENGINE, evidence=ev, confidence=conf)
    )
    facts.append(
        Fact(
            key="identity.family_name", value=fam.name, engine=ENGINE, evidence=ev, confidence=conf
        )
    )
    facts.append(
        Fact(
            key="identity.level",
            value=ident.level.value,
            engine=ENGINE,
            evidence=ev,
            confidence=conf,
        )
    )
    facts.append(
        Fact(key="identity.method", value=ident.method, engine=ENGINE, evidence=ev, confidence=conf)
    )
    facts.append(
        Fact(
            key="identity.relation",
            value=relation.value,
            engine=ENGINE,
            evidence=ev,
            confidence=conf,
        )
    )
    if ident.release is not None:
        rel = ident.release
        for key, value in (
            ("release", rel.name),
            ("version", rel.version),
            ("size", rel.size),
            ("reference_repo", rel.repo),
        ):
            if value:
                facts.append(
                    Fact(
                        key=f"identity.{key}",
                        value=value,
                        engine=ENGINE,
                        evidence=ev,
                        confidence=conf,
                    )
                )
    pub = kb.publisher(fam.publisher)
    if pub is not None:
        facts.extend(origin_facts(kb, pub))
    countries = sorted({c.country for c in lineage if c.country})
    facts.append(
        Fact(key="origin.chain_countries", value=countries, engine=ENGINE, confidence=conf)
    )
    facts.extend(license_facts(kb, fam))
    if ident.alternatives:
        alts = [c.family.id for c in ident.alternatives]
        facts.append(
            Fact(
                key="identity.alternatives", value=alts, engine=ENGINE, evidence=ev, confidence=conf
            )
        )
        verb = "fits" if len(alts) == 1 else "fit"
        msg = f"{fam.id} fits best ({ident.method}); {', '.join(alts)} also {verb}"
        findings.append(_finding("provenance.ambiguous", Severity.INFO, msg, ev))
    if ident.level is ConfidenceLevel.DECLARED:
        src = ident.declared_only.declared.source if ident.declared_only else "a declared name"
        msg = f"family {fam.id} ({fam.name}) comes from {src} only; no config or tokenizer agrees"
        findings.append(_finding("provenance.declared-only", Severity.INFO, msg, ev))
    else:
        findings.extend(_mismatches(kb, ident, resolved, sig))
    return facts, findings, lineage


def _observed(
    meta: Metadata, sig: ArchSignature, tp: TokenizerPrint, resolved: list[Resolved]
) -> list[Fact]:
    out: list[Fact] = []
    if sig.source is not None:
        ev = (file_evidence(sig.source, sig.pointer, describe_signature(sig)),)
        value = {"architectures": list(sig.architectures), "model_type": sig.model_type, **sig.dims}
        out.append(Fact(key="architecture.signature", value=value, engine=ENGINE, evidence=ev))
    if not tp.empty and tp.sources:
        value_t = {
            "tokenizer_class": tp.tokenizer_class,
            "vocab_len": tp.vocab_len,
            "pre": tp.pre,
            "vocab_hash": tp.vocab_hash,
            "merges_hash": tp.merges_hash,
            "special_tokens": len(tp.specials),
        }
        out.append(
            Fact(
                key="tokenizer.fingerprint",
                value=value_t,
                engine=ENGINE,
                evidence=(file_evidence(tp.sources[0], None, "tokenizer files"),),
            )
        )
    if resolved:
        value_d = [
            {
                "value": r.declared.value,
                "source": r.declared.source,
                "kind": r.declared.kind,
                "family": r.family.id if r.family else None,
            }
            for r in resolved[:20]
        ]
        out.append(
            Fact(
                key="provenance.declared",
                value=value_d,
                engine=ENGINE,
                evidence=tuple(declared_evidence(r) for r in resolved[:5]),
                confidence=0.3,
            )
        )
    licence = meta.card.get("license")
    if isinstance(licence, str) and meta.card_ref is not None:
        ev = (file_evidence(meta.card_ref, "/license", f"license: {licence}"),)
        out.append(
            Fact(key="license.declared", value=licence, engine=ENGINE, evidence=ev, confidence=0.5)
        )
    return out


def _mismatches(
    kb: KnowledgeBase, ident: Identity, resolved: list[Resolved], sig: ArchSignature
) -> list[Finding]:
    fam = ident.family
    assert fam is not None and ident.level is not None
    out: list[Finding] = []
    seen: set[str] = set()
    for r in resolved:
        other = r.family
        if other is None or other.id == fam.id or other.id in seen:
            continue
        if fam in kb.ancestors(other.id):
            continue  # the declared family is built on the one the files show: consistent
        seen.add(other.id)
        mine, theirs = kb.publisher(fam.publisher), kb.publisher(other.publisher)
        same_pub = fam.publisher == other.publisher
        built_on = other in kb.ancestors(fam.id)
        what = f"{ident.release.name}" if ident.release else fam.name
        msg = (
            f"{r.declared.source} says {r.declared.value!r} ({other.name}); the files match {what} "
            f"({ident.method}; {ident.level.value})"
        )
        if built_on:
            by = mine.name if mine else fam.publisher
            msg += f", which is built on {other.name} but published by {by}"
        if mine and theirs and mine.hq_country != theirs.hq_country:
            msg += f" [{theirs.hq_country} declared, {mine.hq_country} found]"
        # A title is free text (it may name a model it compares with): report, do not alarm.
        sev = Severity.LOW if same_pub or r.declared.source == "card title" else Severity.HIGH
        ev = (declared_evidence(r), *signature_evidence(sig, TokenizerPrint(), None))
        out.append(_finding("provenance.declared-mismatch", sev, msg, ev))
    return out


def _unknown_message(sig: ArchSignature, tp: TokenizerPrint, resolved: list[Resolved]) -> str:
    seen = [describe_signature(sig)]
    if tp.vocab_len:
        seen.append(f"tokenizer vocabulary {tp.vocab_len}")
    if tp.pre:
        seen.append(f"llama.cpp pre-tokenizer {tp.pre!r}")
    names = [f"{r.declared.source}: {r.declared.value!r}" for r in resolved[:3]]
    if names:
        seen.append("declared " + "; ".join(names) + " (not a known family)")
    return "no known family matches; seen: " + "; ".join(seen)


def _finding(rule_id: str, severity: Severity, message: str, ev: tuple[Evidence, ...]) -> Finding:
    return Finding(
        rule_id=rule_id, severity=severity, engine=ENGINE, message=message[:2000], evidence=ev
    )
