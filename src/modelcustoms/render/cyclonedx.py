"""CycloneDX 1.6 ML-BOM: the subject as a ``machine-learning-model`` component.

* every artifact is a ``file`` component with its SHA-256, nested under its container;
* the lineage claims become ``pedigree.ancestors``, nested as a chain (subject → base → its base),
  each ancestor with its manufacturer (publisher and country) and identity evidence;
* where facts were read becomes ``evidence.occurrences``; facts and skips become properties;
* findings become ``vulnerabilities``, rated with our severities, affecting the file they are in.

The output is deterministic: the serial number derives from the report digest (and the verdict)
and the timestamp is the report's ``created_at``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from modelcustoms.core import (
    ConfidenceLevel,
    Evidence,
    Fact,
    Finding,
    LineageClaim,
    Relation,
    Report,
    SubjectKind,
    Verdict,
)
from modelcustoms.render.cyclonedx_discover import FACT_KEY as DISCOVER_FACT
from modelcustoms.render.cyclonedx_discover import discovered_inventory

SPEC_VERSION = "1.6"
SCHEMA_URI = "http://cyclonedx.org/schema/bom-1.6.schema.json"
INFORMATION_URI = "https://github.com/modelcustoms/modelcustoms"
SERIAL_NAMESPACE = uuid.UUID("6d6f6465-6c63-7573-746f-6d7300000001")
"""Fixed namespace so that one report always gets the same BOM serial number."""
MODEL_REF = "model"
MAX_NESTING = 32
"""Deeper container or lineage chains are listed flat: a stored report may be hostile."""
MAX_VALUE = 1000
"""Longest property value; facts can be large lists (pickle globals, tensor names)."""

# NOTE: the schema's `license.id` is an enum of SPDX ids, case-sensitive; model cards use
# Hugging Face's lower-case names. Only names with one unambiguous SPDX id are mapped; any other
# licence (llama3, gemma, other, gpl-3.0 which may be -only or -or-later) goes in as `name`.
_SPDX = {
    s.lower(): s
    for s in (
        "Apache-2.0",
        "MIT",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "BSL-1.0",
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-NC-ND-4.0",
        "MPL-2.0",
        "EPL-2.0",
        "Artistic-2.0",
        "Unlicense",
        "WTFPL",
        "CDLA-Permissive-2.0",
    )
}
SPDX_IDS = frozenset(_SPDX.values())

_TECHNIQUE = {
    ConfidenceLevel.IDENTICAL_HASH: "hash-comparison",
    ConfidenceLevel.WEIGHTS: "binary-analysis",
    ConfidenceLevel.SIGNATURES: "manifest-analysis",
    ConfidenceLevel.PARTIAL_SIGNATURES: "manifest-analysis",
    ConfidenceLevel.DECLARED: "manifest-analysis",
}
_LEVEL_CONFIDENCE = {
    ConfidenceLevel.IDENTICAL_HASH: 1.0,
    ConfidenceLevel.WEIGHTS: 0.95,
    ConfidenceLevel.SIGNATURES: 0.9,
    ConfidenceLevel.PARTIAL_SIGNATURES: 0.6,
    ConfidenceLevel.DECLARED: 0.3,
}


class CycloneDxRenderer:
    """Renders a report as a CycloneDX 1.6 JSON ML-BOM."""

    media_type = "application/vnd.cyclonedx+json"

    def render(self, report: Report, verdict: Verdict | None = None) -> bytes:
        """The BOM as indented UTF-8 JSON."""
        return (
            json.dumps(build_bom(report, verdict), indent=2, ensure_ascii=False) + "\n"
        ).encode()


def build_bom(report: Report, verdict: Verdict | None = None) -> dict[str, Any]:
    """The BOM as a JSON-ready dict."""
    digest = report.digest()
    name = digest if verdict is None else f"{digest}/{verdict.model_dump_json()}"
    facts = {f.key: f for f in report.facts}
    file_refs, files = _file_components(report)
    bom: dict[str, Any] = {
        "$schema": SCHEMA_URI,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": uuid.uuid5(SERIAL_NAMESPACE, name).urn,
        "version": 1,
        "metadata": {
            "timestamp": _timestamp(report.created_at),
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "name": report.tool.name,
                        "version": report.tool.version,
                        "externalReferences": [{"type": "website", "url": INFORMATION_URI}],
                    }
                ]
            },
            "properties": _metadata_properties(report, verdict, digest),
        },
        "components": [_model(report, facts, files)],
    }
    inventory = discovered_inventory(report)
    if inventory is not None:
        # NOTE: a discover subject is software that uses models, not a model itself.
        bom["components"][0]["type"] = "application"
        bom["components"] += inventory.components
        if inventory.services:
            bom["services"] = inventory.services
        bom["dependencies"] = [{"ref": MODEL_REF, "dependsOn": inventory.refs}]
        if inventory.compositions:
            bom["compositions"] = inventory.compositions
    # NOTE: discover findings rank references (a covered-nation model is not a vulnerability);
    # the components and services above carry them.
    vulns = [
        _vulnerability(i, f, report, file_refs)
        for i, f in enumerate(report.findings)
        if f.engine != "discover"
    ]
    if vulns:
        bom["vulnerabilities"] = vulns
    return bom


def _timestamp(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _prop(name: str, value: object) -> dict[str, str]:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 1] + "…"
    return {"name": f"modelcustoms:{name}", "value": text}


def _metadata_properties(report: Report, verdict: Verdict | None, digest: str) -> list[Any]:
    props = [
        _prop("report-digest", digest),
        _prop("report-schema-version", report.schema_version),
        _prop("subject", report.subject.ref),
    ]
    props += [
        _prop(f"engine:{r.engine}", f"{r.status.value}; analysed {r.analysed}") for r in report.runs
    ]
    if verdict is not None:
        props += [_prop("verdict", verdict.decision.value), _prop("policy", verdict.policy)]
        props += [_prop("fired-rule", rule) for rule in verdict.fired_rules]
        props += [_prop("reason", reason) for reason in verdict.reasons]
    return props


def _model(report: Report, facts: dict[str, Fact], files: list[dict[str, Any]]) -> dict[str, Any]:
    subject = report.subject
    model: dict[str, Any] = {"type": "machine-learning-model", "bom-ref": MODEL_REF}
    model["name"] = subject.name
    if subject.revision:
        model["version"] = subject.revision
    model["description"] = f"{subject.kind.value} {subject.ref}"
    tops = [a for a in report.artifacts if a.parent is None]
    if len(tops) == 1:
        model["hashes"] = [{"alg": "SHA-256", "content": tops[0].sha256}]
    if subject.kind is SubjectKind.HUGGINGFACE and "/" in subject.name:
        purl = f"pkg:huggingface/{quote(subject.name, safe='/')}"
        model["purl"] = purl + (f"@{quote(subject.revision.lower())}" if subject.revision else "")
    relation = facts.get("identity.relation")
    if relation is not None and relation.value == Relation.SAME.value:
        # NOTE: origin facts name the publisher of the identified family; they describe this
        # model's maker only when it is that release. Otherwise they sit on the ancestor.
        maker = _entity(_str(facts, "origin.publisher_name"), _str(facts, "origin.country"))
        if maker:
            model["manufacturer"] = maker
    licence = _str(facts, "license.declared")
    if licence:
        spdx = _SPDX.get(licence.lower())
        entry = {"id": spdx} if spdx else {"name": licence}
        model["licenses"] = [{"license": {**entry, "acknowledgement": "declared"}}]
    ancestors = _ancestors(report, facts)
    if ancestors:
        model["pedigree"] = {"ancestors": ancestors}
    params = {}
    if family := _str(facts, "identity.family_name"):
        params["architectureFamily"] = family
    sig = facts.get("architecture.signature")
    if sig is not None and isinstance(sig.value, dict) and sig.value.get("architectures"):
        params["modelArchitecture"] = str(sig.value["architectures"][0])
    if params:
        model["modelCard"] = {"modelParameters": params}
    own = [f for f in report.facts if f.key != DISCOVER_FACT]
    occurrences = _occurrences((ev, f.key) for f in own for ev in f.evidence)
    if occurrences:
        model["evidence"] = {"occurrences": occurrences}
    if files:
        model["components"] = files
    props = [_prop("subject-kind", subject.kind.value), _prop("subject-ref", subject.ref)]
    props += [_prop(f"fact:{f.key}", f.value) for f in own]
    props += [
        _prop("not-analysed", f"{s.artifact}: {s.reason}" + (f" ({s.detail})" if s.detail else ""))
        for s in report.skips
    ]
    model["properties"] = props
    return model


def _str(facts: dict[str, Fact], key: str) -> str | None:
    fact = facts.get(key)
    return fact.value if fact is not None and isinstance(fact.value, str) else None


def _entity(name: str | None, country: str | None) -> dict[str, Any]:
    entity: dict[str, Any] = {}
    if name:
        entity["name"] = name
    if country:
        entity["address"] = {"country": country}
    return entity


def _occurrences(items: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for ev, context in items:
        loc = ev.location
        key = (loc.artifact, loc.pointer, loc.line, loc.offset, context)
        if key in seen:
            continue
        seen.add(key)
        occ: dict[str, Any] = {"location": loc.artifact}
        if loc.line is not None:
            occ["line"] = loc.line
        if loc.offset is not None:
            occ["offset"] = loc.offset
        if loc.pointer:
            occ["symbol"] = loc.pointer
        occ["additionalContext"] = context + (f": {ev.excerpt}" if ev.excerpt else "")
        out.append(occ)
    return out


def _file_components(report: Report) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """File components nested under their containers; path → bom-ref of the first of that path."""
    refs: dict[str, str] = {}
    nodes: list[tuple[str | None, dict[str, Any]]] = []
    for i, a in enumerate(report.artifacts):
        # NOTE: a hostile archive can hold two members with one name; bom-refs must stay unique.
        ref = f"file:{a.path}" if a.path not in refs else f"file:{a.path}#{i}"
        refs.setdefault(a.path, ref)
        props = [_prop("format", a.format.value), _prop("size", str(a.size))]
        if a.format_hint:
            props.append(_prop("format-hint", a.format_hint))
        node = {
            "type": "file",
            "bom-ref": ref,
            "name": a.path,
            "hashes": [{"alg": "SHA-256", "content": a.sha256}],
            "properties": props,
        }
        nodes.append((a.parent, node))
    by_ref = {node["bom-ref"]: node for _, node in nodes}
    parents = {a.path: a.parent for a in reversed(report.artifacts)}
    roots: list[dict[str, Any]] = []
    for parent, node in nodes:
        holder = by_ref.get(refs.get(parent, "")) if parent else None
        if holder is None or holder is node or not _rooted(parent, parents):
            roots.append(node)
        else:
            holder.setdefault("components", []).append(node)
    return refs, roots


def _rooted(path: str | None, parents: dict[str, str | None]) -> bool:
    """True when following parents from ``path`` reaches a top-level artifact soon (no cycle)."""
    for _ in range(MAX_NESTING):
        if path is None or path not in parents:
            return True
        path = parents[path]
    return False


def _ancestors(report: Report, facts: dict[str, Fact]) -> list[dict[str, Any]]:
    """Lineage claims as nested ancestors: each base's own bases sit in its pedigree."""
    claims = [
        c for run in report.runs for c in run.lineage if c.relation is not Relation.INDEPENDENT
    ]
    if not claims:
        return []
    bases = {c.base for c in claims}
    firsts = [c for c in claims if c.subject not in bases] or claims[:1]
    names = {}
    pub = _str(facts, "origin.publisher")
    if pub:
        names[pub] = _str(facts, "origin.publisher_name") or pub
    top: list[dict[str, Any]] = []
    stack: list[tuple[LineageClaim, list[dict[str, Any]], int, frozenset[str]]] = [
        (c, top, 0, frozenset()) for c in reversed(firsts)
    ]
    counter = 0
    while stack:
        claim, into, depth, seen = stack.pop()
        node = _ancestor(claim, counter, names)
        counter += 1
        into.append(node)
        if depth + 1 >= MAX_NESTING or claim.base in seen:
            continue
        nxt = [c for c in claims if c.subject == claim.base and c.base not in seen]
        if nxt:
            children: list[dict[str, Any]] = []
            node["pedigree"] = {"ancestors": children}
            stack.extend((c, children, depth + 1, seen | {claim.base}) for c in reversed(nxt))
    return top


