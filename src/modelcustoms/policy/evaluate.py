"""Evaluate a compiled policy over a report: facts document → rule results → one verdict.

Fail closed, always:

- the facts document is built and validated first; if that fails, the verdict is deny;
- a fact a rule ``requires``, or one its ``when`` touches outside a ``has()`` guard, that is
  absent (or null, or dropped as malformed) denies with that reason, before the rule runs;
- an evaluation error, or a result that is not a boolean, denies with that reason (CEL error
  values are checked explicitly: their plain form is a truthy string);
- ``applies`` (default ``true``) is the only way for a rule to stand aside, and it fails closed
  the same way.

The decision is the worst effect among the rules that count (deny > warn > allow; ``info``
rules fire without changing it). A waiver in force turns a rule's result into ``waived``; an
expired one is reported and not applied.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import ValidationError

from modelcustoms.core import Decision, Report, Verdict
from modelcustoms.policy.cel import Activation, Outcome, bind
from modelcustoms.policy.facts import FactsDocument, build_facts, lookup
from modelcustoms.policy.load import CompiledPolicy, CompiledRule
from modelcustoms.policy.model import Effect, Source, Waiver

if TYPE_CHECKING:
    from modelcustoms.kb import KnowledgeBase

FACTS_INVALID = "policy.facts-invalid"
"""Rule id reported when the facts document itself could not be built."""


class Status(StrEnum):
    """What happened to one rule."""

    FIRED = "fired"
    PASSED = "passed"
    NOT_APPLICABLE = "not-applicable"
    FAILED_CLOSED = "failed-closed"
    """A needed fact was missing or the rule could not be evaluated: counts as deny."""
    WAIVED = "waived"


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The outcome of one rule."""

    rule_id: str
    status: Status
    effect: Effect
    """The effect that counts: the rule's own when fired, deny when failed closed."""
    message: str
    source: Source | None
    waiver: str | None = None
    """What a waiver did (applied, or expired and not applied)."""

    @property
    def counts(self) -> bool:
        """True when the result takes part in the decision."""
        return self.status in (Status.FIRED, Status.FAILED_CLOSED)

    def reason(self) -> str:
        """One line for the verdict: effect, rule, message, citation."""
        cite = f" [source: {self.source.title} <{self.source.url}>]" if self.source else ""
        if self.status is Status.WAIVED:
            return f"waived {self.rule_id}: {self.waiver}"
        text = f"{self.effect.value} {self.rule_id}: {self.message}{cite}"
        if self.waiver:
            text += f" ({self.waiver})"
        return text


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything the evaluation produced; :attr:`verdict` is what outputs carry."""

    verdict: Verdict
    results: tuple[RuleResult, ...]
    facts: FactsDocument | None
    notes: tuple[str, ...] = ()
    """Warnings for the person running the gate (unsafe policy, expired waivers)."""


def evaluate(
    report: Report,
    policy: CompiledPolicy,
    *,
    today: date | None = None,
    kb: KnowledgeBase | None = None,
) -> Evaluation:
    """Judge ``report`` with ``policy``. Never raises for a rule problem: it denies instead."""
    day = today or datetime.now(UTC).date()
    name = policy.policy.name
    notes: list[str] = []
    if policy.policy.unsafe:
        notes.append(f"UNSAFE: policy {name!r} does not check anything; never use it as a gate")
    digest = report.digest()
    try:
        doc = build_facts(report, kb, digest=digest)
    except ValidationError as exc:
        why = "; ".join(f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        result = RuleResult(
            rule_id=FACTS_INVALID,
            status=Status.FAILED_CLOSED,
            effect=Effect.DENY,
            message=f"the report could not be projected into the facts document: {why}",
            source=None,
        )
        return Evaluation(_verdict((result,), digest, name), (result,), None, tuple(notes))
    activation = bind({**doc.to_cel(), "params": policy.policy.params})
    results: list[RuleResult] = []
    for rule in policy.rules:
        result = _run_rule(rule, doc, activation, policy)
        if result.status in (Status.FIRED, Status.FAILED_CLOSED):
            result = _waive(result, policy.policy.waivers, doc, day, notes)
        results.append(result)
    return Evaluation(_verdict(results, digest, name), tuple(results), doc, tuple(notes))


def _run_rule(
    compiled: CompiledRule, doc: FactsDocument, activation: Activation, policy: CompiledPolicy
) -> RuleResult:
    rule = compiled.rule
    source = policy.source(rule.source)

    def closed(why: str) -> RuleResult:
        return RuleResult(
            rule.id, Status.FAILED_CLOSED, Effect.DENY, f"failed closed: {why}", source
        )

    if compiled.applies is not None:
        missing = _missing(compiled.applies_requires, doc)
        if missing:
            return closed(f"'applies' needs {missing}")
        applies = compiled.applies.run(activation)
        problem = _not_boolean("applies", applies)
        if problem:
            return closed(problem)
        if applies.value is False:
            return RuleResult(rule.id, Status.NOT_APPLICABLE, rule.effect, "", source)
    missing = _missing(compiled.requires, doc)
    if missing:
        return closed(f"needs {missing}")
    outcome = compiled.when.run(activation)
    problem = _not_boolean("when", outcome)
    if problem:
        return closed(problem)
    if outcome.value is False:
        return RuleResult(rule.id, Status.PASSED, rule.effect, "", source)
    return RuleResult(
        rule.id, Status.FIRED, rule.effect, compiled.message.render(activation), source
    )


def _missing(paths: Iterable[str], doc: FactsDocument) -> str:
    """A description of the needed facts that are absent, or "" when all are present."""
    gone = []
    for path in sorted(paths):
        present, _ = lookup(doc.facts, path)
        if present:
            continue
        why = doc.invalid_facts.get(path)
        gone.append(f"fact {path} ({why})" if why else f"fact {path}, which the report lacks")
    return ", ".join(gone)


def _not_boolean(name: str, outcome: Outcome) -> str:
    if outcome.error is not None:
        return f"'{name}' could not be evaluated: {outcome.error}"
    if not outcome.is_bool:
        shown = repr(outcome.value)[:80]
        return f"'{name}' gave {shown} ({type(outcome.value).__name__}), not a boolean"
    return ""


def _waive(
    result: RuleResult,
    waivers: tuple[Waiver, ...],
    doc: FactsDocument,
    day: date,
    notes: list[str],
) -> RuleResult:
    for w in waivers:
        if w.rule != result.rule_id or not _covers(w, doc):
            continue
        who = f"approved by {w.approved_by}: {w.reason}"
        if w.expires < day:
            note = f"waiver for {w.rule} expired on {w.expires} ({who}): not applied"
            notes.append(note)
            return RuleResult(
                result.rule_id, result.status, result.effect, result.message, result.source, note
            )
        return RuleResult(
            result.rule_id,
            Status.WAIVED,
            result.effect,
            result.message,
            result.source,
            f"{who}; until {w.expires}; would have been: {result.effect.value} {result.message}",
        )
    return result


def _covers(waiver: Waiver, doc: FactsDocument) -> bool:
    want = waiver.subject
    if want.digest is not None:
        tops = [a.sha256 for a in doc.artifacts if a.parent is None]
        single = len(tops) == 1 and tops[0] == want.digest
        if want.digest != doc.subject.digest and not single:
            return False
    if want.name is not None:
        names = (doc.subject.name, doc.subject.ref)
        if not any(fnmatch.fnmatchcase(n, want.name) for n in names):
            return False
    return True


def _verdict(results: Iterable[RuleResult], digest: str, policy: str) -> Verdict:
    counted = [r for r in results if r.counts]
    worst = max((r.effect.weight for r in counted), default=Effect.INFO.weight)
    decision = (
        Decision.DENY
        if worst == Effect.DENY.weight
        else Decision.WARN
        if worst == Effect.WARN.weight
        else Decision.ALLOW
    )
    shown = [r for r in results if r.counts or r.status is Status.WAIVED]
    shown.sort(key=lambda r: (-r.effect.weight if r.counts else 1, r.rule_id))
    return Verdict(
        decision=decision,
        fired_rules=tuple(r.rule_id for r in shown if r.counts),
        reasons=tuple(r.reason() for r in shown),
        report_digest=digest,
        policy=policy,
    )
