from collections import Counter
from datetime import UTC, datetime

import pytest

from modelcustoms.core import Decision, Subject, SubjectKind
from modelcustoms.engines.audit import (
    AuditEngine,
    AuditError,
    AuditOptions,
    BuildOptions,
    FakeTarget,
    StatOptions,
    Suite,
)
from modelcustoms.engines.audit.engine import build_probes
from modelcustoms.engines.audit.probes import (
    BUILTIN_SUITES,
    canary,
    load_suite_data,
    stratified_sample,
)
from modelcustoms.engines.audit.targets import FakeKind
from modelcustoms.pipeline import audit_report
from modelcustoms.policy import evaluate, load_policy
from modelcustoms.policy.facts import build_facts

FAST = StatOptions(resamples=300)


@pytest.mark.parametrize("suite", BUILTIN_SUITES)
def test_every_suite_builds_unique_probes_from_versioned_data(suite):
    probes = build_probes(suite, BuildOptions())
    assert probes
    assert len({p.id for p in probes}) == len(probes)
    assert all(p.request.messages and p.request.messages[-1].role == "user" for p in probes)


@pytest.mark.parametrize("name", ["censorship", "narrative", "business", "security", "labeled"])
def test_data_files_are_versioned(name):
    assert load_suite_data(name)["version"]


def test_censorship_arms_are_matched_in_both_languages():
    probes = build_probes(Suite.CENSORSHIP, BuildOptions())
    per_topic = Counter(p.cluster for p in probes)
    assert set(per_topic.values()) == {6}  # 3 arms x 2 languages
    zh = [p for p in probes if p.lang == "zh"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p.request.messages[-1].content) for p in zh)


def test_stratified_sample_spreads_over_categories_and_is_stable():
    items = [{"c": c, "i": i} for c in "abcde" for i in range(4)]
    s1 = stratified_sample(items, 5, lambda x: x["c"], seed=3)
    assert {x["c"] for x in s1} == set("abcde")
    assert s1 == stratified_sample(items, 5, lambda x: x["c"], seed=3)
    assert s1 != stratified_sample(items, 5, lambda x: x["c"], seed=4)
    assert stratified_sample(items, None, lambda x: x["c"], seed=0) == items


def test_canaries_are_stable_and_differ_per_item_and_seed():
    assert canary(0, "a") == canary(0, "a")
    assert len({canary(0, "a"), canary(0, "b"), canary(1, "a")}) == 3


def test_language_suite_reuses_the_requests_of_its_source_suites():
    opts = BuildOptions(max_items=3)
    lang = {p.request for p in build_probes(Suite.LANGUAGE, opts)}
    src = {p.request for p in build_probes(Suite.CENSORSHIP, opts)} | {
        p.request for p in build_probes(Suite.NARRATIVE, opts)
    }
    assert lang <= src


def _audit(subject, reference, suites=BUILTIN_SUITES, **build):
    opts = AuditOptions(suites=suites, build=BuildOptions(**build), stats=FAST)
    return AuditEngine(opts).run(subject, reference)


def test_a_refusing_model_against_an_answering_one():
    result = _audit(FakeTarget(FakeKind.REFUSE), FakeTarget(FakeKind.LIPSUM))
    m = {x.name: x for x in result.measures}
    # refuses everything: no *excess* on China-sensitive requests (controls refused too)
    assert m["censorship.excess-vs-government"].delta == 0
    assert m["censorship.sensitive-answer-rate"].delta == -1
    assert m["security.jailbreak"].delta == 1  # refusing is resisting
    # Holm-adjusted p-values are never below the raw ones
    assert all(x.p_holm >= x.p_value for x in result.measures)
    assert all(f.rule_id != "audit.censorship-excess" for f in result.run.findings)


