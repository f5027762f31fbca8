"""Real servers for the vault tests: the CNCF distribution registry and a token service.

The registry is Debian's ``docker-registry`` binary, started on 127.0.0.1 with its own config
and a temporary storage folder. The token service is a small HTTP server implementing the
Docker token flow (Basic credentials in, an ES256 JWT with an ``x5c`` chain out) that the
registry verifies against the certificate written into its config.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from tests.certs import self_signed_cert, tls_files

REGISTRY_BIN = shutil.which("docker-registry") or (
    "/usr/bin/docker-registry" if Path("/usr/bin/docker-registry").exists() else None
)
SERVICE = "customs-test-registry"
ISSUER = "customs-test-issuer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    """A running registry."""

    host: str
    storage: Path
    process: subprocess.Popen[bytes]
    log: Path

    def blob_file(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob's bytes."""
        hexd = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"


@dataclass
class TokenService:
    """A running token service and what it issued."""

    url: str
    username: str
    password: str
    issued: list[str]
    cert_pem: Path


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@contextlib.contextmanager
def token_service(folder: Path) -> Iterator[TokenService]:
    """Serve ``GET /token`` for user ``vault``; the cert goes into the registry's config."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key, cert = self_signed_cert("customs test token signer")
    pem = folder / "token-cert.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    password = secrets.token_hex(8)
    issued: list[str] = []

    def sign(scopes: list[str], sub: str) -> str:
        access = []
        for s in scopes:
            kind, _, rest = s.partition(":")
            repo, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": repo, "actions": actions.split(",")})
        t = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": sub,
            "aud": SERVICE,
            "exp": t + 300,
            "nbf": t - 10,
            "iat": t,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        header = {"typ": "JWT", "alg": "ES256", "x5c": [x5c]}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s_ = decode_dss_signature(der)
        sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
        return f"{signing_input}.{_b64(sig)}"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            want = "Basic " + base64.b64encode(f"vault:{password}".encode()).decode()
            if url.path != "/token" or self.headers.get("Authorization") != want:
                self.send_response(401)
                self.end_headers()
                return
            token = sign(query.get("scope", []), "vault")
            issued.append(token)
            body = json.dumps({"token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/token"
        yield TokenService(url, "vault", password, issued, pem)
    finally:
        server.shutdown()
        server.server_close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (it is its own CA) and its key, as PEM files."""
    return tls_files(folder)


@contextlib.contextmanager
def registry(
    folder: Path, token: TokenService | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[Registry]:
    """Start the distribution registry on a free loopback port (HTTPS with ``tls``)."""
    assert REGISTRY_BIN is not None
    storage = folder / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {storage}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        f"  secret: {secrets.token_hex(16)}",
    ]
    if tls is not None:
        lines += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
    if token is not None:
        lines += [
            "auth:",
            "  token:",
            f"    realm: {token.url}",
            f"    service: {SERVICE}",
            f"    issuer: {ISSUER}",
            f"    rootcertbundle: {token.cert_pem}",
        ]
    config = folder / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    log = folder / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=out, stderr=out)
    host = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                scheme = "https" if tls else "http"
                ok = httpx.get(f"{scheme}://{host}/v2/", timeout=1, verify=False).status_code
                if ok in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                msg = f"registry did not start: {log.read_text()[-2000:]}"
                raise RuntimeError(msg)
            time.sleep(0.05)
        yield Registry(host, storage, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
