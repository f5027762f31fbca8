"""``customs vault`` against the real CNCF distribution registry (Debian's docker-registry)
on 127.0.0.1, with the Docker token flow served by a real token service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelcustoms.cli import main
from modelcustoms.cli.options import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from modelcustoms.vault import Credentials, RegistryStore, oci, push
from tests.unit.vault.helpers import sign_model, tokenizer_bytes, weights_bytes, write_model
from tests.unit.vault.servers import REGISTRY_BIN, registry, token_service

pytestmark = pytest.mark.skipif(
    REGISTRY_BIN is None,
    reason="the CNCF distribution registry is not installed (apt-get install docker-registry)",
)


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    with token_service(folder) as tok, registry(folder, tok) as r:
        yield r, tok


@pytest.fixture
def env(reg, monkeypatch, tmp_path):
    _r, tok = reg
    monkeypatch.setenv("CUSTOMS_VAULT_USERNAME", tok.username)
    monkeypatch.setenv("CUSTOMS_VAULT_PASSWORD", tok.password)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return reg


@pytest.fixture
def signed(tmp_path):
    model = write_model(
        tmp_path / "base",
        {
            "config.json": b'{"model_type": "llama"}',
            "tokenizer.json": tokenizer_bytes(),
            "model-00001-of-00002.safetensors": weights_bytes(600_000, f"{tmp_path}/1"),
            "model-00002-of-00002.safetensors": weights_bytes(600_000, f"{tmp_path}/2"),
        },
    )
    return sign_model(model)


def _ref(reg, repo, tag):
    return f"{reg[0].host}/{repo}:{tag}"


def _cli(*argv):
    return main(["vault", *argv, "--plain-http"])


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_push_pull_verify_list(env, signed, tmp_path, capsys):
    ref = _ref(env, "models/base", "1.0")
    s = signed
    assert (
        _cli("push", str(s.model), "--to", ref, "--report", str(s.report_path),
             "--passport", str(s.passport_path), "--key", str(s.public_path), "-f", "json")
        == EXIT_OK
    )  # fmt: skip
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["passport"] == "verified"
    assert pushed["uploaded_bytes"] >= pushed["total_bytes"]
    assert env[1].issued, "the push authenticated through the token service"
    out = tmp_path / "restored"
    assert _cli("pull", ref, "-o", str(out), "--key", str(s.public_path)) == EXIT_OK
    assert _tree(out) == _tree(s.model)
    assert (tmp_path / "restored.customs" / "passport.json").read_bytes() == s.passport
    capsys.readouterr()
    assert _cli("verify", ref, "--key", str(s.public_path), "--local", str(out)) == EXIT_OK
    assert "verified" in capsys.readouterr().out
    # The restored folder verifies with the passport on its own too.
    argv = ["passport", "verify", str(out), "--passport", str(s.passport_path)]
    assert main([*argv, "--key", str(s.public_path), "--report", str(s.report_path)]) == EXIT_OK
    capsys.readouterr()
    assert _cli("list", f"{env[0].host}/models/base", "-f", "json") == EXIT_OK
    listed = json.loads(capsys.readouterr().out)["artifacts"]
    assert [(a["tag"], a["passport"], a["verdict"]) for a in listed] == [
        ("1.0", "verified", "allow")
    ]


def test_second_model_uploads_only_new_layers(env, signed, tmp_path, capsys):
    s = signed
    key = ("--key", str(s.public_path))
    first = ["push", str(s.model), "--to", _ref(env, "models/family", "base")]
    evidence = ("--report", str(s.report_path), "--passport", str(s.passport_path))
    assert _cli(*first, *evidence, *key, "-f", "json") == EXIT_OK
    capsys.readouterr()
    files = _tree(s.model)
    files["model-00002-of-00002.safetensors"] = weights_bytes(
        600_000, f"{tmp_path}/3"
    )  # half differ
    adapter = sign_model(write_model(tmp_path / "tuned", files), s.key)
    argv = ["push", str(adapter.model), "--to", _ref(env, "models/family", "tuned")]
    evidence = ("--report", str(adapter.report_path), "--passport", str(adapter.passport_path))
    assert _cli(*argv, *evidence, *key, "-f", "json") == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    assert result["reused_blobs"] == 3  # config, tokenizer, first shard
    side = len(adapter.report) + len(adapter.passport) + 4096  # report, passport, config
    assert 600_000 <= result["uploaded_bytes"] < 600_000 + side


def test_refuses_without_passport_then_records_force(env, signed, capsys):
    ref = _ref(env, "models/unsigned", "1")
    assert _cli("push", str(signed.model), "--to", ref) == EXIT_FINDINGS
    assert "refusing to store" in capsys.readouterr().err
    assert _cli("list", f"{env[0].host}/models/unsigned") == EXIT_OK
    assert "0 artifact(s)" in capsys.readouterr().out
    assert _cli("push", str(signed.model), "--to", ref, "--unsafe-no-passport") == EXIT_OK
    assert "WITHOUT a valid passport" in capsys.readouterr().err
    assert _cli("list", f"{env[0].host}/models/unsigned") == EXIT_OK
    assert "passport unsafe-absent" in capsys.readouterr().out


def _store(env, repo, **kw):
    r, tok = env
    creds = Credentials(tok.username, tok.password)
    return RegistryStore(r.host, repo, credentials=creds, plain_http=True, **kw)


def test_corrupted_blob_in_registry_is_detected(env, signed, tmp_path, capsys):
    store = _store(env, "models/corrupt", push=True)
    result = push(store, signed.model, "1", report=signed.report, passport=signed.passport,
                  key=signed.public)  # fmt: skip
    manifest = oci.parse_manifest(store.get_manifest(result.digest))
    store.close()
    shard = next(d for d in manifest.files() if d.path.startswith("model-00001"))
    blob = env[0].blob_file(shard.digest)
    data = bytearray(blob.read_bytes())
    data[12345] ^= 0x01
    blob.write_bytes(bytes(data))
    ref = _ref(env, "models/corrupt", "1")
    out = tmp_path / "out"
    assert _cli("pull", ref, "-o", str(out), "--key", str(signed.public_path)) == EXIT_FINDINGS
    err = capsys.readouterr().err
    assert "model-00001-of-00002.safetensors: the vault's blob does not match its digest" in err
    assert not out.exists()
    assert _cli("verify", ref, "--key", str(signed.public_path)) == EXIT_FINDINGS
    assert "model-00001-of-00002.safetensors" in capsys.readouterr().out


def test_tampered_pulled_file_is_detected(env, signed, tmp_path, capsys):
    store = _store(env, "models/tamper", push=True)
    push(store, signed.model, "1", report=signed.report, passport=signed.passport,
         key=signed.public)  # fmt: skip
    store.close()
    ref, out = _ref(env, "models/tamper", "1"), tmp_path / "out"
    assert _cli("pull", ref, "-o", str(out), "--key", str(signed.public_path)) == EXIT_OK
    with (out / "model-00002-of-00002.safetensors").open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00\x01")
    capsys.readouterr()
    argv = ("verify", ref, "--key", str(signed.public_path), "--local", str(out))
    assert _cli(*argv) == EXIT_FINDINGS
    out_text = capsys.readouterr().out
    assert "model-00002-of-00002.safetensors was modified after it left the vault" in out_text


def test_interrupted_push_is_invisible_then_resumes(env, signed, tmp_path):
    state = tmp_path / "state"
    sent: list[int] = []

    def cut(n: int) -> None:
        sent.append(n)
        if sum(sent) >= 700_000:  # inside the second weight shard
            raise KeyboardInterrupt

    store = _store(env, "models/resume", push=True, state_dir=state, chunk=128 * 1024)
    args = {"report": signed.report, "passport": signed.passport, "key": signed.public}
    with pytest.raises(KeyboardInterrupt):
        push(store, signed.model, "1", progress=cut, **args)
    assert [t.tag for t in store.list_tags()] == []  # the manifest goes last
    assert list(state.iterdir()), "the upload session was remembered"
    again = push(store, signed.model, "1", **args)
    store.close()
    assert again.resumed_bytes > 0
    assert again.uploaded_bytes < again.total_bytes
    out = tmp_path / "out"
    assert _cli("pull", _ref(env, "models/resume", "1"), "-o", str(out), "--key",
                str(signed.public_path)) == EXIT_OK  # fmt: skip
    assert _tree(out) == _tree(signed.model)


def test_wrong_credentials_are_one_clear_error(env, signed, monkeypatch, capsys):
    monkeypatch.setenv("CUSTOMS_VAULT_PASSWORD", "wrong")
    assert _cli("list", f"{env[0].host}/models/base") == EXIT_ERROR
    err = capsys.readouterr().err
    assert "refused the credentials" in err
    assert "Traceback" not in err


def test_unreachable_registry(tmp_path, capsys):
    from tests.unit.vault.servers import free_port

    ref = f"127.0.0.1:{free_port()}/m:1"
    assert main(["vault", "pull", ref, "-o", str(tmp_path / "o"), "--plain-http"]) == EXIT_ERROR
    assert "cannot reach the registry" in capsys.readouterr().err


def test_tls_registry_with_a_private_ca(tmp_path, signed, capsys):
    from tests.unit.vault.servers import self_signed

    tls = self_signed(tmp_path)
    with registry(tmp_path / "tls", tls=tls) as r:
        ref = f"{r.host}/models/tls:1"
        push = ["vault", "push", str(signed.model), "--to", ref, "--unsafe-no-passport"]
        assert main(push) == EXIT_ERROR  # the certificate is not trusted by default
        assert "cannot reach the registry" in capsys.readouterr().err
        assert main([*push, "--ca-file", str(tls[0])]) == EXIT_OK
        out = tmp_path / "out"
        pull = ["vault", "pull", ref, "-o", str(out), "--unsafe-no-passport"]
        assert main([*pull, "--ca-file", str(tls[0])]) == EXIT_OK
        assert _tree(out) == _tree(signed.model)


def test_cross_repository_mount_sends_only_new_files(env, signed, tmp_path, capsys):
    s = signed
    key = ("--key", str(s.public_path))
    base = ("--report", str(s.report_path), "--passport", str(s.passport_path))
    assert _cli("push", str(s.model), "--to", _ref(env, "team/base", "1"), *base, *key) == EXIT_OK
    files = _tree(s.model)
    files["model-00002-of-00002.safetensors"] = weights_bytes(600_000, f"{tmp_path}/4")
    tuned = sign_model(write_model(tmp_path / "tuned", files), s.key)
    argv = ["push", str(tuned.model), "--to", _ref(env, "team/tuned", "1"), "-f", "json"]
    evidence = ("--report", str(tuned.report_path), "--passport", str(tuned.passport_path))
    capsys.readouterr()
    assert _cli(*argv, *evidence, *key, "--mount-from", "team/base") == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    assert result["reused_blobs"] == 3  # mounted from team/base, not sent
    assert 600_000 <= result["uploaded_bytes"] < 600_000 + len(tuned.report) + 8192
    out = tmp_path / "out"
    assert _cli("pull", _ref(env, "team/tuned", "1"), "-o", str(out), *key) == EXIT_OK
    assert _tree(out) == _tree(tuned.model)
