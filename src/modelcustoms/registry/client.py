"""An HTTP client of a registry's API, for the CLI (``--registry URL``, ``customs registry``).

Every failure is a :class:`RegistryError` carrying the server's reason (its ``detail``), or
saying that the server could not be reached; no traceback reaches the user.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from modelcustoms.registry.errors import AuthError, RegistryError

ENV_URL = "CUSTOMS_REGISTRY"
ENV_TOKEN = "CUSTOMS_REGISTRY_TOKEN"  # noqa: S105 - the variable's name, not a secret
TIMEOUT_S = 60.0


class RegistryClient:
    """Talks to ``customs serve`` over its JSON API."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            msg = f"registry URL must start with http:// or https://: {url!r}"
            raise RegistryError(msg, hint=f"e.g. http://127.0.0.1:8700 (or set {ENV_URL})")
        self.base = url.rstrip("/")
        token = token if token is not None else os.environ.get(ENV_TOKEN)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base, headers=headers, timeout=TIMEOUT_S, transport=transport
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; the decoded JSON answer, or a :class:`RegistryError` with the reason."""
        try:
            resp = self._http.request(method, "/api/v1" + path, **kwargs)
        except httpx.HTTPError as exc:
            msg = f"cannot reach the registry at {self.base}: {exc}"
            raise RegistryError(msg, hint="is `customs serve` running there?") from exc
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail")
            except ValueError:
                detail = resp.text[:300]
            if not isinstance(detail, str):
                detail = str(detail)[:1000]
            msg = f"registry refused ({resp.status_code}): {detail}"
            if resp.status_code == 401:
                raise AuthError(msg, hint=f"set {ENV_TOKEN} to a token with the right role")
            err = RegistryError(msg)
            err.status = resp.status_code
            raise err
        try:
            return resp.json()
        except ValueError as exc:
            msg = f"the registry at {self.base} answered with something that is not JSON"
            raise RegistryError(msg) from exc

    def record(
        self, report: dict[str, Any], passport: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST a report document (and passport)."""
        out: dict[str, Any] = self.request(
            "POST", "/reports", json={"report": report, "passport": passport}
        )
        return out

    def model_id(self, ref: str) -> int:
        """A model id from an id or a key."""
        if ref.isdigit():
            return int(ref)
        detail = self.request("GET", "/models/by-key", params={"key": ref})
        return int(detail["model"]["id"])
