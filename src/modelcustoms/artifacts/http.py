"""Bounded HTTP access to remote bytes: a session with retries and counters, and a range Blob.

:class:`RemoteBlob` reads a remote file by ``Range`` requests through a small block cache, so
a parser doing many small reads of a header costs a few requests, never the whole file. Every
blob has a cap on the bytes it may fetch unless the caller opted into a full download, and a
server that ignores ``Range`` (``200`` with the whole body) is read only as far as the bytes
asked for, never to the end.

Errors are :class:`RemoteError`: both a :class:`~modelcustoms.errors.SourceError` (the CLI
explains it) and an :class:`OSError` (the scan engine turns a failed read into a skip).
Nothing here logs, and request headers (which may carry a token) never appear in messages.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Self, TypeVar

import httpx

from modelcustoms import __version__
from modelcustoms.artifacts.blob import Blob
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
    user_agent: str = f"modelcustoms/{__version__}"

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
    except httpx.HTTPError as exc:
        msg = f"connection lost while reading {_show(str(resp.request.url))}"
        raise RemoteUnreachable(msg) from exc
    return bytes(buf)


_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19}|\*)")
_UNSATISFIED = re.compile(r"bytes \*/(\d{1,19})")


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int  # exclusive
    total: int | None


def _content_range(resp: httpx.Response) -> _Span | None:
    m = _CONTENT_RANGE.fullmatch(resp.headers.get("content-range", "").strip())
    if m is None or int(m[2]) < int(m[1]):
        return None
    return _Span(int(m[1]), int(m[2]) + 1, None if m[3] == "*" else int(m[3]))


class RemoteBlob(Blob):
    """A remote file read by byte ranges through a small LRU block cache.

    ``max_bytes`` caps what this blob may fetch in total (``None``: full download allowed).
    """

    def __init__(
        self,
        session: HttpSession,
        url: str,
        size: int,
        *,
        name: str,
        max_bytes: int | None,
    ) -> None:
        self.size = size
        self.url = url
        self.name = name
        self.fetched = 0
        """Body bytes this blob fetched."""
        self.requests = 0
        self._session = session
        self._max = max_bytes
        self._lock = threading.Lock()
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._ahead = session.settings.block_size
        self._last_end = -1

    @classmethod
    def probe(
        cls, session: HttpSession, url: str, *, name: str, max_bytes: int | None
    ) -> RemoteBlob:
        """Open a file of unknown size: one ranged request learns the size and fills the cache."""
        blob = cls(session, url, 0, name=name, max_bytes=max_bytes)
        first = blob._fetch(0, session.settings.block_size, probing=True)
        blob._store(0, first)
        blob._last_end = len(first)
        return blob

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            msg = "negative offset or length"
            raise ValueError(msg)
        end = min(self.size, offset + length)
        if offset >= end:
            return b""
        settings = self._session.settings
        if end - offset > settings.max_readahead:
            with self._lock:
                return self._fetch(offset, end)
        bs = settings.block_size
        with self._lock:
            first, last = offset // bs, (end - 1) // bs
            have = {i: self._blocks[i] for i in range(first, last + 1) if i in self._blocks}
            missing = [i for i in range(first, last + 1) if i not in have]
            if missing:
                start = missing[0] * bs
                # NOTE: growing read-ahead on sequential misses keeps a parser walking a
                # header block by block at a logarithmic number of requests.
                sequential = start == self._last_end
                self._ahead = min(settings.max_readahead, self._ahead * 2) if sequential else bs
                stop = min(self.size, max((missing[-1] + 1) * bs, start + self._ahead))
                data = self._fetch(start, stop)
                have.update(self._store(start, data))
                self._last_end = stop
            for i in have:
                if i in self._blocks:
                    self._blocks.move_to_end(i)
            joined = b"".join(have[i] for i in range(first, last + 1))
        return joined[offset - first * bs : end - first * bs]

    def _store(self, start: int, data: bytes) -> dict[int, bytes]:
        bs = self._session.settings.block_size
        got = {(start + k) // bs: data[k : k + bs] for k in range(0, len(data), bs)}
        self._blocks.update(got)
        while len(self._blocks) > self._session.settings.cache_blocks:
            self._blocks.popitem(last=False)
        return got

    def _fetch(self, start: int, end: int, *, probing: bool = False) -> bytes:
        if self._max is not None and self.fetched + (end - start) > self._max:
            msg = (
                f"{self.name}: reading {end - start} more bytes would pass the limit of "
                f"{self._max} bytes fetched per remote file"
            )
            raise TransferLimitExceeded(msg, hint="ask for a full download to read whole files")
        headers = {"Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
        self.requests += 1
        return self._session.fetch(
            self.url, lambda r: self._consume(r, start, end, probing), headers=headers
        )

    def _consume(self, resp: httpx.Response, start: int, end: int, probing: bool) -> bytes:
        if resp.status_code == 416 and probing:
            m = _UNSATISFIED.fullmatch(resp.headers.get("content-range", "").strip())
            if m is not None and int(m[1]) == 0:
                self.size = 0
                return b""
        check_status(resp, self.name)
        if resp.headers.get("content-encoding", "identity").lower() != "identity":
            msg = f"{self.name}: the server compressed a byte range; offsets would be wrong"
            raise RemoteProtocolError(msg)
        if resp.status_code == 206:
            return self._ranged(resp, start, end, probing)
        if resp.status_code == 200:
            return self._unranged(resp, start, end, probing)
        msg = f"{self.name}: unexpected HTTP {resp.status_code} for a byte range"
        raise RemoteProtocolError(msg)

    def _ranged(self, resp: httpx.Response, start: int, end: int, probing: bool) -> bytes:
        span = _content_range(resp)
        if span is None or span.start != start or span.end > end:
            msg = f"{self.name}: Content-Range does not match the range asked for"
            raise RemoteProtocolError(msg)
        if probing:
            if span.total is None:
                msg = f"{self.name}: the server did not say how large the file is"
                raise RemoteProtocolError(msg)
            self.size = span.total
        elif span.total is not None and span.total != self.size:
            msg = f"{self.name}: size changed on the server ({self.size} → {span.total} bytes)"
            raise RemoteProtocolError(msg, hint="the file changed while it was read; try again")
        if span.end < end and span.end != self.size:
            msg = f"{self.name}: the server returned a shorter range than asked for"
            raise RemoteProtocolError(msg)
        data = self._read(resp, span.end - span.start)
        if len(data) != span.end - span.start:
            msg = f"{self.name}: byte range truncated ({len(data)} of {span.end - span.start})"
            raise RemoteProtocolError(msg)
        return data

    def _unranged(self, resp: httpx.Response, start: int, end: int, probing: bool) -> bytes:
        # NOTE: a 200 carries the whole file. Bytes [0, end) are its prefix, so read only
        # those when they are few, and refuse instead of streaming a weight file to the end.
        limit = self._session.settings.max_unranged_prefix
        declared = resp.headers.get("content-length", "")
        if probing:
            if not declared.isdigit():
                msg = f"{self.name}: the server ignores Range and does not give a length"
                raise RangeNotHonoured(msg)
            self.size = int(declared)
            end = min(end, self.size)
        if end > limit:
            msg = (
                f"{self.name}: the server ignores Range requests; reading bytes {start}-{end} "
                f"would mean downloading the file from its start"
            )
            raise RangeNotHonoured(msg, hint="use a server or mirror that supports Range")
        data = self._read(resp, end)
        if len(data) < min(end, self.size):
            msg = f"{self.name}: body shorter than the file size"
            raise RemoteProtocolError(msg)
        return data[start:]

    def _read(self, resp: httpx.Response, limit: int) -> bytes:
        try:
            return read_bounded(resp, limit)
        finally:
            # NOTE: what crossed the wire, which may exceed ``limit`` by one network chunk.
            self.fetched += resp.num_bytes_downloaded
