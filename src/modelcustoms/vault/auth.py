"""Registry authentication: the Docker/OCI token flow (``WWW-Authenticate: Bearer``) and Basic.

A registry answers 401 with a challenge naming a token realm, a service and the scope it
wants; the client asks the realm for a token (with Basic credentials when it has some) and
repeats the request with ``Authorization: Bearer``. Tokens are kept per scope for the session.
Credentials are only ever sent to the realm the registry named, and only over HTTPS unless the
realm is on this machine or plain HTTP was asked for explicitly.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Generator
from dataclasses import dataclass

import httpx

from modelcustoms.vault.errors import StoreError

_PARAM = re.compile(r'([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the client may present: a user name and password, or a ready token."""

    username: str | None = None
    password: str | None = None
    token: str | None = None
    """A bearer token issued beforehand (sent as is; no realm round trip)."""

    def basic(self) -> str | None:
        """The Basic ``Authorization`` value, when a user name and password are known."""
        if self.username is None or self.password is None:
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def parse_challenge(header: str) -> tuple[str, dict[str, str]] | None:
    """``Bearer realm="…",service="…",scope="…"`` → ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {m.group(1).lower(): (m.group(2) or m.group(3) or "") for m in _PARAM.finditer(rest)}
    return scheme.lower(), params


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class RegistryAuth(httpx.Auth):
    """httpx auth flow answering registry challenges."""

    def __init__(
        self,
        credentials: Credentials,
        token_client: httpx.Client,
        *,
        repository: str,
        push: bool,
        allow_plain_http: bool,
    ) -> None:
        self.credentials = credentials
        self.token_client = token_client
        self.repository = repository
        self.push = push
        self.allow_plain_http = allow_plain_http
        self._header: str | None = None
        if credentials.token:
            self._header = f"Bearer {credentials.token}"
        self._tokens: dict[str, str] = {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send; on a 401 challenge, authenticate once and send again."""
        if self._header is not None:
            request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code != 401:
            return
        parsed = parse_challenge(response.headers.get("www-authenticate", ""))
        if parsed is None:
            return
        scheme, params = parsed
        if scheme == "basic":
            header = self.credentials.basic()
        elif scheme == "bearer":
            header = self._bearer(params)
        else:
            return
        if header is None or header == request.headers.get("Authorization"):
            return  # nothing new to offer: let the caller report the 401
        self._header = header
        request.headers["Authorization"] = header
        yield request

    def _bearer(self, params: dict[str, str]) -> str | None:
        realm = params.get("realm")
        if not realm:
            return f"Bearer {self.credentials.token}" if self.credentials.token else None
        scope = self._scope(params.get("scope", ""))
        cached = self._tokens.get(scope)
        if cached is not None:
            return f"Bearer {cached}"
        url = httpx.URL(realm)
        if url.scheme != "https" and not (self.allow_plain_http or is_loopback(url.host)):
            msg = f"the registry's token realm {realm} is not HTTPS; refusing to send credentials"
            raise StoreError(msg, hint="use --plain-http only for a registry you control")
        query: list[tuple[str, str | int | float | bool | None]] = []
        if params.get("service"):
            query.append(("service", params["service"]))
        if scope:
            query.extend(("scope", s) for s in scope.split(" "))
        headers = {}
        basic = self.credentials.basic()
        if basic is not None:
            headers["Authorization"] = basic
        try:
            resp = self.token_client.get(url, params=query, headers=headers)
        except httpx.HTTPError as exc:
            msg = f"cannot reach the token service {realm}: {exc}"
            raise StoreError(msg) from exc
        if resp.status_code in (401, 403):
            msg = f"the token service {realm} refused the credentials (HTTP {resp.status_code})"
            raise StoreError(msg, hint="set CUSTOMS_VAULT_USERNAME and CUSTOMS_VAULT_PASSWORD")
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        token = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if resp.status_code != 200 or not isinstance(token, str) or not token:
            msg = f"the token service {realm} gave no token (HTTP {resp.status_code})"
            raise StoreError(msg)
        self._tokens[scope] = token
        return f"Bearer {token}"

    def _scope(self, scope: str) -> str:
        """Ask for pull and push at once when pushing, so one token serves the whole push."""
        if not self.push:
            return scope
        out = []
        for s in scope.split(" ") if scope else []:
            kind, _, rest = s.partition(":")
            name, _, _actions = rest.rpartition(":")
            mine = kind == "repository" and name == self.repository
            out.append(f"{kind}:{name}:pull,push" if mine else s)
        want = f"repository:{self.repository}:pull,push"
        if want not in out:
            out.append(want)
        return " ".join(out)
