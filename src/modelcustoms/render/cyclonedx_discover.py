"""CycloneDX parts of a ``customs discover`` report: the models and model services software uses.

* every distinct model named by a ``discover.reference`` fact is a ``machine-learning-model``
  component, its publisher (with country) the ``manufacturer``, every place that names it an
  evidence occurrence (file, line);
* every model service (an API endpoint or the operator of a hosted model) is a ``service``, its
  operator (with country) the ``provider``; services have no evidence in 1.6, so the places that
  call them are properties;
* references whose publisher or host could not be resolved are listed in a ``compositions``
  entry with aggregate ``incomplete``: the inventory is known to be unfinished there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from modelcustoms.core import Fact, Report

FACT_KEY = "discover.reference"
MAX_ITEMS = 10_000
"""Most components or services listed; a stored report may be hostile."""
MAX_OCCURRENCES = 200
"""Most places listed per component or service."""
MAX_VALUE = 1000


@dataclass
class _Group:
    ref: str
    name: str
    rows: list[tuple[dict[str, Any], Fact]] = field(default_factory=list)
    unresolved: bool = False


@dataclass(frozen=True)
class DiscoveredInventory:
    """Components, services and compositions to add to the BOM."""

    components: list[dict[str, Any]]
    services: list[dict[str, Any]]
    compositions: list[dict[str, Any]]

    @property
    def refs(self) -> list[str]:
        """bom-refs of every component and service (what the subject depends on)."""
        return [c["bom-ref"] for c in self.components] + [s["bom-ref"] for s in self.services]


def _prop(name: str, value: object) -> dict[str, str]:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 1] + "…"
    return {"name": f"modelcustoms:{name}", "value": text}


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    return value if isinstance(value, str) and value else None


def _entity(name: str | None, country: str | None) -> dict[str, Any]:
    entity: dict[str, Any] = {}
    if name:
        entity["name"] = name
    if country:
        entity["address"] = {"country": country}
    return entity


def _host(endpoint: str) -> str:
    url = endpoint if "://" in endpoint else "//" + endpoint
    try:
        return (urlsplit(url).hostname or endpoint).lower()
    except ValueError:
        return endpoint.lower()


def _where(fact: Fact) -> tuple[str, int | None, str | None, str | None]:
    if not fact.evidence:
        return "?", None, None, None
    ev = fact.evidence[0]
    return ev.location.artifact, ev.location.line, ev.location.pointer, ev.excerpt


def _occurrence(fact: Fact) -> dict[str, Any]:
    path, line, pointer, excerpt = _where(fact)
    occ: dict[str, Any] = {"location": path}
    if line is not None:
        occ["line"] = line
    if pointer:
        occ["symbol"] = pointer
    if excerpt:
        occ["additionalContext"] = excerpt[:MAX_VALUE]
    return occ


def discovered_inventory(report: Report) -> DiscoveredInventory | None:
    """The discovered models and services of ``report``, or None when it has no references."""
    facts = [f for f in report.facts if f.key == FACT_KEY and isinstance(f.value, dict)]
    if not facts:
        return None
    models: dict[tuple[str, str], _Group] = {}
    services: dict[str, _Group] = {}
    for fact in facts:
        if not isinstance(fact.value, dict):
            continue
        row: dict[str, Any] = dict(fact.value)
        model = _text(row, "model")
        endpoint = _text(row, "endpoint")
        operator = _text(row, "host_operator")
        unresolved = _text(row, "unresolved") is not None
        if model is not None:
            key = (model.lower(), _text(row, "publisher") or "")
            if key not in models and len(models) < MAX_ITEMS:
                models[key] = _Group(ref=f"discovered-model:{len(models)}", name=model)
            if key in models:
                group = models[key]
                group.rows.append((row, fact))
                group.unresolved |= unresolved and _text(row, "publisher") is None
        if endpoint is not None or operator is not None:
            skey = operator or _host(endpoint or "")
            if skey not in services and len(services) < MAX_ITEMS:
                services[skey] = _Group(ref=f"discovered-service:{len(services)}", name=skey)
            if skey in services:
                group = services[skey]
                group.rows.append((row, fact))
                group.unresolved |= operator is None and _text(row, "host_country") is None
    components = [_model_component(g) for g in models.values()]
    service_nodes = [_service(g) for g in services.values()]
    incomplete = [g.ref for g in (*models.values(), *services.values()) if g.unresolved]
    compositions: list[dict[str, Any]] = []
    if incomplete:
        compositions.append({"aggregate": "incomplete", "assemblies": incomplete})
    return DiscoveredInventory(components, service_nodes, compositions)


def _model_component(group: _Group) -> dict[str, Any]:
    row = group.rows[0][0]
    node: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": group.ref,
        "name": group.name,
    }
    maker = _entity(_text(row, "publisher"), _text(row, "publisher_country"))
    if maker:
        node["manufacturer"] = maker
    occurrences = [_occurrence(f) for _, f in group.rows[:MAX_OCCURRENCES]]
    node["evidence"] = {"occurrences": occurrences}
    props = [_prop("discover:kind", str(row.get("kind", "")))]
    if _text(row, "publisher") is None:
        props.append(_prop("discover:publisher", "unknown"))
    hosts = sorted(
        {
            f"{_text(r, 'host_operator')} ({_text(r, 'host_country') or '?'})"
            for r, _ in group.rows
            if _text(r, "host_operator")
        }
    )
    props += [_prop("discover:host", h) for h in hosts[:MAX_OCCURRENCES]]
    lineage = row.get("lineage")
    if isinstance(lineage, list) and lineage:
        props.append(_prop("discover:lineage", " <- ".join(str(x) for x in lineage)))
    reasons = sorted({u for r, _ in group.rows if (u := _text(r, "unresolved"))})
    props += [_prop("discover:unresolved", u) for u in reasons[:MAX_OCCURRENCES]]
    node["properties"] = props
    return node


def _service(group: _Group) -> dict[str, Any]:
    row = group.rows[0][0]
    node: dict[str, Any] = {"bom-ref": group.ref, "name": group.name}
    provider = _entity(_text(row, "host_operator"), _text(row, "host_country"))
    if provider:
        node["provider"] = provider
    endpoints = sorted({e for r, _ in group.rows if (e := _text(r, "endpoint"))})
    if endpoints:
        node["endpoints"] = endpoints[:MAX_OCCURRENCES]
    props: list[dict[str, str]] = []
    if not provider:
        props.append(_prop("discover:operator", "unknown (host not in the knowledge base)"))
    for _, fact in group.rows[:MAX_OCCURRENCES]:
        path, line, pointer, _excerpt = _where(fact)
        place = path + (f"#{pointer}" if pointer else "") + (f":{line}" if line else "")
        props.append(_prop("discover:occurrence", place))
    node["properties"] = props
    return node
