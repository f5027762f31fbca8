"""The knowledge base loader: the bundled data validates, bad rows are all reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelcustoms.kb import KBError, default_kb, load_kb
from modelcustoms.kb.load import FILES

SEED = Path(__file__).resolve().parents[3].parent / "shared" / "kb"
DATA = Path(__file__).resolve().parents[3] / "src" / "modelcustoms" / "kb" / "data"


def test_bundled_kb_loads_and_every_row_has_a_source() -> None:
    kb = default_kb()
    assert len(kb.families) >= 43 and len(kb.publishers) >= 68
    for rows in (kb.families, kb.publishers, kb.licenses):
        for row in rows:
            assert row.sources, row.id
    for fam in kb.families:
        assert kb.publisher(fam.publisher) is not None, fam.id
    assert kb.publisher_of_namespace("qwen") is not None  # case-insensitive
    assert kb.publisher_of_namespace("Qwen").hq_country == "CN"  # type: ignore[union-attr]


def test_derived_family_chain() -> None:
    kb = default_kb()
    assert [f.id for f in kb.ancestors("minicpm-v")] == ["llama3"]
    assert kb.ancestors("llama3") == ()


@pytest.mark.skipif(not SEED.is_dir(), reason=f"seed knowledge base not present at {SEED}")
def test_covers_every_seed_family_and_publisher() -> None:
    kb = default_kb()
    split = {"phi": {"phi2", "phi3", "phi4"}}
    ids = {f.id for f in kb.families}
    for row in json.loads((SEED / "families.json").read_text())["families"]:
        assert split.get(row["id"], {row["id"]}) <= ids, row["id"]
    for row in json.loads((SEED / "publishers.json").read_text())["publishers"]:
        for ns in row["hf_namespaces"]:
            assert kb.publisher_of_namespace(ns) is not None, ns


def _copy_data(tmp_path: Path) -> Path:
    for name in FILES:
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    return tmp_path


def test_bad_rows_are_all_reported_at_once(tmp_path: Path) -> None:
    folder = _copy_data(tmp_path)
    pubs = json.loads((folder / "publishers.json").read_text())
    pubs["publishers"][0]["hq_country"] = "China"  # not ISO alpha-2
    pubs["publishers"][1]["sources"] = []  # every row needs a source
    pubs["publishers"][2]["surprise"] = 1  # unknown field
    pubs["publishers"].append(dict(pubs["publishers"][3]))  # duplicate id
    pubs["publishers"][4]["hf_namespaces"] = ["meta-llama"]  # a namespace has one owner
    (folder / "publishers.json").write_text(json.dumps(pubs))
    fams = json.loads((folder / "families.json").read_text())
    fams["families"][0]["publisher"] = "nobody"
    fams["families"][1]["name_patterns"] = ["(unclosed"]
    fams["families"][2]["sources"] = ["not a url"]
    (folder / "families.json").write_text(json.dumps(fams))
    (folder / "licenses.json").write_text("{not json")
    with pytest.raises(ExceptionGroup) as info:
        load_kb(folder)
    errors = info.value.exceptions
    assert all(isinstance(e, KBError) for e in errors)
    text = "\n".join(str(e) for e in errors)
    assert "publishers.json: publishers[0] (alibaba).hq_country" in text
    assert "publishers[1] (deepseek).sources" in text
    assert "publishers[2] (zhipu).surprise" in text
    assert "duplicate id" in text and "also belongs to" in text
    assert "unknown publisher 'nobody'" in text
    assert "invalid regular expression" in text
    assert "not a source URL" in text
    assert "licenses.json: file: invalid JSON" in text
    # References to rows already reported (or to a file that did not parse) are not repeated.
    assert "unknown licence" not in text
    assert "unknown publisher 'alibaba'" not in text
    assert len(errors) == 10  # the bad source URL is reported by two validators


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    folder = _copy_data(tmp_path)
    (folder / "pretokenizers.json").unlink()
    with pytest.raises(ExceptionGroup) as info:
        load_kb(folder)
    assert any("pretokenizers.json: file: cannot read" in str(e) for e in info.value.exceptions)
