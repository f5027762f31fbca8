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
from dataclasses import dataclass, field
from importlib import metadata
from typing import Self, TypeVar

import httpx

from modelcustoms.errors import SourceError

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another try: rate limits and transient server or gateway failures."""


class RemoteError(SourceError, OSError):
    """A remote read failed. Also an ``OSError`` so that per-file readers treat it as I/O."""


class RemoteUnreachable(RemoteError):
    """The server could not be reached or stopped answering (after retries)."""


class RemoteProtocolError(RemoteError):
    """The server answered something we cannot trust (bad ``Content-Range``, truncated body)."""


class RangeNotHonoured(RemoteProtocolError):
    """The server ignored ``Range`` and the bytes asked for lie too far into the body."""


class TransferLimitExceeded(RemoteError):
    """Reading on would fetch more bytes than the blob is allowed without a full download."""


class RemoteStatusError(RemoteError):
    """The server answered with an error status."""

    def __init__(
        self, message: str, *, status: int, error_code: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.error_code = error_code
        """The server's machine-readable error code (the Hub's ``X-Error-Code``), cleaned."""


class RemoteNotFound(RemoteStatusError):
    """HTTP 404."""


class RemoteAccessDenied(RemoteStatusError):
    """HTTP 401 or 403: private, gated, or a token without access."""


class RemoteServerError(RemoteStatusError):
    """HTTP 429 or 5xx that did not clear after retries, or another unexpected status."""


def _user_agent() -> str:
    # NOTE: not ``modelcustoms.__version__``: the package root imports the pipeline, and
    # artifacts sit below it (import-linter's one-way data flow).
    try:
        return f"modelcustoms/{metadata.version('modelcustoms')}"
    except metadata.PackageNotFoundError:
        return "modelcustoms"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Timeouts, retries and transfer limits of remote reads."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 2
    """Extra attempts after a transient failure (connection, timeout, 429, 5xx)."""
    backoff: float = 0.25
    """Seconds before the first retry; doubled for each further one."""
    max_retry_after: float = 5.0
    """Ceiling on a server's ``Retry-After`` (a hostile server must not park us)."""
    max_redirects: int = 5
    block_size: int = 64 * 1024
    """Granularity of the read cache: the least a cache miss fetches."""
    max_readahead: int = 1024 * 1024
    """Reads longer than this bypass the cache; sequential misses grow read-ahead up to it."""
    cache_blocks: int = 64
    max_blob_bytes: int = 64 * 1024 * 1024
    """Bytes one blob may fetch unless a full download was asked for (metadata, not weights)."""
    max_unranged_prefix: int = 1024 * 1024
    """When ``Range`` is ignored, the most bytes of the body read to serve a request."""
    max_json_bytes: int = 32 * 1024 * 1024
    trust_env: bool = True
    """Take proxies and CA bundles from the environment, as httpx does."""
    user_agent: str = field(default_factory=_user_agent)

    def __post_init__(self) -> None:
        if self.block_size <= 0 or self.cache_blocks * self.block_size < 2 * self.max_readahead:
            msg = "the block cache must hold at least two read-ahead windows"
            raise ValueError(msg)


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
