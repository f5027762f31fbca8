from __future__ import annotations

import textwrap
from datetime import date

import pytest

from modelcustoms.policy import (
    Effect,
    PolicyIssue,
    PolicyLoadError,
    builtin_profiles,
    load_policy,
    parse_policy,
)

HEAD = """\
name: mine
description: test policy
as_of: 2026-11-28
sources:
  - id: src
    title: A standard
    url: https://example.org/standard
"""


def policy_text(rules: str, extra: str = "") -> str:
    return HEAD + extra + "rules:\n" + textwrap.indent(textwrap.dedent(rules), "  ")


def issues(exc: pytest.ExceptionInfo[PolicyLoadError]) -> list[PolicyIssue]:
    return list(exc.value.exceptions)


REQUIRED_PROFILES = {
    "origin-covered-nations",
    "origin-foreign-adversaries",
    "hosted-api-data",
    "license",
    "security",
    "behavior",
    "enterprise-default",
    "unsafe-allow-all",
}


def test_builtin_profiles_are_shipped():
    assert set(builtin_profiles()) >= REQUIRED_PROFILES


@pytest.mark.parametrize("name", builtin_profiles())
def test_every_builtin_profile_loads_with_sources_and_as_of(name):
    policy = load_policy(name)
    assert policy.rules, name
    assert policy.policy.as_of <= date(2026, 11, 28)
    for compiled in policy.rules:
        src = policy.source(compiled.rule.source)
        assert src.url.startswith("https://")
        assert src.title
    assert all(s.as_of is not None for s in policy.policy.sources if name != "unsafe-allow-all")


def test_enterprise_default_combines_the_profiles():
    policy = load_policy("enterprise-default")
    prefixes = {c.rule.id.split(".")[0] for c in policy.rules}
    assert prefixes == {"origin", "api", "license", "security", "behavior", "dependency"}
    assert len(policy.files) == 7


def test_list_variants_differ_and_say_which():
    covered = load_policy("origin-covered-nations").policy
    adversaries = load_policy("origin-foreign-adversaries").policy
    assert set(covered.params["origin_countries"]) == {"CN", "HK", "MO", "KP", "RU", "IR"}
    assert {"CU", "VE"} <= set(adversaries.params["origin_countries"])
    assert "4872" in load_policy("origin-covered-nations").source("origin-list").title
    assert "791.4" in load_policy("origin-foreign-adversaries").source("origin-list").title


def test_every_error_is_reported_at_once_with_rule_locations():
    text = policy_text(
        """
        - id: Bad_Id
          effect: deny
          when: "true"
          message: m
          source: src
        - id: a.syntax
          effect: deny
          when: "facts.x =="
          message: m
          source: src
        - id: a.unknown-source
          effect: warn
          when: "true"
          message: m
          source: nowhere
        - id: a.typo
          effect: block
          when: "true"
          message: m
          source: src
          sevrity: high
        - id: a.not-bool
          effect: info
          when: "1 + 1"
          message: "{unclosed"
          source: src
        """,
        extra="colour: red\n",
    )
    with pytest.raises(PolicyLoadError) as exc:
        parse_policy(text, "mine.yaml")
    found = {(i.file, i.where) for i in issues(exc)}
    assert ("mine.yaml", "rules[0] (Bad_Id).id") in found
    assert ("mine.yaml", "rules (a.syntax).when") in found
    assert ("mine.yaml", "rules (a.unknown-source).source") in found
    assert ("mine.yaml", "rules[3] (a.typo).effect") in found
    assert ("mine.yaml", "rules[3] (a.typo).sevrity") in found
    assert ("mine.yaml", "rules (a.not-bool).when") in found
    assert ("mine.yaml", "rules (a.not-bool).message") in found
    assert ("mine.yaml", "colour") in found
    assert "policy has" in exc.value.diagnostics()


def test_cel_syntax_error_names_the_rule():
    text = policy_text(
        """
        - id: a.broken
          effect: deny
          when: "findings.exists(f, f.rank >"
          message: m
          source: src
        """
    )
    with pytest.raises(PolicyLoadError) as exc:
        parse_policy(text, "p.yaml")
    (issue,) = issues(exc)
    assert issue.where == "rules (a.broken).when"
    assert "CEL error" in issue.message


def test_empty_policy_is_an_error():
    with pytest.raises(PolicyLoadError) as exc:
        parse_policy(HEAD + "rules: []\n", "empty.yaml")
    assert "empty policy" in str(issues(exc)[0])


def test_not_a_mapping_and_bad_yaml_are_errors():
    for text in ("- a\n- b\n", "name: [unclosed\n", ""):
        with pytest.raises(PolicyLoadError):
            parse_policy(text)


def test_yaml_aliases_are_refused():
    text = policy_text(
        """
        - &r
          id: a.one
          effect: deny
          when: "true"
          message: m
          source: src
        - *r
        """
    )
    with pytest.raises(PolicyLoadError) as exc:
        parse_policy(text)
    assert "aliases" in str(issues(exc)[0])


def test_unknown_profile_lists_the_builtins():
    with pytest.raises(PolicyLoadError) as exc:
        load_policy("no-such-profile")
    assert "enterprise-default" in str(issues(exc)[0])


