"""Every registered analyzer honours the plugin contract."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from modelcustoms.core import Format
from modelcustoms.engines.scan import ENGINE_RULES, Analyzer
from modelcustoms.engines.scan.registry import builtin_analyzers

ANALYZERS = builtin_analyzers()
DOCS = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()


@pytest.mark.parametrize("analyzer", ANALYZERS, ids=lambda a: a.name)
def test_analyzer_declares_metadata(analyzer: Analyzer):
    assert isinstance(analyzer, Analyzer)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", analyzer.name)
    assert analyzer.formats, "reads at least one format"
    assert all(isinstance(f, Format) for f in analyzer.formats)
    assert analyzer.rules, "declares the rules it may emit"
    assert inspect.getdoc(type(analyzer)), "has a docstring"
    for rule in analyzer.rules:
        assert rule.title and rule.help
        assert f"### {rule.id}" in DOCS, f"{rule.id} is documented in docs/rules.md"


def test_names_and_rule_ids_are_unique():
    names = [a.name for a in ANALYZERS]
    assert len(names) == len(set(names))
    seen: dict[str, object] = {}
    conflicts = set()
    for rule in [*ENGINE_RULES, *(r for a in ANALYZERS for r in a.rules)]:
        # Analyzers that share a checker (chat templates in GGUF and in configs) declare the
        # same Rule object; only different definitions under one id are a defect.
        if rule.id in seen and seen[rule.id] != rule:
            conflicts.add(rule.id)
        seen[rule.id] = rule
    assert not conflicts, f"rule ids declared with different definitions: {conflicts}"


def test_every_model_format_has_an_analyzer():
    covered = {f for a in ANALYZERS for f in a.formats}
    missing = set(Format) - covered - {Format.UNKNOWN}
    assert not missing, f"formats without analyzer: {sorted(m.value for m in missing)}"