def _ancestor(claim: LineageClaim, index: int, names: dict[str, str]) -> dict[str, Any]:
    conf = claim.score if claim.score is not None else _LEVEL_CONFIDENCE[claim.level]
    node: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": f"ancestor:{index}:{claim.base}",
        "name": claim.base,
    }
    maker = _entity(names.get(claim.publisher or "", claim.publisher), claim.country)
    if maker:
        node["manufacturer"] = maker
    evidence: dict[str, Any] = {
        "identity": [
            {
                "field": "name",
                "confidence": conf,
                "concludedValue": claim.base,
                "methods": [
                    {
                        "technique": _TECHNIQUE[claim.level],
                        "confidence": conf,
                        "value": claim.method,
                    }
                ],
            }
        ]
    }
    occurrences = _occurrences((ev, f"lineage {claim.relation.value}") for ev in claim.evidence)
    if occurrences:
        evidence["occurrences"] = occurrences
    node["evidence"] = evidence
    props = [
        _prop("lineage:derivative", claim.subject),
        _prop("lineage:relation", claim.relation.value),
        _prop("lineage:level", claim.level.value),
        _prop("lineage:method", claim.method),
    ]
    if claim.publisher:
        props.append(_prop("lineage:publisher", claim.publisher))
    if claim.score is not None:
        props.append(_prop("lineage:score", str(claim.score)))
    if claim.p_value is not None:
        props.append(_prop("lineage:p-value", str(claim.p_value)))
    node["properties"] = props
    return node