def test_extends_files_relative_and_builtins(tmp_path):
    (tmp_path / "base.yaml").write_text(
        policy_text(
            """
            - id: base.rule
              effect: warn
              when: "true"
              message: base
              source: src
            """
        ).replace("name: mine", "name: base")
    )
    (tmp_path / "top.yaml").write_text(
        HEAD.replace("name: mine", "name: top")
        + "extends: [base.yaml, security]\nparams: {x: 1}\nrules: []\n"
    )
    policy = load_policy(tmp_path / "top.yaml")
    ids = [c.rule.id for c in policy.rules]
    assert ids[0] == "base.rule"
    assert "security.critical" in ids
    assert policy.policy.name == "top"
    assert policy.policy.params == {"x": 1}


def test_extends_cycle_is_an_error(tmp_path):
    a = HEAD.replace("name: mine", "name: a") + "extends: [b.yaml]\nrules: []\n"
    b = HEAD.replace("name: mine", "name: b") + "extends: [a.yaml]\nrules: []\n"
    (tmp_path / "a.yaml").write_text(a)
    (tmp_path / "b.yaml").write_text(b)
    with pytest.raises(PolicyLoadError) as exc:
        load_policy(tmp_path / "a.yaml")
    assert any("extends itself" in str(i) for i in issues(exc))


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(PolicyLoadError) as exc:
        load_policy(tmp_path / "nope.yaml")
    assert "cannot read" in str(issues(exc)[0])


def test_conflicting_params_of_parents_must_be_settled(tmp_path):
    for name, value in (("p1", 1), ("p2", 2)):
        (tmp_path / f"{name}.yaml").write_text(
            policy_text(
                f"""
                - id: {name}.rule
                  effect: info
                  when: "true"
                  message: m
                  source: src
                """,
                extra=f"params: {{k: {value}}}\n",
            ).replace("name: mine", f"name: {name}")
        )
    top = HEAD.replace("name: mine", "name: top") + "extends: [p1.yaml, p2.yaml]\nrules: []\n"
    (tmp_path / "top.yaml").write_text(top)
    with pytest.raises(PolicyLoadError) as exc:
        load_policy(tmp_path / "top.yaml")
    assert issues(exc)[0].where == "params.k"
    (tmp_path / "top.yaml").write_text(top.replace("rules: []", "params: {k: 3}\nrules: []"))
    assert load_policy(tmp_path / "top.yaml").policy.params["k"] == 3


def test_waivers_are_validated():
    text = policy_text(
        """
        - id: a.rule
          effect: deny
          when: "true"
          message: m
          source: src
        """,
        extra="""waivers:
  - rule: a.other
    subject: {name: "acme/*"}
    approved_by: ciso
    reason: r
    expires: 2027-01-01
  - rule: a.rule
    subject: {}
    approved_by: ciso
    reason: r
    expires: 2027-01-01
  - rule: a.rule
    subject: {digest: "xyz"}
    approved_by: ""
    reason: r
""",
    )
    with pytest.raises(PolicyLoadError) as exc:
        parse_policy(text, "w.yaml")
    wheres = {i.where for i in issues(exc)}
    assert "waivers[1] (a.rule).subject" in wheres
    assert "waivers[2] (a.rule).subject.digest" in wheres
    assert "waivers[2] (a.rule).approved_by" in wheres
    assert "waivers[2] (a.rule).expires" in wheres


def test_waiver_for_unknown_rule_is_an_error():
    text = policy_text(
        """
        - id: a.rule
          effect: deny
          when: "true"
          message: m
          source: src
        """,
        extra="""waivers:
  - rule: a.other
    subject: {name: "acme/*"}
    approved_by: ciso
    reason: r
    expires: 2027-01-01
""",
    )
    with pytest.raises(PolicyLoadError) as exc:
        parse_policy(text, "w.yaml")
    assert issues(exc)[0].where == "waivers (a.other)"


def test_unsafe_must_be_named_unsafe():
    rule = """
        - id: a.rule
          effect: warn
          when: "true"
          message: m
          source: src
        """
    with pytest.raises(PolicyLoadError):
        parse_policy(policy_text(rule, extra="unsafe: true\n"))
    with pytest.raises(PolicyLoadError):
        parse_policy(policy_text(rule).replace("name: mine", "name: unsafe-mine"))


def test_a_safe_policy_cannot_extend_the_unsafe_one():
    text = HEAD + "extends: [unsafe-allow-all]\nrules: []\n"
    with pytest.raises(PolicyLoadError) as exc:
        parse_policy(text)
    assert "unsafe" in str(issues(exc)[0])


def test_json_policy_files_load(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(
        '{"name": "j", "description": "d", "as_of": "2026-11-28",'
        ' "sources": [{"id": "s", "title": "t", "url": "https://example.org"}],'
        ' "rules": [{"id": "j.r", "effect": "info", "when": "true", "message": "m",'
        ' "source": "s"}]}'
    )
    policy = load_policy(path)
    assert policy.rules[0].rule.effect is Effect.INFO


def test_requires_adds_to_the_paths_the_expression_touches():
    text = policy_text(
        """
        - id: a.rule
          effect: deny
          requires: [origin.listed]
          when: "facts.origin.country == 'CN' || has(facts.audit)"
          message: m
          source: src
        """
    )
    (compiled,) = parse_policy(text).rules
    assert compiled.requires == {"origin.listed", "origin.country"}
