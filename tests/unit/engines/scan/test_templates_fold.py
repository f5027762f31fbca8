"""Constant folding of Jinja expressions: values, caps and the shared storage budget."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from modelcustoms.engines.scan.templates_fold import MAX_FOLD_CHARS, ConstFolder


def _expr(source: str) -> Any:
    output: Any = ImmutableSandboxedEnvironment().parse("{{ " + source + " }}").body[0]
    return output.nodes[0]


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'__cl' ~ 'ass__'", "__class__"),
        ("'__cl' + 'ass__'", "__class__"),
        ("['a', 'b']|join('-')", "a-b"),
        ("'abc'|join('.')", "a.b.c"),
        ("'cba'|reverse", "abc"),
        ("'%sx%s'|format('_', 1)", "_x1"),
        ("'a.b'|replace('.', '_')", "a_b"),
        ("'_' * 2", "__"),
        ("2 * '_'", "__"),
        ("(' X '|trim|lower)|string", "x"),
        ("messages ~ 'x'", None),
        ("'%500s'|format('x')", None),
    ],
)
def test_fold_values(source: str, value: str | None) -> None:
    assert ConstFolder().fold(_expr(source)) == value


def test_fold_block_with_filter_chain() -> None:
    env = ImmutableSandboxedEnvironment()
    block: Any = env.parse("{% set x | trim | upper %} __in{{ 'it' }}__ {% endset %}").body[0]
    assert ConstFolder().fold_block(block.body, block.filter) == "__INIT__"
    block = env.parse("{% set x %}{% if y %}a{% endif %}{% endset %}").body[0]
    assert ConstFolder().fold_block(block.body, block.filter) is None


def test_caps_make_values_unknown() -> None:
    folder = ConstFolder()
    folder.store("a", "x" * MAX_FOLD_CHARS)
    assert folder.fold(_expr("a ~ 'y'")) is None and folder.overflowed
    assert ConstFolder().fold(_expr("'ab' * 100000")) is None
    assert ConstFolder().fold(_expr("'ab'|replace('', 'xxxxxxxx')")) == "xxxxxxxxaxxxxxxxxbxxxxxxxx"


def test_storage_budget_and_alternatives() -> None:
    folder = ConstFolder()
    for i in range(40):
        folder.store(f"v{i}", "x" * MAX_FOLD_CHARS)
    assert folder.overflowed and len(folder.consts) < 40
    folder = ConstFolder()
    folder.store("k", "__init__")
    folder.store("k", "content")
    assert folder.values(_expr("k")) == ["__init__", "content"]
