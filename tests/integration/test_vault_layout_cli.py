"""``customs vault`` over a folder vault (OCI image layout), in-process, end to end."""

from __future__ import annotations

import hashlib
import json

from modelcustoms.cli import main
from modelcustoms.cli.options import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from tests.unit.vault.helpers import sign_model, tokenizer_bytes, weights_bytes, write_model


def _signed(tmp_path):
    files = {
        "config.json": b'{"model_type": "llama"}',
        "tokenizer.json": tokenizer_bytes(),
        "model.safetensors": weights_bytes(200_000, 6),
    }
    return sign_model(write_model(tmp_path / "model", files))


def test_layout_push_list_pull_verify(tmp_path, capsys):
    s = _signed(tmp_path)
    vault = tmp_path / "share" / "vault"
    push = ["vault", "push", str(s.model), "--oci-layout", "--to", f"{vault}:1.0"]
    evidence = ["--report", str(s.report_path), "--passport", str(s.passport_path)]
    assert main([*push, *evidence, "--key", str(s.public_path)]) == EXIT_OK
    assert "passport verified" in capsys.readouterr().out
    assert (vault / "oci-layout").exists()
    assert main(["vault", "list", "--oci-layout", str(vault), "-f", "json"]) == EXIT_OK
    [held] = json.loads(capsys.readouterr().out)["artifacts"]
    assert (held["tag"], held["passport"], held["files"]) == ("1.0", "verified", 3)
    out = tmp_path / "restored"
    pull = ["vault", "pull", "--oci-layout", f"{vault}:1.0", "-o", str(out)]
    assert main([*pull, "--key", str(s.public_path)]) == EXIT_OK
    assert (out / "model.safetensors").read_bytes() == (s.model / "model.safetensors").read_bytes()
    verify = ["vault", "verify", "--oci-layout", f"{vault}:1.0", "--key", str(s.public_path)]
    assert main([*verify, "--local", str(out)]) == EXIT_OK


def test_layout_refusal_and_forced_push(tmp_path, capsys):
    s = _signed(tmp_path)
    vault = tmp_path / "vault"
    push = ["vault", "push", str(s.model), "--oci-layout", "--to", f"{vault}:x"]
    assert main(push) == EXIT_FINDINGS
    assert "refusing to store" in capsys.readouterr().err
    assert main([*push, "--unsafe-no-passport"]) == EXIT_OK
    assert "WITHOUT a valid passport" in capsys.readouterr().err
    audit = (vault / "audit.jsonl").read_text()
    assert "push-without-valid-passport" in audit
    assert main(["vault", "list", "--oci-layout", str(vault)]) == EXIT_OK
    assert "UNSAFE" in capsys.readouterr().out


def test_bad_references_are_usage_errors(tmp_path, capsys):
    assert main(["vault", "pull", "models/x:1", "-o", str(tmp_path / "o")]) == EXIT_ERROR
    assert "registry host comes first" in capsys.readouterr().err
    assert main(["vault", "list", "--oci-layout", str(tmp_path / "none")]) == EXIT_ERROR
    assert "not an OCI layout vault" in capsys.readouterr().err
    assert main(["vault"]) == EXIT_ERROR


def test_verify_without_a_tag_checks_every_artifact(tmp_path, capsys):
    s = _signed(tmp_path)
    vault = tmp_path / "vault"
    evidence = ["--report", str(s.report_path), "--passport", str(s.passport_path)]
    key = ["--key", str(s.public_path)]
    for tag in ("a", "b"):
        push = ["vault", "push", str(s.model), "--oci-layout", "--to", f"{vault}:{tag}"]
        assert main([*push, *evidence, *key]) == EXIT_OK
    capsys.readouterr()
    assert main(["vault", "verify", "--oci-layout", str(vault), *key, "-f", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and [a["ref"].rsplit(":", 1)[1] for a in doc["artifacts"]] == ["a", "b"]
    weights = (s.model / "model.safetensors").read_bytes()
    blob = vault / "blobs" / "sha256" / hashlib.sha256(weights).hexdigest()
    blob.write_bytes(b"x" + blob.read_bytes()[1:])
    assert main(["vault", "verify", "--oci-layout", str(vault), *key]) == EXIT_FINDINGS
    out = capsys.readouterr().out
    assert out.startswith("2 artifact(s)") and "FAILED" in out
    assert out.count("model.safetensors: the vault's blob does not match its digest") == 2
