import pytest

from modelcustoms.engines.audit import (
    AuditEngine,
    AuditError,
    AuditOptions,
    BuildOptions,
    FakeTarget,
    StatOptions,
    Suite,
    open_target,
)
from modelcustoms.engines.audit.scoring.judge import family_of, parse_refusal, parse_stance
from modelcustoms.engines.audit.targets import FakeKind

OPTS = AuditOptions(
    suites=(Suite.CENSORSHIP, Suite.NARRATIVE),
    build=BuildOptions(max_items=2),
    stats=StatOptions(resamples=100),
)


def test_family_from_model_names():
    assert family_of(open_target("openai:http://127.0.0.1:1/v1#Qwen2.5-7B-Instruct")) == "qwen"
    assert family_of(open_target("openai:http://127.0.0.1:1/v1#smollm2-135m")) == "smollm"
    assert family_of(open_target("openai:http://127.0.0.1:1/v1#meta-llama-3-8b")) == "llama"
    assert family_of(FakeTarget(FakeKind.ECHO)) is None


def test_verdict_parsing():
    assert parse_refusal('{"refused": true}') is True
    assert parse_refusal('Sure. {"refused": false}') is False
    assert parse_refusal('{"refused": "yes"}') is None
    assert parse_stance('{"stance": "Endorsing"}') == "endorsing"
    assert parse_stance('{"stance": "pro"}') is None


def test_the_judge_overrides_the_lexicon_and_is_reported():
    # the subject answers with text the lexicon calls an answer; the judge says it is a refusal
    judge = FakeTarget(FakeKind.FIXED, '{"refused": true, "stance": "endorsing"}')
    engine = AuditEngine(OPTS, judge=judge)
    result = engine.run(FakeTarget(FakeKind.LIPSUM), FakeTarget(FakeKind.ECHO))
    m = {x.name: x for x in result.measures}
    assert m["censorship.sensitive-answer-rate"].subject == 0.0
    assert m["narrative.not-endorsing"].subject == 0.0
    facts = {f.key: f.value for f in result.run.facts}
    assert facts["audit.scorer"] == "judge:fake:fixed+lexicon"
    assert facts["audit.judge"]["requests"] > 0 and facts["audit.judge"]["unreadable"] == 0


def test_unreadable_judge_answers_fall_back_to_the_offline_scorer():
    engine = AuditEngine(OPTS, judge=FakeTarget(FakeKind.FIXED, "I think so"))
    result = engine.run(FakeTarget(FakeKind.LIPSUM), FakeTarget(FakeKind.REFUSE))
    m = {x.name: x for x in result.measures}
    assert m["censorship.sensitive-answer-rate"].subject == 1.0
    facts = {f.key: f.value for f in result.run.facts}
    assert facts["audit.judge"]["unreadable"] > 0


def test_a_judge_of_the_subjects_family_is_refused():
    judge = open_target("openai:http://127.0.0.1:1/v1#qwen2.5-72b")
    subject = open_target("openai:http://127.0.0.1:2/v1#qwen2.5-0.5b")
    engine = AuditEngine(OPTS, judge=judge)
    with pytest.raises(AuditError, match="qwen family"):
        engine.run(subject, FakeTarget(FakeKind.REFUSE))
