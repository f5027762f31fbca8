"""Every registered analyzer honours the plugin contract."""

from __future__ import annotations

import inspect
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
    assert analyzer.name and analyzer.name.isidentifier()
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
    ids = [r.id for r in ENGINE_RULES] + [r.id for a in ANALYZERS for r in a.rules]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"rule ids declared twice: {dupes}"


def test_every_model_format_has_an_analyzer():
    covered = {f for a in ANALYZERS for f in a.formats}
    missing = set(Format) - covered - {Format.UNKNOWN}
    assert not missing, f"formats without analyzer: {sorted(m.value for m in missing)}"
