"""Regenerate checked-in generated files: the report JSON Schema, docs/rules.md, golden outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from modelcustoms.cli.meta import report_schema, rules_markdown

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    schema = ROOT / "src/modelcustoms/render/schemas/report.schema.json"
    schema.parent.mkdir(parents=True, exist_ok=True)
    schema.write_text(json.dumps(report_schema(), indent=2, sort_keys=True) + "\n")
    (ROOT / "docs/rules.md").write_text(rules_markdown())
    from tests.golden.regen import regen_golden

    regen_golden()
    print("regenerated schema, rules page and golden files")


if __name__ == "__main__":
    main()
