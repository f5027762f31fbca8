"""Policy as code: rules as data (YAML/JSON with CEL conditions) → a verdict over a report.

Pure: policy reads a :class:`~modelcustoms.core.Report` (never an engine, a source or a
renderer) and returns a :class:`~modelcustoms.core.Verdict`. See ``docs/policy.md``.

>>> policy = load_policy("security")          # a built-in profile, or a path
>>> evaluation = evaluate(report, policy)      # doctest: +SKIP
>>> evaluation.verdict.decision                # doctest: +SKIP
"""

from modelcustoms.policy.errors import PolicyIssue, PolicyLoadError
from modelcustoms.policy.evaluate import Evaluation, RuleResult, Status, evaluate
from modelcustoms.policy.facts import FactsDocument, build_facts
from modelcustoms.policy.load import (
    CompiledPolicy,
    CompiledRule,
    builtin_profiles,
    load_policy,
    parse_policy,
)
from modelcustoms.policy.model import Effect, Policy, Rule, Source, Waiver, WaiverSubject

__all__ = [
    "CompiledPolicy",
    "CompiledRule",
    "Effect",
    "Evaluation",
    "FactsDocument",
    "Policy",
    "PolicyIssue",
    "PolicyLoadError",
    "Rule",
    "RuleResult",
    "Source",
    "Status",
    "Waiver",
    "WaiverSubject",
    "build_facts",
    "builtin_profiles",
    "evaluate",
    "load_policy",
    "parse_policy",
]
