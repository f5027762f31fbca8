"""Origin-aware data rules: which routes a request with these data classes may take.

A route is judged on two countries: where its model comes from (publisher, parent and lineage
countries from the passported report) and where it is hosted (the operator's country). A rule
that denies origin countries also refuses a model whose origin its report does not state:
unknown is not clean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from modelcustoms.gateway.config import Rule
from modelcustoms.gateway.passports import Approval

HEADER = b"x-customs-data-class"


@dataclass(frozen=True, slots=True)
class Block:
    """Why a route may not take a request."""

    rule: str
    reason: str


def parse_classes(value: bytes | None) -> frozenset[str]:
    """``pii, source-code`` → {"pii", "source-code"} (lowercase, trimmed)."""
    if not value:
        return frozenset()
    text = value.decode("latin-1").lower()
    return frozenset(c.strip() for c in text.split(",") if c.strip())


def judge_route(
    rules: Sequence[Rule],
    classes: Iterable[str],
    approval: Approval,
    operator_country: str | None,
) -> Block | None:
    """The first rule that keeps this request off this route, or None."""
    wanted = set(classes)
    if not wanted:
        return None
    for rule in rules:
        hit = wanted.intersection(rule.data_classes)
        if not hit:
            continue
        label = ", ".join(sorted(hit))
        if rule.deny_operator_countries:
            if operator_country is None:
                return Block(rule.id, f"{label} data: the operator's country is unknown")
            if operator_country in rule.deny_operator_countries:
                return Block(rule.id, f"{label} data: operator in {operator_country}")
        if rule.deny_origin_countries:
            if not approval.origin_known:
                return Block(rule.id, f"{label} data: the model's origin is unknown")
            bad = sorted(approval.origin_countries.intersection(rule.deny_origin_countries))
            if bad:
                return Block(rule.id, f"{label} data: model origin {', '.join(bad)}")
    return None
