"""``customs discover``: table, JSON facts, SARIF, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelcustoms.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "data" / "discover" / "corpus"


def test_terminal_table_lists_references(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", str(CORPUS / "langchain_tongyi"), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "Model references (7)" in out and "chain.py:7" in out and "qwen-max" in out


def test_json_and_sarif_outputs(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["discover", str(CORPUS / "moonshot_env"), "-f", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    (run,) = doc["runs"]
    assert run["engine"] == "discover"
    values = {f["value"]["model"] or f["value"]["endpoint"] for f in run["facts"]}
    assert {"moonshot-v1-32k", "https://api.moonshot.cn/v1", "deepseek-chat"} <= values
    sarif = tmp_path / "r.sarif"
    assert main(["discover", str(CORPUS / "moonshot_env"), "-f", "sarif", "-o", str(sarif)]) == 0
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    assert main(["discover", str(tmp_path / "nope")]) == 2
