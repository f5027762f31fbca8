"""Each built-in profile on hand-built reports: what it denies, warns about, and lets through."""

from __future__ import annotations

from functools import cache

from modelcustoms.core import Decision, EngineStatus, Severity, SubjectKind
from modelcustoms.policy import CompiledPolicy, Status, evaluate, load_policy
from tests.unit.policy.reports import clean_facts, license_row, make_report, origin, suite


@cache
def profile(name: str) -> CompiledPolicy:
    return load_policy(name)


def judge(name: str, report):
    ev = evaluate(report, profile(name))
    statuses = {r.rule_id: r.status for r in ev.results}
    return ev.verdict.decision, set(ev.verdict.fired_rules), statuses


ENDPOINT = {"kind": SubjectKind.ENDPOINT, "scan": None, "provenance": None}


# --- origin ------------------------------------------------------------------------------------


def test_origin_denies_a_publisher_domiciled_in_a_covered_nation():
    decision, fired, _ = judge("origin-covered-nations", make_report(facts=origin("CN")))
    assert decision is Decision.DENY
    assert {"origin.publisher-domiciled", "origin.publisher-controlled"} <= fired


def test_origin_keys_on_the_ultimate_parent_not_the_registered_office():
    # Incorporated in the Cayman Islands, operated and controlled from China.
    facts = origin("KY", parent="CN")
    decision, fired, _ = judge("origin-covered-nations", make_report(facts=facts))
    assert decision is Decision.DENY
    assert fired == {"origin.publisher-controlled"}


def test_origin_denies_any_lineage_link():
    report = make_report(facts=origin("US"), lineage=[("acme/base", "US"), ("qwen2.5", "CN")])
    decision, fired, _ = judge("origin-covered-nations", report)
    assert decision is Decision.DENY
    assert fired == {"origin.lineage-link"}


def test_origin_allows_a_publisher_elsewhere():
    decision, fired, _ = judge("origin-covered-nations", make_report(facts=origin("FR")))
    assert (decision, fired) == (Decision.ALLOW, set())


def test_origin_unknown_is_a_deny_not_a_pass():
    decision, fired, _ = judge("origin-covered-nations", make_report(facts={}))
    assert decision is Decision.DENY
    assert fired == {"origin.unknown"}


def test_origin_lists_differ_cuba_and_venezuela():
    for country in ("CU", "VE"):
        report = make_report(facts=origin(country))
        assert judge("origin-covered-nations", report)[0] is Decision.ALLOW
        assert judge("origin-foreign-adversaries", report)[0] is Decision.DENY
    ev = evaluate(make_report(facts=origin("CU")), profile("origin-foreign-adversaries"))
    assert "15 CFR 791.4" in ev.verdict.reasons[0]


def test_origin_listed_publisher_denies_and_mentioned_warns():
    listed = origin("US", listed=True)
    listed["origin.watchlists"] = [{"list": "BIS Entity List", "status": "listed"}]
    decision, fired, _ = judge("origin-covered-nations", make_report(facts=listed))
    assert (decision, fired) == (Decision.DENY, {"origin.publisher-listed"})
    named = origin("US")
    named["origin.watchlists"] = [{"list": "DoD 1260H", "status": "recommended"}]
    decision, fired, _ = judge("origin-covered-nations", make_report(facts=named))
    assert (decision, fired) == (Decision.WARN, {"origin.watchlist-mentioned"})


def test_origin_rules_stand_aside_for_endpoints():
    decision, _, statuses = judge("origin-covered-nations", make_report(**ENDPOINT))
    assert decision is Decision.ALLOW
    assert set(statuses.values()) == {Status.NOT_APPLICABLE}


# --- hosted API --------------------------------------------------------------------------------


def endpoint(**facts):
    report = make_report(**ENDPOINT)
    from modelcustoms.core import EngineRun, Fact

    run = EngineRun(
        engine="discover",
        version="0.1.0",
        status=EngineStatus.OK,
        analysed=1,
        facts=tuple(
            Fact(key=f"endpoint.{k}", value=v, engine="discover") for k, v in facts.items()
        ),
    )
    return report.model_copy(update={"runs": (run,)})


