"""Fail-closed evaluation, decisions, waivers and the verdict's binding to the report."""

from __future__ import annotations

import importlib
import textwrap
from datetime import date

import pytest

from modelcustoms.core import Decision, Severity
from modelcustoms.policy import Status, evaluate, load_policy, parse_policy
from modelcustoms.policy.evaluate import FACTS_INVALID
from modelcustoms.policy.facts import subject_digest
from tests.unit.policy.reports import SHA_MODEL, make_report, origin

HEAD = """\
name: t
description: test
as_of: 2026-11-28
sources:
  - id: src
    title: The Standard
    url: https://example.org/std
"""


def policy(rules: str, extra: str = ""):
    return parse_policy(
        HEAD + extra + "rules:\n" + textwrap.indent(textwrap.dedent(rules), "  "), "t.yaml"
    )


def one_rule(when: str, effect: str = "deny", **fields: str):
    lines = [f"- id: t.rule\n  effect: {effect}\n  when: {when!r}\n  message: fired\n  source: src"]
    lines += [f"  {k}: {v}" for k, v in fields.items()]
    return policy("\n".join(lines) + "\n")


def result(evaluation):
    (r,) = evaluation.results
    return r


# --- fail closed -------------------------------------------------------------------------------


def test_rule_over_a_missing_required_fact_denies():
    ev = evaluate(make_report(), one_rule("true", effect="info", requires="[origin.country]"))
    r = result(ev)
    assert r.status is Status.FAILED_CLOSED
    assert ev.verdict.decision is Decision.DENY
    assert "origin.country" in ev.verdict.reasons[0]
    assert "failed closed" in ev.verdict.reasons[0]


def test_touched_missing_fact_denies_even_when_the_expression_would_absorb_the_error():
    # CEL: `missing || true` is true and `missing && false` is false: neither may pass silently.
    for when in ("facts.origin.country == 'CN' || true", "facts.nope && false"):
        ev = evaluate(make_report(), one_rule(when, effect="warn"))
        assert result(ev).status is Status.FAILED_CLOSED, when
        assert ev.verdict.decision is Decision.DENY


def test_erroring_rule_denies():
    report = make_report(facts={"x.n": 1})
    ev = evaluate(report, one_rule("facts.x.n / 0 > 1", effect="info"))
    assert result(ev).status is Status.FAILED_CLOSED
    assert "could not be evaluated" in result(ev).message
    assert ev.verdict.decision is Decision.DENY


def test_error_inside_a_guarded_expression_still_denies():
    # has(facts.x) is true, facts.x.y is absent: a runtime error, not a pass.
    ev = evaluate(make_report(facts={"x.z": 1}), one_rule("has(facts.x) && facts.x.y == 1"))
    assert result(ev).status is Status.FAILED_CLOSED


def test_non_boolean_result_denies():
    ev = evaluate(make_report(facts={"x.name": "abc"}), one_rule("facts.x.name", effect="info"))
    assert result(ev).status is Status.FAILED_CLOSED
    assert "not a boolean" in result(ev).message
    assert ev.verdict.decision is Decision.DENY


def test_malformed_fact_denies_with_the_reason():
    report = make_report(facts={**origin("US"), "origin.country": "Mars"})
    ev = evaluate(report, one_rule("facts.origin.country == 'CN'"))
    assert result(ev).status is Status.FAILED_CLOSED
    assert "malformed" in result(ev).message


def test_erroring_applies_denies():
    ev = evaluate(make_report(), one_rule("true", applies='"subject.nope == 1"'))
    assert result(ev).status is Status.FAILED_CLOSED


def test_facts_document_failure_denies(monkeypatch):
    from pydantic import BaseModel, ValidationError

    evaluate_module = importlib.import_module("modelcustoms.policy.evaluate")

    class Strict(BaseModel):
        x: int

    def broken(report, kb=None, digest=None):
        try:
            Strict.model_validate({"x": "not a number"})
        except ValidationError as exc:
            raise exc from None
        raise AssertionError

    monkeypatch.setattr(evaluate_module, "build_facts", broken)
    ev = evaluate(make_report(), one_rule("false"))
    assert ev.verdict.decision is Decision.DENY
    assert ev.verdict.fired_rules == (FACTS_INVALID,)
    assert ev.facts is None


# --- decisions ---------------------------------------------------------------------------------


def test_applies_false_stands_aside():
    ev = evaluate(make_report(), one_rule("facts.nope", applies="subject.kind == 'endpoint'"))
    assert result(ev).status is Status.NOT_APPLICABLE
    assert ev.verdict.decision is Decision.ALLOW


def test_has_guard_makes_a_fact_optional():
    ev = evaluate(make_report(), one_rule("has(facts.audit) && facts.audit.bad"))
    assert result(ev).status is Status.PASSED


