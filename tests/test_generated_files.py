"""Checked-in generated files must match the code (regenerate with scripts/regen.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from modelcustoms.cli import build_parser
from modelcustoms.cli.meta import report_schema, rules_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_report_schema_is_current():
    path = ROOT / "src/modelcustoms/render/schemas/report.schema.json"
    assert json.loads(path.read_text()) == report_schema(), "run: python scripts/regen.py"


def test_rules_page_is_current():
    assert (ROOT / "docs/rules.md").read_text() == rules_markdown(), "run: python scripts/regen.py"


def test_readme_lists_every_subcommand():
    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert re.search(rf"customs {name}\b", readme), f"README does not document `customs {name}`"