def test_hosted_api_denies_an_operator_in_a_foreign_adversary():
    decision, fired, _ = judge(
        "hosted-api-data", endpoint(operator="DeepSeek", operator_country="CN")
    )
    assert (decision, fired) == (Decision.DENY, {"api.operator-country"})


def test_hosted_api_denies_an_operator_controlled_from_one():
    report = endpoint(operator="X", operator_country="SG", operator_parent_country="CN")
    assert judge("hosted-api-data", report)[1] == {"api.operator-controlled"}


def test_hosted_api_allows_an_operator_elsewhere():
    assert judge("hosted-api-data", endpoint(operator_country="US"))[0] is Decision.ALLOW


def test_hosted_api_fails_closed_only_for_endpoints():
    decision, _fired, statuses = judge("hosted-api-data", make_report(**ENDPOINT))
    assert decision is Decision.DENY
    assert statuses["api.operator-country"] is Status.FAILED_CLOSED
    decision, _, statuses = judge("hosted-api-data", make_report(facts=origin("CN")))
    assert decision is Decision.ALLOW
    assert set(statuses.values()) == {Status.NOT_APPLICABLE}


# --- license -----------------------------------------------------------------------------------


def lic(*rows, declared=None):
    facts = {"license.family_candidates": list(rows)}
    if declared:
        facts["license.declared"] = declared
    return make_report(facts=facts)


def test_license_non_commercial_denies():
    decision, fired, _ = judge("license", lic(license_row("cc-by-nc-4.0", "no")))
    assert decision is Decision.DENY
    assert "license.non-commercial" in fired


def test_license_kb_row_brings_threshold_naming_and_governing_law():
    # qwen-license in the knowledge base: 100M MAU threshold, "Built with Qwen", PRC law.
    report = lic(license_row("qwen-license", "conditional"))
    decision, fired, _ = judge("license", report)
    assert decision is Decision.WARN
    assert {"license.user-threshold", "license.naming-duty", "license.governing-law"} <= fired
    assert "license.non-commercial" not in fired


def test_license_ambiguous_checkpoint_warns():
    report = lic(license_row("a", "yes"), license_row("b", "no"))
    decision, fired, _ = judge("license", report)
    assert decision is Decision.WARN
    assert {"license.possibly-non-commercial", "license.unresolved"} <= fired


def test_license_permissive_is_allowed():
    report = make_report(facts=clean_facts())
    decision, fired, _ = judge("license", report)
    assert (decision, fired) == (Decision.ALLOW, set())


def test_license_unknown_denies_once():
    decision, fired, _ = judge("license", make_report(facts=origin("US")))
    assert (decision, fired) == (Decision.DENY, {"license.unknown"})


def test_license_territorial_and_remote_clauses_warn():
    row = license_row("x", territorial_restriction="EU", remote_restriction_clause="s.7")
    assert {"license.territorial-restriction", "license.remote-restriction"} <= judge(
        "license", lic(row)
    )[1]


# --- security ----------------------------------------------------------------------------------


def test_security_critical_and_high_deny():
    for sev, rule in ((Severity.CRITICAL, "security.critical"), (Severity.HIGH, "security.high")):
        decision, fired, _ = judge("security", make_report(findings=[("x.y", sev)]))
        assert (decision, fired) == (Decision.DENY, {rule})


def test_security_medium_warns_low_passes():
    assert judge("security", make_report(findings=[("x.y", Severity.MEDIUM)]))[1] == {
        "security.medium"
    }
    assert judge("security", make_report(findings=[("x.y", Severity.LOW)]))[0] is Decision.ALLOW


def test_security_incomplete_engines_and_skips_warn_not_fully_verified():
    decision, fired, _ = judge(
        "security", make_report(scan=EngineStatus.PARTIAL, skips=["tokenizer.model"])
    )
    assert decision is Decision.WARN
    assert fired == {"security.engine-incomplete", "security.skipped"}
    ev = evaluate(make_report(provenance=EngineStatus.ERROR), profile("security"))
    assert "not fully verified" in ev.verdict.reasons[0]


