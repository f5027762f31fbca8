"""Registry auth: challenge parsing, scopes, and where credentials may go."""

from __future__ import annotations

import httpx
import pytest

from modelcustoms.vault.auth import Credentials, RegistryAuth, is_loopback, parse_challenge
from modelcustoms.vault.errors import StoreError


def test_parse_bearer_challenge():
    header = 'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'
    assert parse_challenge(header) == (
        "bearer",
        {"realm": "https://auth.example/token", "service": "reg", "scope": "repository:a/b:pull"},
    )
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})
    assert parse_challenge("") is None


def test_basic_header():
    assert Credentials("u", "p").basic() == "Basic dTpw"
    assert Credentials("u").basic() is None


def _auth(**kw):
    return RegistryAuth(
        Credentials("u", "p"),
        httpx.Client(),
        repository="models/x",
        push=kw.get("push", True),
        allow_plain_http=kw.get("plain", False),
    )


def test_push_asks_for_pull_and_push_at_once():
    auth = _auth()
    assert auth._scope("repository:models/x:pull") == "repository:models/x:pull,push"
    assert auth._scope("registry:catalog:*") == "registry:catalog:* repository:models/x:pull,push"
    assert _auth(push=False)._scope("repository:models/x:pull") == "repository:models/x:pull"


def test_credentials_never_go_to_a_plain_http_realm_elsewhere():
    with pytest.raises(StoreError, match="not HTTPS"):
        _auth()._bearer({"realm": "http://auth.example/token", "service": "reg"})


@pytest.mark.parametrize(
    ("host", "loop"),
    [("127.0.0.1", True), ("localhost", True), ("[::1]", True), ("10.0.0.1", False)],
)
def test_loopback(host, loop):
    assert is_loopback(host) is loop
