"""A lean HTTP/1.1 client for upstreams: persistent connections, httptools parsing, streaming.

NOTE: measured on this machine, a request through httpx's AsyncClient costs ~0.3–0.5 ms of CPU,
the whole per-request budget of the gateway; an ``asyncio.Protocol`` fed straight into
httptools (the parser uvicorn uses) costs a few tens of microseconds. Only what the gateway
needs is here: POST/GET with a body, Content-Length or chunked responses, keep-alive.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any, cast

import httptools

from modelcustoms.gateway.errors import UpstreamError


class Response:
    """An upstream response whose body arrives in chunks."""

    __slots__ = ("_conn", "_waiter", "chunks", "done", "error", "head", "headers", "status")

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: _Conn) -> None:
        self._conn = conn
        self.head: asyncio.Future[None] = loop.create_future()
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.done = False
        self.error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _fail(self, exc: UpstreamError) -> None:
        if self.done:
            return
        self.error = exc
        if not self.head.done():
            self.head.set_exception(exc)
        self._wake()

    def header(self, name: bytes) -> bytes | None:
        """The first value of a (lowercase) header."""
        for k, v in self.headers:
            if k == name:
                return v
        return None

    async def read(self) -> bytes:
        """The whole body."""
        async for _ in self.iter_chunks(keep=True):
            pass
        return b"".join(self.chunks)

    async def iter_chunks(self, *, keep: bool = False) -> AsyncIterator[bytes]:
        """Body chunks as they arrive; raises :class:`UpstreamError` if the upstream breaks off."""
        i = 0
        while True:
            if i < len(self.chunks):
                chunk = self.chunks[i]
                if keep:
                    i += 1
                else:
                    self.chunks.pop(0)
                yield chunk
            elif self.done:
                return
            elif self.error is not None:
                raise self.error
            else:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None

    def abort(self) -> None:
        """Drop the connection (the client went away; the upstream should stop generating)."""
        if not self.done:
            self._conn.close()


class _Conn(asyncio.Protocol):
    """One keep-alive connection; a response object per request."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Response | None = None
        self.closed = False
        self.got_bytes = False
        self._timer: asyncio.TimerHandle | None = None
        self._timeout_s = 60.0
        self._last = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # NOTE: uvloop's transports implement the interface without subclassing asyncio's.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        self._last = asyncio.get_running_loop().time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._broken(UpstreamError(f"malformed HTTP from upstream: {exc}", 502))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._broken(UpstreamError("upstream closed the connection", 502))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if self.response is not None:
            self.response.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        r = self.response
        if r is not None and not r.head.done():
            r.status = self.parser.get_status_code()
            r.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        r = self.response
        if r is not None:
            r.chunks.append(body)
            r._wake()

    def on_message_complete(self) -> None:
        r = self.response
        self._cancel_timer()
        self.response = None
        if r is not None:
            r.done = True
            r._wake()
        if self.parser.should_keep_alive() and not self.closed:
            self.pool.release(self)
        else:
            self.close()

    # ours
    def send(self, data: bytes, timeout: float) -> Response:
        loop = asyncio.get_running_loop()
        self.response = Response(loop, self)
        self.got_bytes = False
        self._timeout_s = timeout
        self._last = loop.time()
        self._timer = loop.call_later(timeout, self._timeout)
        assert self.transport is not None
        self.transport.write(data)
        return self.response

    def _timeout(self) -> None:
        # NOTE: the timeout is the longest silence (before the first byte and between chunks),
        # so a long stream that keeps sending is never cut; the timer is re-armed here rather
        # than on every chunk.
        loop = asyncio.get_running_loop()
        quiet = loop.time() - self._last
        if quiet < self._timeout_s and self.response is not None:
            self._timer = loop.call_later(self._timeout_s - quiet, self._timeout)
            return
        self._broken(UpstreamError(f"upstream silent for {self._timeout_s:g} s", 504))
        self.close()

    def _broken(self, exc: UpstreamError) -> None:
        self._cancel_timer()
        r, self.response = self.response, None
        if r is not None:
            r._fail(exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Idle keep-alive connections to one host:port."""

    def __init__(
        self, host: str, port: int, *, max_idle: int = 256, tls: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.max_idle = max_idle
        self.tls = tls
        self._idle: list[_Conn] = []
        default = 443 if tls is not None else 80
        self._host_header = (host if port == default else f"{host}:{port}").encode()

    def release(self, conn: _Conn) -> None:
        if len(self._idle) < self.max_idle:
            self._idle.append(conn)
        else:
            conn.close()

    async def _connect(self, timeout: float) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(self),
                    self.host,
                    self.port,
                    ssl=self.tls,
                    server_hostname=self.host if self.tls is not None else None,
                ),
                timeout,
            )
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            msg = f"cannot connect to {self.host}:{self.port}: {exc or 'timed out'}"
            raise UpstreamError(msg, 502) from exc
        return conn

    async def request(
        self,
        method: bytes,
        path: bytes,
        body: bytes,
        *,
        extra_headers: bytes = b"",
        timeout: float = 60.0,
        connect_timeout: float = 2.0,
    ) -> Response:
        """Send a request and wait for the response head; the body is read from the result."""
        data = b"%b %b HTTP/1.1\r\nHost: %b\r\nContent-Type: application/json\r\n" % (
            method,
            path,
            self._host_header,
        )
        data += b"Content-Length: %d\r\n%b\r\n%b" % (len(body), extra_headers, body)
        while self._idle:
            conn = self._idle.pop()
            if conn.closed:
                continue
            response = conn.send(data, timeout)
            try:
                await response.head
            except UpstreamError:
                # NOTE: a kept-alive connection the upstream closed while idle fails before any
                # byte comes back; the request never reached it, so a fresh connection is safe.
                if conn.got_bytes:
                    raise
                continue
            return response
        conn = await self._connect(connect_timeout)
        response = conn.send(data, timeout)
        await response.head
        return response

    def close(self) -> None:
        """Drop the idle connections at once (nothing is in flight on them; a TLS close would
        wait on the peer's close_notify past the end of the event loop)."""
        for conn in self._idle:
            conn.closed = True
            if conn.transport is not None:
                conn.transport.abort()
        self._idle.clear()


def split_url(url: str) -> tuple[str, str, int]:
    """``https://host:port`` → (scheme, host, port), with the scheme's default port."""
    scheme, rest = url.split("://", 1)
    host, _, port = rest.partition(":")
    return scheme, host, int(port) if port else (443 if scheme == "https" else 80)


def json_error_message(body: bytes) -> str:
    """A short description of an upstream error body."""
    text = body[:300].decode("utf-8", "replace")
    return " ".join(text.split())


def usage_from(obj: Any) -> Any:
    """The ``usage`` member of a parsed response, if any."""
    return obj.get("usage") if isinstance(obj, dict) else None