def test_security_nothing_scanned_is_not_a_pass():
    assert judge("security", make_report(scan=None))[1] == {"security.not-scanned"}
    assert judge("security", make_report(analysed=0))[1] == {"security.not-scanned"}


# --- behavior ----------------------------------------------------------------------------------


def test_behavior_skips_cleanly_when_no_audit_ran():
    decision, fired, statuses = judge("behavior", make_report())
    assert (decision, fired) == (Decision.ALLOW, set())
    assert set(statuses.values()) == {Status.NOT_APPLICABLE}


def test_behavior_denies_when_the_whole_ci_is_beyond_tolerance():
    report = make_report(
        audit=EngineStatus.OK, audit_facts={"audit.suites": [suite("refusals", -0.2, -0.3, -0.1)]}
    )
    decision, fired, _ = judge("behavior", report)
    assert (decision, fired) == (Decision.DENY, {"behavior.regression"})


def test_behavior_only_warns_when_the_difference_does_not_survive_holm_correction():
    row = {**suite("language", -0.58, -0.89, -0.27), "p_value": 0.039, "p_holm": 0.55}
    report = make_report(audit=EngineStatus.OK, audit_facts={"audit.suites": [row]})
    assert judge("behavior", report)[:2] == (Decision.WARN, {"behavior.possible-regression"})
    significant = {**row, "p_holm": 0.01}
    report = make_report(audit=EngineStatus.OK, audit_facts={"audit.suites": [significant]})
    assert judge("behavior", report)[:2] == (Decision.DENY, {"behavior.regression"})


def test_behavior_warns_when_the_ci_crosses_tolerance():
    report = make_report(
        audit=EngineStatus.OK, audit_facts={"audit.suites": [suite("refusals", -0.04, -0.1, 0.02)]}
    )
    assert judge("behavior", report)[1] == {"behavior.possible-regression"}


def test_behavior_within_tolerance_passes():
    report = make_report(
        audit=EngineStatus.OK, audit_facts={"audit.suites": [suite("refusals", 0.0, -0.03, 0.03)]}
    )
    assert judge("behavior", report)[0] is Decision.ALLOW


def test_behavior_fails_closed_when_an_audit_ran_without_results():
    decision, _, statuses = judge("behavior", make_report(audit=EngineStatus.ERROR))
    assert decision is Decision.DENY
    assert statuses["behavior.regression"] is Status.FAILED_CLOSED


# --- enterprise default ------------------------------------------------------------------------


def test_enterprise_default_allows_a_clean_model():
    decision, fired, _ = judge("enterprise-default", make_report(facts=clean_facts()))
    assert (decision, fired) == (Decision.ALLOW, set())


def test_enterprise_default_combines_every_concern():
    facts = {
        **origin("CN"),
        "license.family_candidates": [license_row("qwen-research", "no")],
    }
    report = make_report(facts=facts, findings=[("pickle.dangerous-import", Severity.CRITICAL)])
    decision, fired, _ = judge("enterprise-default", report)
    assert decision is Decision.DENY
    assert {"origin.publisher-domiciled", "license.non-commercial", "security.critical"} <= fired


def test_no_builtin_message_placeholder_is_unavailable():
    from modelcustoms.policy import builtin_profiles

    reports = [
        make_report(
            facts={
                **origin("CN", listed=True),
                "origin.watchlists": [{"list": "L", "status": "recommended"}],
                "license.family_candidates": [
                    license_row("qwen-license", "conditional", revenue_threshold="$1"),
                    license_row("x", "no", territorial_restriction="EU"),
                ],
            },
            lineage=[("qwen2.5", "CN")],
            findings=[(f"x.{s.value}", s) for s in Severity],
            scan=EngineStatus.PARTIAL,
            skips=["a.bin"],
            audit=EngineStatus.PARTIAL,
            audit_facts={"audit.suites": [suite("a", -0.2, -0.3, -0.1), suite("b", 0, -0.1, 0.1)]},
        ),
        endpoint(operator="Op", operator_country="CN", operator_parent_country="CN"),
    ]
    for name in builtin_profiles():
        for report in reports:
            for r in evaluate(report, profile(name)).results:
                assert "<unavailable>" not in r.message, (name, r.rule_id, r.message)
