"""The report-model-free discover path: the same document, the same data, no pydantic import.

``customs discover -f json`` writes the document built by ``engines.discover.document`` from
plain data; these tests keep it equal to what the validated report model produces.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelcustoms.cli import main
from modelcustoms.core import report as core_report
from modelcustoms.core import severity as core_severity
from modelcustoms.core.load import load_report
from modelcustoms.core.references import ReferenceKind as CoreKind
from modelcustoms.core.references import Via as CoreVia
from modelcustoms.engines.discover import document, kinds
from modelcustoms.engines.discover.kbview import bundled_view, from_kb
from modelcustoms.engines.discover.scan import DiscoverOptions, discover_tree
from modelcustoms.engines.discover.vocab import default_vocabulary
from modelcustoms.kb import default_kb
from modelcustoms.pipeline import discover
from modelcustoms.render.json import JsonRenderer

DATA = Path(__file__).resolve().parents[3] / "data" / "discover"
CORPUS = DATA / "corpus"


def test_plain_enums_and_constants_match_the_report_model() -> None:
    assert [(k.name, k.value) for k in kinds.ReferenceKind] == [(k.name, k.value) for k in CoreKind]
    assert [(v.name, v.value) for v in kinds.Via] == [(v.name, v.value) for v in CoreVia]
    assert {s.value: s.rank for s in core_severity.Severity} == kinds.SEVERITY_RANK
    assert document.SCHEMA_VERSION == core_report.SCHEMA_VERSION


def test_the_raw_knowledge_base_view_equals_the_validated_one() -> None:
    raw, validated = bundled_view(), from_kb(default_kb())
    assert raw.providers == validated.providers
    assert raw.publishers == validated.publishers
    assert raw.families == validated.families


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 11, 28, 20, 1, 2, 345678, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 6, 30, 23, 59, 59, 1, tzinfo=UTC),
    ],
)
def test_timestamps_are_written_as_the_report_model_writes_them(when: datetime) -> None:
    expected = core_report.Report.model_validate(
        {
            "tool": {"version": "0"},
            "created_at": when,
            "subject": {"kind": "path", "ref": ".", "name": "."},
        }
    ).to_document()["created_at"]
    assert document.timestamp(when.timestamp()) == expected


@pytest.mark.parametrize("folder", [CORPUS, DATA / "real" / "repos", CORPUS / "decoys"])
def test_the_fast_document_equals_the_report_model_document(folder: Path) -> None:
    when = datetime(2026, 11, 28, 20, 1, 2, 345678, tzinfo=UTC)
    slow = json.loads(JsonRenderer().render(discover(folder, now=when)))
    outcome = discover_tree(folder, DiscoverOptions(), default_vocabulary())
    fields = document.report_fields(folder, outcome, document.timestamp(when.timestamp()))
    # The run's duration is the only thing two runs do not share.
    fields["runs"][0]["duration_s"] = slow["runs"][0]["duration_s"]
    fast = document.document(fields)
    assert fast == slow
    assert load_report(document.render_json(fast)).report_digest == fast["report_digest"]


def test_cli_json_output_is_a_valid_report_and_exit_codes_follow_fail_on(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["discover", str(CORPUS / "moonshot_env"), "-f", "json", "-o", str(out)]
    assert main(args) == 0
    doc = load_report(out.read_bytes())
    assert {f.rule_id for f in doc.findings} == {"discover.foreign-endpoint"}
    assert main([*args, "--fail-on", "medium"]) == 1
    assert main([*args, "--fail-on=info", "--color", "never"]) == 1
    assert main([*args, "--fail-on", "never"]) == 0
    assert not list(tmp_path.glob(".r.json.*"))  # the temporary file was renamed
    assert main([*args[:-1], str(tmp_path / "no" / "r.json")]) == 2


def test_anything_else_goes_through_the_full_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["discover", str(tmp_path / "nope"), "-f", "json"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["discover", str(CORPUS / "moonshot_env"), "-f", "json", "--fail-on", "x"]) == 2
    out = tmp_path / "r.sarif"
    assert main(["discover", str(CORPUS / "moonshot_env"), "-f", "sarif", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_the_json_path_does_not_import_the_report_model(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from modelcustoms.cli import main\n"
        f"out = {str(tmp_path / 'r.json')!r}\n"
        f"rc = main(['discover', {str(CORPUS)!r}, '-f', 'json', '-o', out])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'rich', 'jinja2')"
        " or m.startswith('modelcustoms.core'))\n"
        "print(rc, heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr


def test_the_builtin_sha256_gives_hashlibs_digest() -> None:
    import hashlib

    from modelcustoms.engines.discover.digest import sha256_hex

    for data in (b"", b"abc", bytes(range(256)) * 1000):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_file_names_that_are_not_utf8_are_reported_escaped(tmp_path: Path) -> None:
    import os

    name = os.fsdecode(b"bad\xff.py")
    (tmp_path / name).write_text('model = "deepseek-chat"\n')
    out = tmp_path / "r.json"
    assert main(["discover", str(tmp_path), "-f", "json", "-o", str(out)]) == 0
    doc = load_report(out.read_bytes())
    assert [f.value["file"] for f in doc.facts] == ["bad\\xff.py"]
