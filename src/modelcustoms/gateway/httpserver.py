"""A minimal HTTP/1.1 server for one ASGI app: httptools parsing, one write per response.

NOTE: measured under uvicorn, every response cost two socket writes (status line and headers,
then the body); on loopback each write also runs the receiver's TCP path and wakes the client
twice. Here the head is held back until the first body chunk and both go out in one write,
and the per-request bookkeeping is a handful of attributes. What the gateway does not need is
left out: no pipelined requests in parallel (they are served in order), no upgrades, no TLS
(terminate TLS in front, as for uvicorn).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, cast

import httptools

App = Callable[
    [
        dict[str, Any],
        Callable[[], Awaitable[dict[str, Any]]],
        Callable[[dict[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]
MAX_BODY = 16 * 1024 * 1024
_log = logging.getLogger("modelcustoms.gateway")
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
}


class ClientDisconnected(OSError):
    """The client closed the connection while the response was being sent."""


class _Request:
    __slots__ = ("body", "expect_continue", "headers", "keep_alive", "method", "path", "query")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.path = b""
        self.query = b""
        self.method = b""
        self.keep_alive = True
        self.expect_continue = False


class _Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.app = server.app
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.current: _Request | None = None
        self.size = 0
        self.queue: deque[_Request] = deque()
        self.busy = False
        self.closed = False
        self._drain: asyncio.Future[None] | None = None
        self.client: tuple[str, int] | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(ClientDisconnected("client went away"))

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._plain(400, b"upgrades are not supported")
        except httptools.HttpParserError:
            self._plain(400, b"malformed HTTP request")

    def pause_writing(self) -> None:
        self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.current = _Request()
        self.size = 0

    def on_url(self, url: bytes) -> None:
        assert self.current is not None
        path, _, query = url.partition(b"?")
        self.current.path += path
        self.current.query += query

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.current is not None
        name = name.lower()
        self.current.headers.append((name, value))
        if name == b"expect" and value.lower() == b"100-continue":
            self.current.expect_continue = True

    def on_headers_complete(self) -> None:
        req = self.current
        assert req is not None and self.transport is not None
        req.method = self.parser.get_method()
        req.keep_alive = self.parser.should_keep_alive()
        if req.expect_continue and not self.busy:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        assert self.current is not None
        self.size += len(body)
        if self.size > MAX_BODY:
            self._plain(413, b"request body over 16 MiB")
            return
        self.current.body.append(body)

    def on_message_complete(self) -> None:
        req, self.current = self.current, None
        if req is None or self.closed:
            return
        self.queue.append(req)
        if not self.busy:
            self.busy = True
            self.server.track(asyncio.get_running_loop().create_task(self._serve()))

    # ours
    def _plain(self, status: int, text: bytes) -> None:
        if self.transport is not None and not self.closed:
            head = b"HTTP/1.1 %d %b\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n" % (
                status,
                _REASONS.get(status, b"Error"),
                len(text),
            )
            self.transport.write(head + b"connection: close\r\n\r\n" + text)
            self.transport.close()
        self.closed = True

    async def _serve(self) -> None:
        while self.queue and not self.closed:
            req = self.queue.popleft()
            try:
                keep = await self._one(req)
            except Exception:
                _log.exception("the gateway application failed")
                keep = False
            if not keep:
                if self.transport is not None:
                    self.transport.close()
                self.closed = True
        self.busy = False

    async def _one(self, req: _Request) -> bool:
        transport = self.transport
        assert transport is not None
        body = b"".join(req.body)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": req.method.decode("ascii"),
            "scheme": "http",
            "path": req.path.decode("latin-1"),
            "raw_path": req.path,
            "query_string": req.query,
            "root_path": "",
            "headers": req.headers,
            "client": self.client,
            "server": self.server.address,
        }
        sent_body = False
        state: dict[str, Any] = {"head": None, "chunked": False, "done": False}

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            # NOTE: after the body, the only thing left to receive is the disconnect.
            while not self.closed:
                await asyncio.sleep(1)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if self.closed:
                raise ClientDisconnected("client went away")
            if message["type"] == "http.response.start":
                state["head"] = message
                return
            head = state["head"]
            chunk: bytes = message.get("body", b"")
            more = bool(message.get("more_body", False))
            out = b""
            if head is not None:
                state["head"] = None
                out, state["chunked"] = _head(head, req.keep_alive, more, chunk)
            if state["chunked"]:
                if chunk:
                    out += b"%x\r\n%b\r\n" % (len(chunk), chunk)
                if not more:
                    out += b"0\r\n\r\n"
            else:
                out += chunk
            if out:
                transport.write(out)
            if not more:
                state["done"] = True
            if self._drain is not None:
                await self._drain

        await self.app(scope, receive, send)
        if not state["done"]:
            if state["head"] is not None:
                await send({"type": "http.response.body", "body": b""})
            else:
                return False
        return req.keep_alive


def _head(
    message: dict[str, Any], keep_alive: bool, more: bool, chunk: bytes
) -> tuple[bytes, bool]:
    status = int(message["status"])
    parts = [b"HTTP/1.1 %d %b\r\n" % (status, _REASONS.get(status, b"Status"))]
    has_length = False
    for name, value in message.get("headers", ()):
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            msg = "invalid HTTP header"
            raise ValueError(msg)
        has_length = has_length or name.lower() == b"content-length"
        parts.append(b"%b: %b\r\n" % (name, value))
    chunked = False
    if not has_length:
        if more:
            chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
        else:
            parts.append(b"content-length: %d\r\n" % len(chunk))
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    return b"".join(parts), chunked


class Server:
    """Serves an ASGI app (HTTP and lifespan) until :meth:`stop`."""

    def __init__(self, app: App, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.address: tuple[str, int] = (host, port)
        self.connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self.started = asyncio.Event()

    def track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def serve(self, sock: Any = None) -> None:
        """Lifespan startup, listen, wait for :meth:`stop`, drain, lifespan shutdown."""
        lifespan = _Lifespan(self.app)
        await lifespan.startup()
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await loop.create_server(lambda: _Connection(self), sock=sock)
        else:
            self._server = await loop.create_server(
                lambda: _Connection(self), self.host, self.port, reuse_address=True
            )
        self.address = self._server.sockets[0].getsockname()[:2]
        self.port = self.address[1]
        self.started.set()
        await self._stop.wait()
        self._server.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        await lifespan.shutdown()
        # NOTE: closing a transport takes effect on the next loop iterations; let them run so
        # no socket outlives the loop.
        for _ in range(3):
            await asyncio.sleep(0)

    def stop(self) -> None:
        """Ask :meth:`serve` to finish (callable from a signal handler)."""
        self._stop.set()


class _Lifespan:
    def __init__(self, app: App) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Future[None] | None = None

    async def startup(self) -> None:
        self.task = asyncio.ensure_future(
            self.app(
                {"type": "lifespan", "asgi": {"version": "3.0"}}, self.inbox.get, self.outbox.put
            )
        )
        await self.inbox.put({"type": "lifespan.startup"})
        done = await self.outbox.get()
        if done["type"] != "lifespan.startup.complete":
            msg = f"the application failed to start: {done.get('message', '')}"
            raise RuntimeError(msg)

    async def shutdown(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        if self.task is not None:
            await self.task


def run(app: App, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, with uvloop when it is installed."""

    async def main() -> None:
        # NOTE: everything loaded so far (config, passports, knowledge base, modules) lives as
        # long as the process: moved out of the collector's reach, and with a higher threshold
        # for young objects, collections stop costing a share of every request.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        server = Server(app, host, port)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, server.stop)
        await server.serve()

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
