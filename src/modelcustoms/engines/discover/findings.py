"""Discover findings: one per reference, so SARIF, `--fail-on` and the terminal all work.

The rules and their choice live in :mod:`.rules` as plain data; this module gives them the
report model's types.
"""

from __future__ import annotations

from modelcustoms.core import Evidence, Finding, Rule, Severity
from modelcustoms.engines.discover.rules import (
    COVERED_COUNTRIES,
    RULE_DATA,
    RefLike,
    RuleData,
    message,
    rule_data_for,
)

__all__ = ["COVERED_COUNTRIES", "RULES", "finding_for", "rule_for", "to_rule"]


def to_rule(data: RuleData) -> Rule:
    """The ``core.Rule`` of a plain rule."""
    return Rule(
        id=data.id,
        title=data.title,
        severity=Severity(data.severity),
        help=data.help,
        references=data.references,
    )


RULES: tuple[Rule, ...] = tuple(to_rule(r) for r in RULE_DATA)
_BY_ID = {r.id: r for r in RULES}


def rule_for(ref: RefLike) -> Rule:
    """The rule a reference falls under (the host first: that is where the data goes)."""
    return _BY_ID[rule_data_for(ref).id]


def finding_for(ref: RefLike, evidence: Evidence, engine: str, confidence: float) -> Finding:
    """The finding of one reference, with the fact's evidence."""
    rule = rule_for(ref)
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        engine=engine,
        message=message(ref),
        evidence=(evidence,),
        confidence=confidence,
    )
