"""``customs passport keygen|sign|verify`` end to end, in-process, and the documented snippet."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modelcustoms.cli import main
from modelcustoms.cli.options import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from tests.unit.passport.conftest import make_model

DOCS = Path(__file__).resolve().parents[2] / "docs" / "passport.md"


@pytest.fixture
def signed(tmp_path, capsys):
    """A model folder, its report, keys and a passport, all made through the CLI."""
    model = make_model(tmp_path / "model")
    report, keys, passport = tmp_path / "report.json", tmp_path / "keys", tmp_path / "passport.json"
    assert main(["scan", str(model), "-f", "json", "-o", str(report)]) == EXIT_OK
    assert main(["passport", "keygen", "--out", str(keys)]) == EXIT_OK
    assert (keys / "passport.key").stat().st_mode & 0o077 == 0, "private key is owner-only"
    key = str(keys / "passport.key")
    assert main(["passport", "sign", str(report), "--key", key, "-o", str(passport)]) == EXIT_OK
    err = capsys.readouterr().err
    assert "verdict allow (policy scan-default)" in err
    return model, report, keys, passport


def _verify(model, passport, pub, *extra) -> list[str]:
    return [
        "passport",
        "verify",
        str(model),
        "--passport",
        str(passport),
        "--key",
        str(pub),
        *extra,
    ]


def test_verify_ok(signed, capsys):
    model, report, keys, passport = signed
    argv = _verify(model, passport, keys / "passport.pub", "--report", str(report))
    assert main(argv) == EXIT_OK
    out = capsys.readouterr().out
    assert "passport verified (signature, files, report): 3 file(s) match" in out


def test_tampered_file_fails_naming_the_file(signed, capsys):
    model, _report, keys, passport = signed
    (model / "weights.bin").write_bytes(b"evil")
    assert main(_verify(model, passport, keys / "passport.pub")) == EXIT_FINDINGS
    err = capsys.readouterr().err
    assert "weights.bin: content changed since the passport was issued" in err
    assert "wrong key" not in err and "report" not in err


def test_tampered_report_fails(signed, capsys):
    model, report, keys, passport = signed
    doc = json.loads(report.read_text())
    doc["runs"][0]["findings"] = []
    doc["runs"][0]["analysed"] += 1
    report.write_text(json.dumps(doc))
    argv = _verify(model, passport, keys / "passport.pub", "--report", str(report))
    assert main(argv) == EXIT_FINDINGS
    err = capsys.readouterr().err
    assert "report: report digest does not match its content" in err
    assert "content changed" not in err and "wrong key" not in err


def test_wrong_key_fails(signed, tmp_path, capsys):
    model, _report, _keys, passport = signed
    assert (
        main(["passport", "keygen", "--out", str(tmp_path / "other"), "--algorithm", "ecdsa-p256"])
        == EXIT_OK
    )
    capsys.readouterr()
    assert main(_verify(model, passport, tmp_path / "other" / "passport.pub")) == EXIT_FINDINGS
    err = capsys.readouterr().err
    assert "wrong key: the passport was signed by key" in err
    assert "content changed" not in err


def test_usage_and_input_errors_exit_2(signed, tmp_path, capsys):
    model, _report, keys, passport = signed
    assert main(_verify(model, tmp_path / "nope.json", keys / "passport.pub")) == EXIT_ERROR
    assert "cannot read passport" in capsys.readouterr().err
    assert main(_verify(model, passport, keys / "passport.key")) == EXIT_ERROR
    assert "this is a private key" in capsys.readouterr().err
    assert main(["passport", "keygen", "--out", str(keys)]) == EXIT_ERROR
    assert "refusing to overwrite" in capsys.readouterr().err
    assert main(["passport"]) == EXIT_ERROR
    assert (
        main(["passport", "sign", str(passport), "--key", str(keys / "passport.key")]) == EXIT_ERROR
    )
    assert "unsupported report schema version" in capsys.readouterr().err
    assert main(_verify(tmp_path / "missing", passport, keys / "passport.pub")) == EXIT_ERROR


def test_encrypted_key(tmp_path, signed, monkeypatch, capsys):
    _model, report, _keys, _passport = signed
    monkeypatch.setenv("PASSPORT_PW", "correct horse")
    out = tmp_path / "enc"
    assert (
        main(["passport", "keygen", "--out", str(out), "--password-env", "PASSPORT_PW"]) == EXIT_OK
    )
    key = str(out / "passport.key")
    assert b"ENCRYPTED" in (out / "passport.key").read_bytes()
    assert main(["passport", "sign", str(report), "--key", key]) == EXIT_ERROR
    assert "encrypted and no password" in capsys.readouterr().err
    argv = ["passport", "sign", str(report), "--key", key, "--password-env", "PASSPORT_PW"]
    assert main(argv) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["payloadType"] == "application/vnd.in-toto+json"


def _snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_documented_snippet_verifies_without_modelcustoms(signed, tmp_path):
    model, _report, keys, passport = signed
    code = _snippet()
    assert "modelcustoms" not in code
    assert len(code.strip().splitlines()) <= 25
    script = tmp_path / "verify_passport.py"
    script.write_text(code)
    argv = [
        sys.executable,
        "-I",
        str(script),
        str(passport),
        str(keys / "passport.pub"),
        str(model),
    ]
    ok = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "verified: allow"
    (model / "sub" / "notes.txt").write_text("changed")
    bad = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0
    assert "sub/notes.txt" in bad.stderr
