from __future__ import annotations

import pytest

from modelcustoms.policy.paths import required_paths, touched_paths


@pytest.mark.parametrize(
    ("expr", "required"),
    [
        ("facts.origin.country == 'CN'", {"origin.country"}),
        ("facts.identity.family.startsWith('qwen')", {"identity.family"}),
        ("facts.license.effective.exists(l, l.x)", {"license.effective"}),
        ("has(facts.audit) && facts.audit.suites.size() > 0", set()),
        ("has(facts.a.b) && facts.a.b == 1", {"a"}),
        ("has(facts.a) && has(facts.a.b)", set()),
        ("facts.x || true", {"x"}),
        ("'facts.hidden' == subject.name", set()),
        ('"""facts.y""" == "" && r\'facts.z\' == ""', set()),
        ("engines.audit.status == 'ok'", set()),
        ("subject.facts.x == 1", set()),
        ("facts['odd-key'] == 1", set()),
        ("facts.a.b\n  && facts.c", {"a.b", "c"}),
    ],
)
def test_required_paths(expr, required):
    assert required_paths(expr) == frozenset(required)


def test_touched_and_guarded_are_reported_separately():
    touched, guarded = touched_paths("has(facts.a.b) && facts.c.d > 1")
    assert touched == {"a", "c.d"}
    assert guarded == {"a.b"}
