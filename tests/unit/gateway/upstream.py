"""A small OpenAI-compatible upstream on 127.0.0.1 for tests and the benchmark (a real server).

Chat replies echo the last user message; streaming sends one event per word, then a usage event
when asked (``stream_options.include_usage``), then ``[DONE]``. Every request body it receives
is kept in ``received``, so tests can check what really left the gateway (e.g. redaction).
``mode="fail"`` answers 500; ``mode="no-usage"`` never reports usage; ``mode="hang"`` waits
3 s before answering; ``mode="slow"`` streams one word every 0.25 s.
Run standalone (benchmark): ``python -m tests.unit.gateway.upstream PORT``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
from typing import Any

import uvicorn


class UpstreamApp:
    """The ASGI app."""

    def __init__(self, mode: str = "ok", name: str = "up") -> None:
        self.mode = mode
        self.name = name
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while True:
                    msg = await receive()
                    await send({"type": msg["type"] + ".complete"})
                    if msg["type"] == "lifespan.shutdown":
                        return
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        if self.mode == "fail":
            await _json(send, 500, {"error": {"message": f"{self.name} is down"}})
            return
        if self.mode == "hang":
            await asyncio.sleep(3)
        path = scope["path"]
        if path == "/v1/models":
            await _json(send, 200, {"object": "list", "data": [{"id": self.name}]})
            return
        req = json.loads(body) if body else {}
        self.received.append(req)
        if path == "/v1/embeddings":
            inputs = req["input"] if isinstance(req["input"], list) else [req["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": [len(t) / 100, 0.5, -0.25]}
                for i, t in enumerate(inputs)
            ]
            tokens = sum(len(str(t).split()) for t in inputs)
            await _json(
                send,
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": req["model"],
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )
            return
        last = req["messages"][-1]["content"]
        text = last if isinstance(last, str) else json.dumps(last)
        words = ("echo " + text).split()
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in req["messages"])
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(words),
            "total_tokens": prompt_tokens + len(words),
        }
        if self.mode == "no-usage":
            usage = {}
        if not req.get("stream"):
            out = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": req["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": " ".join(words)},
                    }
                ],
            }
            if usage:
                out["usage"] = usage
            await _json(send, 200, out)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for w in words:
            if self.mode == "slow":
                await asyncio.sleep(0.25)
            chunk = {
                "id": "c",
                "object": "chat.completion.chunk",
                "model": req["model"],
                "choices": [{"index": 0, "delta": {"content": w + " "}}],
            }
            await send(
                {
                    "type": "http.response.body",
                    "more_body": True,
                    "body": b"data: " + json.dumps(chunk).encode() + b"\n\n",
                }
            )
        opts = req.get("stream_options") or {}
        if usage and opts.get("include_usage"):
            chunk = {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": usage}
            await send(
                {
                    "type": "http.response.body",
                    "more_body": True,
                    "body": b"data: " + json.dumps(chunk).encode() + b"\n\n",
                }
            )
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


async def _json(send: Any, status: int, obj: Any) -> None:
    body = json.dumps(obj).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ServerThread:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; ``port`` once started."""

    def __init__(self, app: Any, **tls: Any) -> None:
        self.app = app
        self.scheme = "https" if tls else "http"
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            **tls,
            lifespan="on",
            log_level="error",
            http="httptools",
            loop="asyncio",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            threading.Event().wait(0.01)
        raise RuntimeError("server did not start")

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


class BuiltinServerThread:
    """The gateway's own HTTP server (modelcustoms.gateway.httpserver) in a thread."""

    def __init__(self, app: Any) -> None:
        from modelcustoms.gateway.httpserver import Server

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.server = Server(app, "127.0.0.1", self.port)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.ready = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            task = asyncio.ensure_future(self.server.serve(self.sock))
            await self.server.started.wait()
            self.ready.set()
            await task

        self.loop.run_until_complete(main())
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> BuiltinServerThread:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("server did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.thread.join(15)
        self.sock.close()


if __name__ == "__main__":
    port = int(sys.argv[1])
    uvicorn.run(
        UpstreamApp(),
        host="127.0.0.1",
        port=port,
        log_level="error",
        http="httptools",
        loop="uvloop",
        access_log=False,
    )
