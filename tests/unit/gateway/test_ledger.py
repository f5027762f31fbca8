"""The audit chain: it verifies, and each kind of tampering is named."""

from __future__ import annotations

import itertools
import json

import pytest

from modelcustoms.gateway.errors import GatewayError
from modelcustoms.gateway.ledger import GENESIS, FileLedger, verify_file


def write(path, n=5):
    ledger = FileLedger(path)
    for i in range(n):
        ledger.append({"req": f"r{i}", "decision": "allow", "cost_nano_usd": i})
    ledger.close()
    return path.read_text().splitlines()


def test_chain_verifies_and_links(tmp_path):
    lines = write(tmp_path / "a.jsonl")
    entries = [json.loads(x) for x in lines]
    assert entries[0]["prev"] == GENESIS and [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(entries))
    result = verify_file(tmp_path / "a.jsonl", head=entries[-1]["hash"])
    assert result.problems == () and result.count == 5


def test_reopening_continues_the_chain(tmp_path):
    path = tmp_path / "a.jsonl"
    write(path, 2)
    write(path, 2)
    result = verify_file(path)
    assert result.problems == () and result.count == 4


def test_an_edited_line_is_named(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = write(path)
    lines[2] = lines[2].replace('"cost_nano_usd":2', '"cost_nano_usd":0')
    path.write_text("\n".join(lines) + "\n")
    assert verify_file(path).problems == (
        "line 3: content does not match its hash (the line was edited)",
    )


def test_a_rehashed_edit_breaks_the_next_link(tmp_path):
    import hashlib

    from modelcustoms.gateway.ledger import canonical

    path = tmp_path / "a.jsonl"
    lines = write(path)
    entry = json.loads(lines[1])
    entry.pop("hash")
    entry["decision"] = "block"
    entry["hash"] = hashlib.sha256(canonical(entry)).hexdigest()
    lines[1] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    problems = verify_file(path).problems
    assert len(problems) == 1 and problems[0].startswith("line 3: does not link to line 2")


def test_removed_lines_and_truncation(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = write(path)
    head = json.loads(lines[-1])["hash"]
    path.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    assert any("does not link" in p for p in verify_file(path).problems)
    path.write_text("\n".join(lines[:4]) + "\n")
    assert verify_file(path).problems == ()  # a cut tail needs the recorded head
    assert "recorded head" in verify_file(path, head=head).problems[0]


def test_a_second_writer_and_a_broken_log_are_refused(tmp_path):
    path = tmp_path / "a.jsonl"
    first = FileLedger(path)
    with pytest.raises(GatewayError, match="held by another gateway process"):
        FileLedger(path)
    first.close()
    path.write_text("not json\n")
    with pytest.raises(GatewayError, match="does not verify"):
        FileLedger(path)