def _vulnerability(
    index: int, f: Finding, report: Report, file_refs: dict[str, str]
) -> dict[str, Any]:
    rule = report.rule(f.rule_id)
    where = f.evidence[0] if f.evidence else None
    affects = file_refs.get(where.location.artifact, MODEL_REF) if where else MODEL_REF
    vuln: dict[str, Any] = {
        "bom-ref": f"finding:{index}",
        "id": f.rule_id,
        "source": {"name": report.tool.name, "url": _rule_url(f.rule_id)},
        "ratings": [
            {
                "source": {"name": report.tool.name},
                "severity": f.severity.value,
                "method": "other",
            }
        ],
        "description": rule.title if rule else f.message,
        "detail": f.message,
    }
    if rule is not None:
        vuln["recommendation"] = rule.help
        urls = [r for r in rule.references if r.startswith(("https://", "http://"))]
        if urls:
            vuln["advisories"] = [{"url": u} for u in urls]
    vuln["affects"] = [{"ref": affects}]
    props = [_prop("engine", f.engine), _prop("confidence", str(f.confidence))]
    if where is not None:
        props.append(_prop("location", _where(where)))
        if where.excerpt:
            props.append(_prop("excerpt", where.excerpt))
    vuln["properties"] = props
    return vuln


def _rule_url(rule_id: str) -> str:
    return f"{INFORMATION_URI}/blob/main/docs/rules.md#{rule_id.replace('.', '')}"


def _where(ev: Evidence) -> str:
    loc = ev.location
    if loc.pointer:
        return f"{loc.artifact}#{loc.pointer}"
    if loc.line is not None:
        return f"{loc.artifact}:{loc.line}"
    return loc.artifact