def test_worst_effect_wins_and_info_does_not_change_the_decision():
    rules = """
    - {id: t.info, effect: info, when: "true", message: i, source: src}
    - {id: t.warn, effect: warn, when: "true", message: w, source: src}
    - {id: t.quiet, effect: deny, when: "false", message: d, source: src}
    """
    ev = evaluate(make_report(), policy(rules))
    assert ev.verdict.decision is Decision.WARN
    assert ev.verdict.fired_rules == ("t.warn", "t.info")
    only_info = policy("- {id: t.info, effect: info, when: 'true', message: i, source: src}\n")
    assert evaluate(make_report(), only_info).verdict.decision is Decision.ALLOW
    rules += '- {id: t.deny, effect: deny, when: "true", message: d, source: src}\n'
    assert evaluate(make_report(), policy(rules)).verdict.decision is Decision.DENY


def test_verdict_is_bound_to_the_report_digest_and_names_the_policy():
    report = make_report()
    ev = evaluate(report, one_rule("true", effect="warn"))
    assert ev.verdict.report_digest == report.digest()
    assert ev.verdict.policy == "t"


def test_reason_carries_message_and_source():
    ev = evaluate(make_report(facts=origin("CN")), one_rule("facts.origin.country == 'CN'"))
    reason = ev.verdict.reasons[0]
    assert reason.startswith("deny t.rule: fired")
    assert "The Standard <https://example.org/std>" in reason


def test_message_interpolates_values_and_survives_errors():
    rules = """
    - id: t.msg
      effect: warn
      when: "true"
      message: "{facts.origin.country} / {findings.map(f, f.rule_id)} / {facts.nope} {{x}}"
      source: src
    """
    report = make_report(facts=origin("CN"), findings=[("a.b", Severity.LOW)])
    assert result(evaluate(report, policy(rules))).message == "CN / a.b / <unavailable> {x}"


def test_params_are_visible_to_rules():
    p = policy(
        "- {id: t.p, effect: deny, when: 'facts.origin.country in params.c', message: m,"
        " source: src}\n",
        extra="params: {c: [CN]}\n",
    )
    assert evaluate(make_report(facts=origin("CN")), p).verdict.decision is Decision.DENY
    assert evaluate(make_report(facts=origin("US")), p).verdict.decision is Decision.ALLOW


# --- waivers -----------------------------------------------------------------------------------

WAIVED_RULES = """
- {id: t.rule, effect: deny, when: "true", message: fired, source: src}
"""


def waiver(subject: str, expires: str = "2027-06-30") -> str:
    return f"""waivers:
  - rule: t.rule
    subject: {subject}
    approved_by: Jane Roe (CISO)
    reason: reviewed in TICKET-1
    expires: {expires}
"""


def test_waiver_by_name_pattern_applies_until_it_expires():
    p = policy(WAIVED_RULES, extra=waiver('{name: "acme/*"}'))
    ev = evaluate(make_report(), p, today=date(2027, 6, 30))
    assert result(ev).status is Status.WAIVED
    assert ev.verdict.decision is Decision.ALLOW
    assert ev.verdict.fired_rules == ()
    assert "Jane Roe" in ev.verdict.reasons[0]
    assert ev.verdict.reasons[0].startswith("waived t.rule")


def test_expired_waiver_does_not_apply_and_says_so():
    p = policy(WAIVED_RULES, extra=waiver('{name: "acme/*"}', expires="2026-01-31"))
    ev = evaluate(make_report(), p, today=date(2026, 11, 28))
    assert result(ev).status is Status.FIRED
    assert ev.verdict.decision is Decision.DENY
    assert any("expired on 2026-01-31" in n for n in ev.notes)
    assert "expired" in ev.verdict.reasons[0]


def test_waiver_by_subject_digest_or_single_file_digest():
    report = make_report()
    p = policy(WAIVED_RULES, extra=waiver(f"{{digest: '{subject_digest(report)}'}}"))
    assert evaluate(report, p, today=date(2026, 1, 1)).verdict.decision is Decision.ALLOW
    other = policy(WAIVED_RULES, extra=waiver(f"{{digest: '{SHA_MODEL}'}}"))
    # Two top-level files: one file's digest does not waive the model.
    assert evaluate(report, other, today=date(2026, 1, 1)).verdict.decision is Decision.DENY


def test_waiver_for_another_subject_does_not_apply():
    p = policy(WAIVED_RULES, extra=waiver('{name: "other/*"}'))
    assert evaluate(make_report(), p, today=date(2026, 1, 1)).verdict.decision is Decision.DENY


def test_failed_closed_rule_can_be_waived_explicitly():
    p = policy(
        "- {id: t.rule, effect: deny, when: 'facts.nope', message: m, source: src}\n",
        extra=waiver('{name: "acme/model"}'),
    )
    ev = evaluate(make_report(), p, today=date(2026, 1, 1))
    assert result(ev).status is Status.WAIVED
    assert "failed closed" in result(ev).waiver


# --- unsafe ------------------------------------------------------------------------------------


@pytest.mark.parametrize("findings", [[], [("pickle.dangerous-import", Severity.CRITICAL)]])
def test_unsafe_allow_all_warns_on_every_use(findings):
    ev = evaluate(make_report(findings=findings), load_policy("unsafe-allow-all"))
    assert ev.verdict.decision is Decision.WARN
    assert any("UNSAFE" in n for n in ev.notes)
