"""The HTTP client under remote sources: timeouts, bounded retries, redirects, counters, errors.

Errors are :class:`RemoteError`: both a :class:`~modelcustoms.errors.SourceError` (the CLI
explains it) and an :class:`OSError` (the scan engine turns a failed read into a skip).
Nothing here logs, and request headers (which may carry a token) never appear in messages;
URLs are shown without their query strings (signed CDN URLs carry credentials there).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Self, TypeVar

import httpx

from modelcustoms.artifacts.remote import (
    HttpSettings,
    RangeNotHonoured,
    RemoteAccessDenied,
    RemoteError,
    RemoteNotFound,
    RemoteProtocolError,
    RemoteServerError,
    RemoteStatusError,
    RemoteUnreachable,
    TransferLimitExceeded,
)

__all__ = [
    "HttpSettings",
    "RangeNotHonoured",
    "RemoteAccessDenied",
    "RemoteError",
    "RemoteNotFound",
    "RemoteProtocolError",
    "RemoteServerError",
    "RemoteStatusError",
    "RemoteUnreachable",
    "TransferLimitExceeded",
]

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another try: rate limits and transient server or gateway failures."""


class TransferStats:
    """Requests sent and body bytes received (redirect hops count as requests). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._bytes = 0

    @property
    def requests(self) -> int:
        """HTTP requests sent, including retries and redirect hops."""
        return self._requests

    @property
    def bytes(self) -> int:
        """Response body bytes received (as transferred, before any decoding)."""
        return self._bytes

    def add_request(self) -> None:
        """Count one request."""
        with self._lock:
            self._requests += 1

    def add_bytes(self, n: int) -> None:
        """Count ``n`` body bytes."""
        with self._lock:
            self._bytes += n


def clean_text(text: str, limit: int = 200) -> str:
    """Server-provided text made safe to print: printable characters only, bounded length."""
    out = "".join(c if c.isprintable() else " " for c in text[:limit])
    return out + ("…" if len(text) > limit else "")


class HttpSession:
    """An ``httpx.Client`` with timeouts, bounded retries, redirects and transfer counters.

    ``headers`` (for example ``Authorization``) go with every request; httpx drops
    ``Authorization`` when a redirect leaves the origin, so a token never reaches a CDN.
    """

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.stats = TransferStats()
        self._sleep = sleep
        s = self.settings
        self._client = httpx.Client(
            headers={"User-Agent": s.user_agent, **(headers or {})},
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
            follow_redirects=True,
            max_redirects=s.max_redirects,
            transport=transport,
            trust_env=s.trust_env,
            event_hooks={"request": [self._count]},
        )

    def _count(self, request: httpx.Request) -> None:
        self.stats.add_request()

    def fetch(
        self,
        url: str,
        consume: Callable[[httpx.Response], T],
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> T:
        """GET ``url`` and hand the streamed response to ``consume``; retry transient failures.

        ``consume`` sees every final response (check it with :func:`check_status`); a
        response with a retryable status is retried first, while retries remain.
        """
        retries = max(0, self.settings.retries)
        for attempt in range(retries + 1):
            delay = self.settings.backoff * (2**attempt)
            try:
                with self._client.stream("GET", url, headers=headers, params=params) as resp:
                    try:
                        if resp.status_code in RETRY_STATUSES and attempt < retries:
                            delay = self._retry_after(resp, delay)
                        else:
                            return consume(resp)
                    finally:
                        self.stats.add_bytes(resp.num_bytes_downloaded)
            except httpx.TooManyRedirects as exc:
                msg = f"too many redirects for {_show(url)}"
                raise RemoteProtocolError(msg) from exc
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if attempt >= retries:
                    raise _unreachable(url, exc) from exc
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                msg = f"cannot request {_show(url)}: {clean_text(str(exc))}"
                raise RemoteProtocolError(msg) from exc
            except httpx.HTTPError as exc:  # proxy errors and the like: not transient
                raise _unreachable(url, exc) from exc
            self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _retry_after(self, resp: httpx.Response, default: float) -> float:
        value = resp.headers.get("retry-after", "")
        if value.isdigit():
            return min(float(value), self.settings.max_retry_after)
        return default

    def get_json(self, url: str, *, what: str, params: Mapping[str, str] | None = None) -> object:
        """GET a JSON document of bounded size; errors name ``what`` was asked for."""
        limit = self.settings.max_json_bytes

        def consume(resp: httpx.Response) -> object:
            check_status(resp, what)
            body = read_bounded(resp, limit + 1, decoded=True)
            if len(body) > limit:
                msg = f"{what}: response exceeds {limit} bytes"
                raise RemoteProtocolError(msg)
            try:
                return json.loads(body)
            except (ValueError, RecursionError) as exc:
                msg = f"{what}: the server's answer is not valid JSON"
                raise RemoteProtocolError(msg) from exc

        return self.fetch(url, consume, params=params)

    def close(self) -> None:
        """Close connections."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _show(url: str) -> str:
    # NOTE: only scheme, host and path: query strings of signed CDN URLs are credentials.
    return clean_text(str(httpx.URL(url).copy_with(query=None, fragment=None)), 300)


def _unreachable(url: str, exc: httpx.HTTPError) -> RemoteUnreachable:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not connect"
    host = httpx.URL(url).host
    msg = f"{kind}: {_show(url)} ({type(exc).__name__})"
    hint = f"check the network and that {host} is reachable; proxies come from HTTPS_PROXY"
    return RemoteUnreachable(msg, hint=hint)


def check_status(resp: httpx.Response, what: str) -> None:
    """Raise the typed error for an error status; return for 2xx."""
    status = resp.status_code
    if 200 <= status < 300:
        return
    code = clean_text(resp.headers.get("x-error-code", ""), 60)
    detail = clean_text(resp.headers.get("x-error-message", ""))
    msg = (
        f"{what}: HTTP {status}" + (f" {code}" if code else "") + (f" ({detail})" if detail else "")
    )
    if status == 404:
        raise RemoteNotFound(msg, status=status, error_code=code)
    if status in (401, 403):
        raise RemoteAccessDenied(msg, status=status, error_code=code)
    if status < 400:  # a redirect without a usable Location, or an informational status
        raise RemoteProtocolError(msg)
    raise RemoteServerError(msg, status=status, error_code=code)


def read_bounded(resp: httpx.Response, limit: int, *, decoded: bool = False) -> bytes:
    """At most ``limit`` bytes of the body; the rest is never read (closing drops it)."""
    buf = bytearray()
    try:
        for chunk in resp.iter_bytes() if decoded else resp.iter_raw():
            buf += chunk[: limit - len(buf)]
            if len(buf) >= limit:
                break
    except httpx.DecodingError as exc:
        msg = f"undecodable body from {_show(str(resp.request.url))}"
        raise RemoteProtocolError(msg) from exc
    except httpx.HTTPError as exc:
        msg = f"connection lost while reading {_show(str(resp.request.url))}"
        raise RemoteUnreachable(msg) from exc
    return bytes(buf)
