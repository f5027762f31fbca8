from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelcustoms.cli import main
from modelcustoms.cli.options import EXIT_ERROR, EXIT_OK, FailOn
from modelcustoms.core import Severity


@pytest.mark.parametrize("member", list(FailOn))
def test_fail_on_is_exhaustive(member):
    t = member.threshold()
    assert t is None if member is FailOn.NEVER else isinstance(t, Severity)


def test_missing_path_is_input_error(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "nope")]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "no such file or folder" in err
    assert "Traceback" not in err


def test_usage_error_exit_2(capsys):
    assert main(["scan"]) == EXIT_ERROR
    assert main(["scan", ".", "--fail-on", "bogus"]) == EXIT_ERROR
    assert main([]) == EXIT_ERROR


def test_help_exits_0(capsys):
    assert main(["--help"]) == EXIT_OK
    assert "Exit codes" in capsys.readouterr().out


def test_schema_command_prints_json_schema(capsys):
    assert main(["schema"]) == EXIT_OK
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "ReportDocument"
    assert "report_digest" in schema["properties"]


def test_output_file_is_written_atomically(tmp_path: Path):
    target = tmp_path / "out" / "schema.json"
    target.parent.mkdir()
    assert main(["schema", "-o", str(target)]) == EXIT_OK
    assert json.loads(target.read_text())["title"] == "ReportDocument"
    assert [p.name for p in target.parent.iterdir()] == ["schema.json"]
