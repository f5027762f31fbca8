"""``customs registry token`` on the database, and the CLI's one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelcustoms.cli import main
from modelcustoms.registry.store import RegistryStore


def test_token_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["registry", "token", "create", "ci", "--role", "auditor", "--db", db]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("mct_")
    with RegistryStore(db) as store:
        who = store.authenticate(secret)
        assert who is not None and who.role.value == "auditor"
    assert main(["registry", "token", "create", "ci", "--role", "viewer", "--db", db]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["registry", "token", "list", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("ci\tauditor\tactive")
    assert main(["registry", "token", "revoke", "ci", "--db", db]) == 0
    assert main(["registry", "token", "revoke", "ci", "--db", db]) == 2
    assert "no active token" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["registry", "list"], "no registry given"),
        (["registry", "list", "--registry", "ftp://x"], "must start with http"),
        (["registry", "list", "--registry", "http://127.0.0.1:9"], "cannot reach the registry"),
        (["registry", "token", "list", "--db", "mysql://x/y"], "unsupported database"),
        (
            ["registry", "waive", "1", "--reason", "r", "--registry", "http://127.0.0.1:9"],
            "at least one --rule",
        ),
    ],
)
def test_errors_are_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.delenv("CUSTOMS_REGISTRY", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "internal error" not in err


def test_inspect_with_an_unreachable_registry_fails_after_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    out = tmp_path / "r.json"
    code = main(
        ["inspect", str(model), "-f", "json", "-o", str(out), "--registry", "http://127.0.0.1:9"]
    )
    assert code == 2 and out.exists()
    assert "cannot reach the registry" in capsys.readouterr().err