def test_findings_and_policy_deny_for_a_subject_worse_than_its_reference():
    result = _audit(
        FakeTarget(FakeKind.LIPSUM), FakeTarget(FakeKind.REFUSE), suites=(Suite.SECURITY,)
    )
    rules = {f.rule_id for f in result.run.findings}
    assert rules == {"audit.security-weaker"}
    finding = result.run.findings[0]
    assert "CI [" in finding.message and finding.evidence
    assert finding.evidence[0].location.artifact.startswith("suite:security@")
    report = audit_report(
        Subject(kind=SubjectKind.ENDPOINT, ref="fake:lipsum", name="lipsum"),
        result.run,
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    facts = build_facts(report)
    assert "audit.suites" not in facts.invalid_facts
    row = facts.facts["audit"]["suites"][0]
    assert row["suite"] == "security" and row["delta_ci_high"] < -0.05
    assert facts.facts["audit"]["security"]["delta"] == row["delta"]
    verdict = evaluate(report, load_policy("behavior")).verdict
    assert verdict.decision is Decision.DENY
    assert "behavior.regression" in verdict.fired_rules


def test_policy_allows_when_the_subject_is_not_worse():
    result = _audit(
        FakeTarget(FakeKind.REFUSE), FakeTarget(FakeKind.LIPSUM), suites=(Suite.SECURITY,)
    )
    report = audit_report(Subject(kind=SubjectKind.ENDPOINT, ref="x", name="x"), result.run)
    verdict = evaluate(report, load_policy("behavior")).verdict
    assert "behavior.regression" not in verdict.fired_rules


def test_suite_without_judgeable_pairs_is_a_skip_and_a_partial_run():
    result = _audit(
        FakeTarget(FakeKind.LIPSUM), FakeTarget(FakeKind.REFUSE), suites=(Suite.BUSINESS,)
    )
    assert result.run.status.value == "partial"
    assert [s.reason for s in result.run.skips] == ["not-enough-data"]
    report = audit_report(Subject(kind=SubjectKind.ENDPOINT, ref="x", name="x"), result.run)
    verdict = evaluate(report, load_policy("behavior")).verdict
    assert "behavior.audit-incomplete" in verdict.fired_rules


def test_same_target_twice_is_refused():
    with pytest.raises(AuditError):
        _audit(FakeTarget(FakeKind.ECHO), FakeTarget(FakeKind.ECHO))


def test_reported_measures_carry_their_holm_adjusted_p_values():
    result = _audit(
        FakeTarget(FakeKind.REFUSE), FakeTarget(FakeKind.LIPSUM), suites=(Suite.SECURITY,)
    )
    docs = next(f.value for f in result.run.facts if f.key == "audit.security.measures")
    assert all(isinstance(d["p_holm"], float) and d["p_holm"] >= d["p_value"] for d in docs)


class _Biased:
    """Harsh decisions whenever China is named, kind ones otherwise."""

    id = "test:biased"
    display = "biased"
    family = None

    async def complete(self, request):
        from modelcustoms.engines.audit import Response

        text = request.messages[-1].content
        if "Chin" in text:
            return Response('{"action": "remove", "score": 1, "risk": "high", "queue": "fraud"}')
        return Response('{"action": "allow", "score": 5, "risk": "low", "queue": "billing"}')

    async def aclose(self):
        return None


def test_business_bias_is_found_and_its_direction_measured():
    kind = FakeTarget(
        FakeKind.FIXED, '{"action": "allow", "score": 5, "risk": "low", "queue": "billing"}'
    )
    result = _audit(_Biased(), kind, suites=(Suite.BUSINESS,))
    m = {x.name: x for x in result.measures}
    assert m["business.consistent"].reference == 1.0
    assert m["business.consistent"].delta < 0 and m["business.consistent"].delta_high < 0
    assert m["business.not-harsher"].delta == m["business.consistent"].delta
    assert m["business.valid-json"].delta == 0
    assert [f.rule_id for f in result.run.findings] == ["audit.business-inconsistent"]
