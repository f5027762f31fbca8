"""The scan engine's own behaviour, with small analyzers written for the test."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

from modelcustoms.core import EngineStatus, Format, Rule, Severity
from modelcustoms.engines.scan import Analyzer, ScanContext, ScanOptions
from modelcustoms.engines.scan.base import Result

RULE = Rule(id="test.seen", title="seen", severity=Severity.LOW, help="test rule")


class Crashing(Analyzer):
    """Always crashes."""

    name = "crashing"
    formats = frozenset({Format.TEXT})
    rules = ()

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        raise ValueError("boom")


class Nesting(Analyzer):
    """Text `nest:N` contains a member `nest:N-1`; `flood` contains an endless member."""

    name = "nesting"
    formats = frozenset({Format.TEXT})
    rules = (RULE,)

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        text = ctx.blob.all(1 << 20).decode()
        yield ctx.finding("test.seen", f"seen {text[:20]}", offset=0)
        if text.startswith("nest:"):
            n = int(text[5:])
            if n > 0:
                yield from ctx.member(f"level{n}.txt", f"nest:{n - 1}".encode())
        elif text == "flood":
            yield from ctx.member("flood.txt", itertools.repeat(b"a" * 65536))
        elif text == "big":
            yield from ctx.member("big.txt", (b"b" * 65536 for _ in range(40)))


def test_crash_is_a_finding_never_clean(scan_files):
    res = scan_files({"a.txt": b"hello"}, analyzers=[Crashing()])
    by_rule = {f.rule_id: f for f in res.run.findings}
    assert set(by_rule) == {"scan.analyzer-error", "scan.nothing-analyzed"}
    f = by_rule["scan.analyzer-error"]
    assert f.severity is Severity.HIGH
    assert "ValueError: boom" in f.message
    assert res.run.status is EngineStatus.ERROR
    assert res.run.analysed == 0


def test_nothing_analyzed_is_not_a_pass(scan_files):
    res = scan_files({"blob.bin": b"\x00\x01\x02\xff" * 10}, analyzers=[Nesting()])
    assert [f.rule_id for f in res.run.findings] == ["scan.nothing-analyzed"]
    assert res.run.skips[0].reason == "unsupported-format"


def test_findings_are_bound_to_the_bytes(scan_files):
    res = scan_files({"a.txt": b"hello"}, analyzers=[Nesting()])
    (f,) = res.run.findings
    assert f.evidence[0].location.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert res.artifacts[0].sha256 == hashlib.sha256(b"hello").hexdigest()
    assert res.run.rules == (RULE,)


def test_members_recurse_until_depth_limit(scan_files):
    res = scan_files(
        {"n.txt": b"nest:10"}, analyzers=[Nesting()], options=ScanOptions(jobs=1, max_depth=3)
    )
    paths = [a.path for a in res.artifacts]
    assert paths == [
        "n.txt",
        "n.txt!level10.txt",
        "n.txt!level10.txt!level9.txt",
        "n.txt!level10.txt!level9.txt!level8.txt",
    ]
    assert res.artifacts[1].parent == "n.txt"
    assert "archive.too-deep" in {f.rule_id for f in res.run.findings}


def test_endless_member_stops_at_the_limit(scan_files):
    opts = ScanOptions(jobs=1, max_member_bytes=1 << 20)
    res = scan_files({"f.txt": b"flood"}, analyzers=[Nesting()], options=opts)
    bombs = [f for f in res.run.findings if f.rule_id == "archive.bomb"]
    assert len(bombs) == 1


def test_large_member_spills_to_disk_with_the_same_digest(scan_files):
    opts = ScanOptions(jobs=1, in_memory_limit=100_000)
    res = scan_files({"g.txt": b"big"}, analyzers=[Nesting()], options=opts)
    member = next(a for a in res.artifacts if a.path.endswith("big.txt"))
    assert member.size == 40 * 65536
    assert member.sha256 == hashlib.sha256(b"b" * 65536 * 40).hexdigest()


def test_large_file_is_hashed_in_one_pass(scan_files):
    data = b"x" * 300_000
    opts = ScanOptions(jobs=2, in_memory_limit=100_000)
    res = scan_files({"big.txt": data, "small.txt": b"hi"}, analyzers=[Nesting()], options=opts)
    by_path = {a.path: a for a in res.artifacts}
    assert by_path["big.txt"].sha256 == hashlib.sha256(data).hexdigest()
    assert res.run.analysed == 2
