from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelcustoms.errors import SourceError
from modelcustoms.sources.local import local_inputs


def test_walks_folder_sorted_and_relative(tmp_path: Path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.bin").write_bytes(b"1")
    (tmp_path / "a.txt").write_text("2")
    inputs = local_inputs([tmp_path])
    assert [o.path for o in inputs.openers] == ["a.txt", "b/x.bin"]
    assert inputs.subject.kind.value == "path"


def test_skips_version_control_and_non_regular_files(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "real.bin").write_bytes(b"x")
    (tmp_path / "link.bin").symlink_to(tmp_path / "real.bin")
    inputs = local_inputs([tmp_path])
    assert [o.path for o in inputs.openers] == ["link.bin", "real.bin"]
    reasons = {s.artifact: s.reason for s in inputs.skips}
    assert reasons[".git"] == "not-applicable"
    assert reasons["pipe"] == "not-regular-file"
    assert reasons["loop"] == "not-applicable"


def test_dangling_symlink_is_a_skip(tmp_path: Path):
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    inputs = local_inputs([tmp_path])
    assert inputs.openers == ()
    assert inputs.skips[0].reason == "unreadable"


def test_several_paths_are_prefixed(tmp_path: Path):
    a = tmp_path / "one"
    b = tmp_path / "two.bin"
    a.mkdir()
    (a / "f").write_bytes(b"1")
    b.write_bytes(b"2")
    inputs = local_inputs([a, b])
    assert [o.path for o in inputs.openers] == ["one/f", "two.bin"]


def test_missing_path_raises_source_error(tmp_path: Path):
    with pytest.raises(SourceError, match="no such file"):
        local_inputs([tmp_path / "nope"])
