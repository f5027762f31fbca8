"""Which routes a request may take: its data classes, then each route's passport, rules and
redaction, cheapest first (the order the runtime sorted them in)."""

from __future__ import annotations

from typing import Any

from modelcustoms.gateway.errors import RedactionError
from modelcustoms.gateway.redact import Redaction, Redactor
from modelcustoms.gateway.rules import judge_route
from modelcustoms.gateway.runtime import Route, Runtime, Served

Redacted = tuple[dict[str, Any], Redaction]
Plan = list[tuple[Route, dict[str, Any], Redaction | None]]


def classify(
    declared: frozenset[str], body: dict[str, Any], kind: bytes, classifier: Redactor
) -> tuple[frozenset[str], Redacted | RedactionError]:
    """Declared data classes, plus ``pii`` when the detectors find personal data; and the
    body redacted with every detector (reused by routes that redact with all of them)."""
    try:
        result = classifier.chat(body) if kind == b"chat" else classifier.embeddings(body)
    except RedactionError as exc:
        # NOTE: content the detectors cannot read may hold personal data: treat it as PII.
        return declared | {"pii"}, exc
    if result[1].total:
        declared = declared | {"pii"}
    return declared, result


def plan_routes(
    served: Served,
    body: dict[str, Any],
    kind: bytes,
    classes: frozenset[str],
    redactions: Redacted | RedactionError,
    rt: Runtime,
) -> tuple[Plan, list[tuple[str, str]]]:
    """The routes this request may take, cheapest first, and why the others may not."""
    plan: Plan = []
    blocks: list[tuple[str, str]] = []
    for route in served.routes:
        if route.approval is None:
            blocks.append(("no-valid-passport", f"{route.id}: {route.refusal}"))
            continue
        block = judge_route(rt.rules, classes, route.approval, route.operator_country)
        if block is not None:
            blocks.append((block.rule, f"{route.id}: {block.reason}"))
            continue
        if route.redactor is None:
            plan.append((route, body, None))
            continue
        try:
            if isinstance(redactions, RedactionError):
                raise redactions
            if route.redactor.detectors == rt.classifier.detectors:
                out, found = redactions
            elif kind == b"chat":
                out, found = route.redactor.chat(body)
            else:
                out, found = route.redactor.embeddings(body)
        except RedactionError as exc:
            blocks.append(("redactor-failed", f"{route.id}: cannot redact: {exc}"))
            continue
        plan.append((route, out, found))
    return plan, blocks
