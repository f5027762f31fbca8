"""A hosted-style upstream over TLS: verified against the configured CA, refused otherwise."""

from __future__ import annotations

import datetime
import ipaddress

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from modelcustoms.gateway.keys import new_key
from modelcustoms.gateway.server import build
from tests.unit.gateway.helpers import keypair, passport_for, upstream, write_config
from tests.unit.gateway.upstream import BuiltinServerThread, ServerThread, UpstreamApp


def self_signed(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem"


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
                upstream("trusted", up.url, sha, ca_file="cert.pem"),
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
