"""A hosted-style upstream over TLS: verified against the configured CA, refused otherwise."""

from __future__ import annotations

import httpx

from modelcustoms.gateway.keys import new_key
from modelcustoms.gateway.server import build
from tests.certs import tls_files
from tests.unit.gateway.helpers import keypair, passport_for, upstream, write_config
from tests.unit.gateway.upstream import BuiltinServerThread, ServerThread, UpstreamApp


def self_signed(folder):
    return tls_files(folder)


def test_tls_upstream_verified_with_ca_file_and_refused_without(tmp_path):
    cert, key_file = self_signed(tmp_path)
    key, _ = keypair(tmp_path / "keys")
    sha = passport_for(tmp_path / "passports", key, "m")
    user, digest = new_key()
    with ServerThread(UpstreamApp(), ssl_certfile=str(cert), ssl_keyfile=str(key_file)) as up:
        assert up.url.startswith("https://")
        cfg = write_config(
            tmp_path / "gw.yaml",
            passports={"folder": "passports", "public_keys": ["keys/passport.pub"]},
            upstreams=[
                upstream("trusted", up.url, sha, ca_file=cert.name),
                upstream("untrusted", up.url, sha),
            ],
            models=[
                {"name": "ok", "routes": ["trusted"]},
                {"name": "bad", "routes": ["untrusted"]},
            ],
            keys=[{"id": "k", "sha256": digest}],
            audit={"path": "audit.jsonl"},
        )
        gateway, _ = build(cfg)
        with BuiltinServerThread(gateway) as gw:
            h = {"Authorization": f"Bearer {user}"}
            body = {"messages": [{"role": "user", "content": "hi"}]}
            ok = httpx.post(
                gw.url + "/v1/chat/completions", json={**body, "model": "ok"}, headers=h
            )
            assert ok.status_code == 200, ok.text
            bad = httpx.post(
                gw.url + "/v1/chat/completions", json={**body, "model": "bad"}, headers=h
            )
            assert bad.status_code == 502
    lines = (tmp_path / "audit.jsonl").read_text()
    assert "CERTIFICATE_VERIFY_FAILED" in lines or "certificate verify failed" in lines
